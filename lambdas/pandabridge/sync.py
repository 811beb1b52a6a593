"""Ticket sync: bring one incident's ticket to the incident's latest stored state.

A queue message is only a nudge; the reconciler reads the stored incident and the stored ticket
state and does whatever is still missing, saving the state after every step. So a duplicate,
late or reordered nudge does nothing new, and a retry after a crash resumes where it stopped.

No second ticket: a ticket is created only when the state has none AND the target's own lookup
by incident id finds none. The attempt is recorded before the create call. A definite failure
(an answered status, a connection never made) clears that record: no ticket can exist. After an
outcome the reconciler did not see (a timeout), the retry finds the ticket by the correlation
key; where the target's lookup lags behind its writes (Jira's search), an empty lookup is not
trusted until ``create_outcome_window_seconds`` after the attempt, and the nudge waits
(``WaitingError``) with a growing backoff.

Steps that fail alone: once the ticket exists, each step (the fields, resolve or reopen, the
comment, the assignee) that the desk refuses as configured (``StepFailedError``) is recorded in
the state as needing attention, and the other steps still run. The report lists the refused
steps, and asks for the nudge to be retried after a bounded backoff while a step has been
refused fewer than ``step_retry_attempts`` times; after that, the next version retries it. A
step that succeeds clears its record.

Comments at most once: a comment's key is recorded as attempted before the call and as added
after it; a retry that finds it attempted but not added asks the desk to look for it first.

Agents' triage edits survive: a field is written only when its rendered value differs from what
was last written (a hash per field in the state), and only if the ``UpdatePolicy`` keeps it in
sync; create-only fields are written by the create alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from pandabridge.errors import PermanentError, RetryableError, StepFailedError, WaitingError
from pandabridge.incidents import StoredIncident
from pandabridge.messages import CallbackRequest, SyncNudge
from pandabridge.models import WebhookPayload
from pandabridge.names import Limits
from pandabridge.own_writes import without_own_writes
from pandabridge.tickets.mapping import DraftMapping, draft_for
from pandabridge.tickets.model import (
    UPDATABLE_FIELDS,
    Assignee,
    PartlyCreatedError,
    TicketDraft,
    TicketRef,
    TicketStatus,
    TicketTarget,
)
from pandabridge.tickets.state import StepFailure, TicketState
from pandabridge.write_back import (
    REOPENED_WRITE,
    RESOLVED_WRITE,
    EchoLedger,
    Side,
    comment_write,
)


class IncidentReader(Protocol):
    def get(self, incident_id: str) -> StoredIncident | None: ...

    def archived_payload(self, incident_id: str, content_hash: str) -> dict[str, Any] | None: ...


class TicketStates(Protocol):
    def get(self, incident_id: str) -> TicketState | None: ...

    def save(self, state: TicketState) -> TicketState: ...


class CallbackOutbox(Protocol):
    def send(self, request: CallbackRequest) -> None: ...


class TicketLinks(Protocol):
    """Write-back's ticket link (``pandabridge.write_back.Mirror``): tag and comment the
    BigPanda incident with the ticket; False when switched off."""

    def write_link(self, incident: StoredIncident, ticket: TicketRef) -> bool: ...


class Action:
    """What a sync did, in the words of the logs, metrics and the local stack's journey."""

    CREATED = "created"
    FOUND = "found"
    UPDATED = "updated"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    MOVED = "moved"  # the desk could not reopen: the incident lives on a new ticket
    COMMENTED = "commented"
    ASSIGNED = "assigned"
    LINKED = "linked"  # the BigPanda incident carries the ticket link
    ECHO_DROPPED = "echo-dropped"  # our own BigPanda comment came back: not put on the ticket
    CALLBACK_QUEUED = "callback-queued"


Policy = Literal["create_only", "sync"]


