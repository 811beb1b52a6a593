"""Ticket sync: bring one incident's ticket to the incident's latest stored state.

A queue message is only a nudge; the reconciler reads the stored incident and the stored ticket
state and does whatever is still missing, saving the state after every step. So a duplicate,
late or reordered nudge does nothing new, and a retry after a crash resumes where it stopped.

No second ticket: a ticket is created only when the state has none AND the target's own lookup
by incident id finds none. The attempt is recorded before the create call; if that call's
outcome is unknown (a timeout), the retry finds the ticket by the correlation key. Where the
target's lookup lags behind its writes (Jira's search), an empty lookup is not trusted until
``Limits.SEARCH_CONSISTENCY_SECONDS`` after the attempt.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from pandabridge.errors import RetryableError
from pandabridge.incidents import StoredIncident
from pandabridge.messages import CallbackRequest, SyncNudge
from pandabridge.models import WebhookPayload
from pandabridge.names import Limits
from pandabridge.tickets.mapping import draft_for
from pandabridge.tickets.model import Assignee, TicketDraft, TicketRef, TicketStatus, TicketTarget
from pandabridge.tickets.state import TicketState


class IncidentReader(Protocol):
    def get(self, incident_id: str) -> StoredIncident | None: ...

    def archived_payload(self, incident_id: str, content_hash: str) -> dict[str, Any] | None: ...


class TicketStates(Protocol):
    def get(self, incident_id: str) -> TicketState | None: ...

    def save(self, state: TicketState) -> TicketState: ...


class CallbackOutbox(Protocol):
    def send(self, request: CallbackRequest) -> None: ...


class Action:
    """What a sync did, in the words of the logs, metrics and the local stack's journey."""

    CREATED = "created"
    FOUND = "found"
    UPDATED = "updated"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    COMMENTED = "commented"
    ASSIGNED = "assigned"
    CALLBACK_QUEUED = "callback-queued"


@dataclass(frozen=True)
class SyncReport:
    incident_id: str
    ticket: TicketRef | None
    actions: tuple[str, ...] = ()

    @property
    def in_sync_already(self) -> bool:
        return not self.actions


RESOLVE_NOTE = "Resolved in BigPanda: the incident is no longer active."
REOPEN_NOTE = "Reopened: the BigPanda incident is active again."


def comment_key(text: str) -> str:
    """Identity of a comment, so each distinct comment is added once."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


@dataclass
class Reconciler:
    incidents: IncidentReader
    states: TicketStates
    target: TicketTarget
    callbacks: CallbackOutbox
    priority_tag: str | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def sync(self, nudge: SyncNudge) -> SyncReport:
        incident = self.incidents.get(nudge.incident_id)
        if incident is None:  # only ingest writes incidents; a nudge without one has nothing to do
            return SyncReport(nudge.incident_id, None)
        payload = WebhookPayload.model_validate(incident.payload)
        draft = draft_for(payload, priority_tag=self.priority_tag)
        state = self.states.get(nudge.incident_id) or TicketState(
            incident_id=nudge.incident_id, target=self.target.name
        )
        run = _Run(self, incident, state)
        run.ensure_ticket(draft)
        run.queue_owed_callback()
        run.update_fields(draft)
        run.apply_status(draft.status)
        run.add_comment(self._version_payload(nudge, incident))
        run.assign(payload)
        return SyncReport(nudge.incident_id, run.state.ticket, tuple(run.actions))

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
        ref = target.create(draft)
        summary = self.incident.summary
        self.save(
            Action.CREATED,
            ticket=ref,
            status=TicketStatus.OPEN,
            synced_hash=summary.content_hash,
            synced_version=summary.version.key,
            created_at=self.now,
            updated_at=self.now,
        )

    def _wait_for_search_consistency(self) -> None:
        attempted = self.state.create_attempted_at
        if self.owner.target.find_is_consistent or attempted is None:
            return
        waited = (self.now - attempted).total_seconds()
        if waited < Limits.SEARCH_CONSISTENCY_SECONDS:
            raise RetryableError(
                f"a ticket created {waited:.0f} s ago may not be searchable yet",
                retry_after=Limits.SEARCH_CONSISTENCY_SECONDS - waited,
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

    def update_fields(self, draft: TicketDraft) -> None:
        summary = self.incident.summary
        if self.state.synced_hash == summary.content_hash:
            return
        self.owner.target.update(self.ticket, draft)
        self.save(
            Action.UPDATED,
            synced_hash=summary.content_hash,
            synced_version=summary.version.key,
            updated_at=self.now,
        )

    def apply_status(self, wanted: TicketStatus) -> None:
        if wanted is TicketStatus.RESOLVED and self.state.status is not TicketStatus.RESOLVED:
            self.owner.target.resolve(self.ticket, RESOLVE_NOTE)
            self.save(Action.RESOLVED, status=wanted, resolved_at=self.now, updated_at=self.now)
        elif wanted is TicketStatus.OPEN and self.state.status is TicketStatus.RESOLVED:
            self.owner.target.reopen(self.ticket, REOPEN_NOTE)
            self.save(Action.REOPENED, status=wanted, resolved_at=None, updated_at=self.now)
        elif self.state.status is None:  # a found ticket, open as far as the incident says
            self.save(status=wanted)

    def add_comment(self, version_payload: dict[str, Any] | None) -> None:
        if version_payload is None:
            return
        metadata = WebhookPayload.model_validate(version_payload).metadata
        text = metadata.comment_text if metadata else None
        if not text or comment_key(text) in self.state.comment_hashes:
            return
        self.owner.target.comment(self.ticket, text)
        self.save(
            Action.COMMENTED,
            comment_hashes=self.state.comment_hashes | {comment_key(text)},
            updated_at=self.now,
        )

    def assign(self, payload: WebhookPayload) -> None:
        person = payload.metadata.assignee if payload.metadata else None
        if person is None or not self.owner.target.supports_assignment:
            return
        identity = person.userId or person.email
        if not identity or identity == self.state.assignee:
            return
        assignee = Assignee(user_id=person.userId, email=person.email, name=person.name)
        # An assignee the target does not know is recorded too: asking again on every update
        # would not make the user exist.
        assigned = self.owner.target.assign(self.ticket, assignee)
        self.save(Action.ASSIGNED if assigned else None, assignee=identity, updated_at=self.now)