@dataclass(frozen=True)
class UpdatePolicy:
    """Per field, whether a new incident version writes it (``sync``) or only the create does
    (``create_only``). The defaults let agents' triage survive: they re-prioritise and assign
    on the desk, while the summary and description follow the incident."""

    title: Policy = "sync"
    description: Policy = "sync"
    priority: Policy = "create_only"
    assignee: Policy = "create_only"

    def syncs(self, name: str) -> bool:
        policy: Policy = getattr(self, name)
        return policy == "sync"


@dataclass(frozen=True)
class SyncReport:
    incident_id: str
    ticket: TicketRef | None
    actions: tuple[str, ...] = ()
    # The steps the desk refused in this sync, each naming the setting to fix.
    failed_steps: tuple[StepFailure, ...] = ()
    # Set when a refused step is to be tried again soon: postpone the nudge this long.
    retry_after: float | None = None

    @property
    def in_sync_already(self) -> bool:
        return not self.actions and not self.failed_steps


RESOLVE_NOTE = "Resolved in BigPanda: the incident is no longer active."
REOPEN_NOTE = "Reopened: the BigPanda incident is active again."
UPDATE_STEP = "update"


def comment_key(text: str) -> str:
    """Identity of a comment, so each distinct comment is added once."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def field_hashes(draft: TicketDraft) -> dict[str, str]:
    """A hash of each updatable field's rendered value: what was written, without the text."""
    return {
        name: hashlib.sha256(str(getattr(draft, name)).encode("utf-8")).hexdigest()[:32]
        for name in sorted(UPDATABLE_FIELDS)
    }


def step_backoff_seconds(attempts: int) -> float:
    """Wait before the ``attempts``+1-th try of a refused step: doubling, capped."""
    return float(
        min(Limits.RETRY_MAX_SECONDS, Limits.STEP_RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1))
    )


@dataclass
class Reconciler:
    """``create_outcome_window_seconds``: how long after a create whose outcome is unknown an
    empty lookup is not trusted, on a target whose lookup lags; ``step_retry_attempts``: how
    often a refused step postpones its nudge before it waits for the next version."""

    incidents: IncidentReader
    states: TicketStates
    target: TicketTarget
    callbacks: CallbackOutbox
    # The configured priority tag and text templates (today's title and description by default).
    mapping: DraftMapping = field(default_factory=DraftMapping)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    update_policy: UpdatePolicy = field(default_factory=UpdatePolicy)
    create_outcome_window_seconds: float = Limits.CREATE_OUTCOME_WINDOW_SECONDS
    step_retry_attempts: int = Limits.STEP_RETRY_ATTEMPTS
    # The configured target's name, recorded on a new ticket state (the routed choice, which
    # then sticks); the adapter's kind when none is given.
    target_name: str | None = None
    # Two-way sync: the ledger of our own writes on each side (echoes of them are dropped),
    # the ticket link written once after the create, and the link tag the ticket leaves out.
    ledger: EchoLedger | None = None
    links: TicketLinks | None = None
    link_tag: str | None = None

    def sync(self, nudge: SyncNudge) -> SyncReport:
        incident = self.incidents.get(nudge.incident_id)
        if incident is None:  # only ingest writes incidents; a nudge without one has nothing to do
            return SyncReport(nudge.incident_id, None)
        payload = WebhookPayload.model_validate(without_own_writes(incident.payload, self.link_tag))
        draft = draft_for(payload, mapping=self.mapping, incident_key=nudge.incident_id)
        state = self.states.get(nudge.incident_id) or TicketState(
            incident_id=nudge.incident_id, target=self.target_name or self.target.name
        )
        run = _Run(self, incident, state)
        run.ensure_ticket(draft)
        run.queue_owed_callback()
        run.update_fields(draft)
        run.apply_status(draft.status)
        run.add_comment(self._version_payload(nudge, incident))
        run.assign(payload)
        run.write_link()
        return SyncReport(
            nudge.incident_id,
            run.state.ticket,
            tuple(run.actions),
            failed_steps=tuple(run.failures),
            retry_after=run.retry_after(),
        )

    def _version_payload(self, nudge: SyncNudge, incident: StoredIncident) -> dict[str, Any] | None:
        """The payload of the version that sent this nudge: its comment belongs to it alone."""
        if nudge.sha256 == incident.summary.content_hash:
            return incident.payload
        return self.incidents.archived_payload(nudge.incident_id, nudge.sha256)


@dataclass
class _Run:
    """One sync of one incident: each step calls the target, then saves the state at once."""

    owner: Reconciler
    incident: StoredIncident
    state: TicketState
    actions: list[str] = field(default_factory=list)
    failures: list[StepFailure] = field(default_factory=list)

    @property
    def now(self) -> datetime:
        return self.owner.clock()

    def save(self, action: str | None = None, **changes: Any) -> None:
        self.state = self.owner.states.save(self.state.but(**changes))
        if action:
            self.actions.append(action)

    @property
    def ticket(self) -> TicketRef:
        assert self.state.ticket is not None  # noqa: S101 - ensure_ticket ran first
        return self.state.ticket

    # --- steps that fail alone ----------------------------------------------------------------

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        """Run one step; a refusal of it as configured is recorded, and the sync goes on."""
        try:
            yield
        except StepFailedError as error:
            self.record_failure(error.step or name, error)

    def record_failure(self, step: str, error: StepFailedError, **changes: Any) -> None:
        previous = self.state.step_failures.get(step)
        failure = StepFailure.of(
            error, step=step, at=self.now, attempts=previous.attempts + 1 if previous else 1
        )
        self.failures.append(failure)
        self.save(step_failures={**self.state.step_failures, step: failure}, **changes)

    def without_failures(self, *steps: str) -> dict[str, StepFailure]:
        """The recorded failures, but those of ``steps``, which have now succeeded."""
        return {k: v for k, v in self.state.step_failures.items() if k not in steps}

    def retry_after(self) -> float | None:
        """A backoff while some step refused in this run may still be retried soon."""
        retrying = [f for f in self.failures if f.attempts < self.owner.step_retry_attempts]
        if not retrying:
            return None
        return step_backoff_seconds(min(f.attempts for f in retrying))

    # --- the ticket ---------------------------------------------------------------------------

    def ensure_ticket(self, draft: TicketDraft) -> None:
        if self.state.ticket is not None:
            return
        target = self.owner.target
        found = target.find(self.state.incident_id)
        if found is not None:
            # Fields and status of a ticket we did not see created are unknown: sync them all.
            self.save(Action.FOUND, ticket=found, created_at=self.now, updated_at=self.now)
            return
        self._wait_for_search_consistency()
        self.save(create_attempted_at=self.now)
        refused: PartlyCreatedError | None = None
        try:
            ref = target.create(draft)
        except PartlyCreatedError as error:
            if error.ref is None:
                raise
            ref, refused = error.ref, error
        except RetryableError as error:
            if not error.outcome_unknown:  # the desk answered: no ticket was made
                self.save(create_attempted_at=None)
            raise
        except PermanentError:
            self.save(create_attempted_at=None)
            raise
        summary = self.incident.summary
        written = field_hashes(draft)
        if refused is not None:
            written.pop(refused.step.removeprefix("field:"), None)
        self.save(
            Action.CREATED,
            ticket=ref,
            status=TicketStatus.OPEN,
            synced_hash=summary.content_hash,
            synced_version=summary.version.key,
            field_hashes=written,
            created_at=self.now,
            updated_at=self.now,
        )
        if refused is not None:
            # The field is written with the next version, whatever its update policy.
            self.record_failure(refused.step or UPDATE_STEP, refused)

    def _wait_for_search_consistency(self) -> None:
        attempted = self.state.create_attempted_at
        if self.owner.target.find_is_consistent or attempted is None:
            return
        waited = (self.now - attempted).total_seconds()
        window = self.owner.create_outcome_window_seconds
        if waited < window:
            # Look again after as long as has passed already: the waits double.
            raise WaitingError(
                f"a ticket created {waited:.0f} s ago may not be searchable yet; an empty "
                f"search is trusted {window:g} s after the create",
                retry_after=min(window - waited, max(Limits.RETRY_BASE_SECONDS, waited)),
            )

    def queue_owed_callback(self) -> None:
        if not self.state.owes_callback:
            return
        ticket = self.ticket
        received_at = self.incident.summary.received_at
        self.owner.callbacks.send(
            CallbackRequest(
                incident_id=self.state.incident_id,
                ticket_ref=ticket.key or ticket.id,
                received_at=received_at.isoformat(timespec="milliseconds"),
            )
        )
        self.save(
            Action.CALLBACK_QUEUED, callback_enqueued_at=self.now, callback_received_at=received_at
        )

    # --- fields -------------------------------------------------------------------------------

    def update_fields(self, draft: TicketDraft) -> None:
        summary = self.incident.summary
        if self.state.synced_hash == summary.content_hash:
            return
        wanted = field_hashes(draft)
        written = dict(self.state.field_hashes)
        policy = self.owner.update_policy
        if written:
            # A synced field that changed, or any field never written (a refused one).
            fields = {
                name
                for name, value in wanted.items()
                if written.get(name) != value and (policy.syncs(name) or name not in written)
            }
        else:
            # Saved before fields were tracked one by one (or a found ticket): today's rule
            # once, for the synced fields; create-only ones are taken as written.
            fields = {name for name in wanted if policy.syncs(name)}
            written = {name: value for name, value in wanted.items() if name not in fields}
        refused = self._write_fields(draft, fields)
        wrote = fields - refused
        written |= {name: wanted[name] for name in wrote}
        cleared = [f"field:{name}" for name in wrote] + ([] if refused else [UPDATE_STEP])
        in_sync = (
            {}
            if refused
            else {"synced_hash": summary.content_hash, "synced_version": summary.version.key}
        )
        self.save(
            Action.UPDATED if wrote else None,
            field_hashes=written,
            step_failures=self.without_failures(*cleared),
            updated_at=self.now if wrote else self.state.updated_at,
            **in_sync,
        )

    def _write_fields(self, draft: TicketDraft, fields: set[str]) -> set[str]:
        """Write ``fields``; the fields the desk refused (each recorded), the others written.

        A desk that refuses one named field is asked again for the others alone."""
        refused: set[str] = set()
        remaining = set(fields)
        while remaining:
            try:
                self.owner.target.update(self.ticket, draft, fields=frozenset(remaining))
            except StepFailedError as error:
                name = error.step.removeprefix("field:")
                self.record_failure(error.step or UPDATE_STEP, error)
                if name in remaining and len(remaining) > 1:
                    refused.add(name)
                    remaining.discard(name)
                    continue
                return refused | remaining
            return refused
        return refused

    # --- status, comment, assignee ----------------------------------------------------------

    def apply_status(self, wanted: TicketStatus) -> None:
        if wanted is TicketStatus.RESOLVED and self.state.status is not TicketStatus.RESOLVED:
            with self.step("resolve"):
                self.record_own(RESOLVED_WRITE)
                self.owner.target.resolve(self.ticket, RESOLVE_NOTE)
                self.save(
                    Action.RESOLVED,
                    status=wanted,
                    resolved_at=self.now,
                    updated_at=self.now,
                    step_failures=self.without_failures("resolve", "reopen"),
                )
        elif wanted is TicketStatus.OPEN and self.state.status is TicketStatus.RESOLVED:
            with self.step("reopen"):
                self.record_own(REOPENED_WRITE)
                moved = self.owner.target.reopen(self.ticket, REOPEN_NOTE)
                self.save(
                    Action.REOPENED,
                    status=wanted,
                    resolved_at=None,
                    updated_at=self.now,
                    step_failures=self.without_failures("resolve", "reopen"),
                )
                if moved is not None and moved != self.ticket:
                    # The callback named the first ticket; BigPanda hears of no second one.
                    self.save(
                        Action.MOVED,
                        ticket=moved,
                        previous_tickets=(*self.state.previous_tickets, self.ticket),
                    )
        elif self.state.status is None:  # a found ticket, open as far as the incident says
            self.save(status=wanted)
        elif {"resolve", "reopen"} & self.state.step_failures.keys():
            # The incident is back where the ticket is: the refused change is wanted no more.
            self.save(step_failures=self.without_failures("resolve", "reopen"))

    def add_comment(self, version_payload: dict[str, Any] | None) -> None:
        if version_payload is None:
            return
        metadata = WebhookPayload.model_validate(version_payload).metadata
        text = metadata.comment_text if metadata else None
        if not text:
            return
        key = comment_key(text)
        if key in self.state.comment_hashes:
            return
        ledger = self.owner.ledger
        if ledger is not None and ledger.take(
            self.state.incident_id, Side.BIGPANDA, comment_write(text)
        ):
            # Our own BigPanda comment (a desk comment mirrored) sent back by sendComments.
            self.save(Action.ECHO_DROPPED, comment_hashes=self.state.comment_hashes | {key})
            return
        step = f"comment:{key}"
        unknown = key in self.state.comment_attempts
        if not unknown:
            self.record_own(comment_write(text))
            # Recorded before the call: should its answer be lost, the retry looks first.
            self.save(comment_attempts=self.state.comment_attempts | {key})
        try:
            self.owner.target.comment(self.ticket, text, key=key, after_unknown_outcome=unknown)
        except StepFailedError as error:  # refused: it was not added
            self.record_failure(step, error, comment_attempts=self.state.comment_attempts - {key})
            return
        self.save(
            Action.COMMENTED,
            comment_hashes=self.state.comment_hashes | {key},
            comment_attempts=self.state.comment_attempts - {key},
            step_failures=self.without_failures(step),
            updated_at=self.now,
        )

    def record_own(self, write: str) -> None:
        """Note a desk write of ours in the echo ledger before making it: the desk event it
        causes is then recognised as our own echo."""
        if self.owner.ledger is not None:
            self.owner.ledger.record(self.state.incident_id, Side.DESK, write)

    def write_link(self) -> None:
        """Once the ticket exists, tag and comment the BigPanda incident with its link, once.

        A missing tag definition, or BigPanda failing, is a step failure (naming
        ``two_way.link_tag``), tried again later like any refused step; a full rate limit makes
        the nudge wait.
        """
        links = self.owner.links
        if links is None or self.state.ticket is None or self.state.link_written_at is not None:
            return
        try:
            written = links.write_link(self.incident, self.ticket)
        except StepFailedError as error:
            self.record_failure("link", error)
            return
        except PermanentError as error:
            self.record_failure("link", StepFailedError(error.reason, error.setting, error.status))
            return
        except WaitingError:
            raise  # the org's rate limit is full: the whole nudge waits, counting no failure
        except RetryableError as error:
            # BigPanda unreachable: the ticket's own steps are done; the link is tried again.
            failure = StepFailedError(error.reason, "BigPanda's API (tried again later)", None)
            self.record_failure("link", failure)
            return
        if written:
            self.save(
                Action.LINKED,
                link_written_at=self.now,
                step_failures=self.without_failures("link"),
            )

    def assign(self, payload: WebhookPayload) -> None:
        person = payload.metadata.assignee if payload.metadata else None
        if person is None or not self.owner.target.supports_assignment:
            return
        identity = person.userId or person.email
        if not identity or identity == self.state.assignee:
            return
        if self.state.assignee is not None and not self.owner.update_policy.syncs("assignee"):
            return  # assigned once; whoever the desk's agents chose since stays
        assignee = Assignee(user_id=person.userId, email=person.email, name=person.name)
        with self.step("assign"):
            # An assignee the target does not know is recorded too: asking again on every
            # update would not make the user exist.
            assigned = self.owner.target.assign(self.ticket, assignee)
            self.save(
                Action.ASSIGNED if assigned else None,
                assignee=identity,
                updated_at=self.now,
                step_failures=self.without_failures("assign"),
            )
