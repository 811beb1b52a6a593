"""Write-back: what an agent does on the desk reaches the BigPanda incident, and never echoes.

A desk event (``pandabridge.desk_events.DeskEvent``, stored by the desk-events endpoint and
queued in the incident's FIFO group) is applied by ``Mirror`` through BigPanda's Incidents API:

- **resolved** → GET the incident first; already resolved is done, and so is a 409: the
  status is *set*, never toggled. The resolve comment names the ticket and who resolved it.
- **commented** → a BigPanda comment attributed to the agent: ``[OPS-123] Dana Levi: ...``.
- **assigned** → (off by default) the BigPanda user with the assignee's e-mail (SCIM).
- **reopened** → nothing: BigPanda has no call to un-resolve an incident.

Each direction has its switch (``targets.<name>.two_way``). Echo guards, each enough alone:

1. an event whose actor is our own integration user on the desk is dropped;
2. the echo ledger (``EchoLedger``) of what we wrote on each side drops a desk event that
   matches our own desk write, and lets ticket sync drop a BigPanda ``metadata.comment`` that
   matches our own BigPanda comment (``pandabridge.own_writes`` keeps it, and our link
   tag, out of ingest's content hash and of the rendered ticket);
3. a resolve is "set resolved": an incident resolved already is not written again;
4. more than ``loop_limit`` mirrored writes for one incident in 10 minutes trip the circuit
   breaker (``CircuitBreaker``): the incident's mirroring stops, ``SyncLoopSuspected`` is
   counted and alarmed, and ``ops inspect`` shows it.

Every call may raise what the BigPanda client raises: ``WaitingError`` when the org's rate
limit is full (the message waits, it never reaches the DLQ), ``RetryableError``,
``PermanentError`` naming the setting. Free of boto3: the ledger and breaker live in the
control table (``pandabridge.stores.echo``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from http import HTTPStatus
from typing import Any, Final, Literal, Protocol

from pandabridge.errors import PermanentError
from pandabridge.incidents import StoredIncident
from pandabridge.names import Limits
from pandabridge.tickets.model import TicketRef, TicketStatus
from pandabridge.tickets.state import TicketState


class BigPandaWrites(Protocol):
    """The part of ``pandabridge.bigpanda_api.BigPandaApi`` that write-back uses."""

    def get_incident(
        self, env: str, incident_id: str, *, expand_alerts: bool = False
    ) -> dict[str, Any] | None: ...

    def resolve(self, env: str, incident_id: str, comment: str) -> bool: ...

    def comment(self, env: str, incident_id: str, text: str) -> None: ...

    def tag_definitions(self) -> list[dict[str, Any]]: ...

    def set_tag(self, env: str, incident_id: str, tag_id: str, value: str) -> None: ...

    def user_id_by_email(self, email: str) -> str | None: ...

    def assign(self, env: str, incident_id: str, user_id: str) -> None: ...


class DeskEventView(Protocol):
    """What write-back reads of a stored ``pandabridge.desk_events.DeskEvent``."""

    @property
    def target(self) -> str: ...
    @property
    def event_id(self) -> str: ...
    @property
    def ticket_key(self) -> str: ...
    @property
    def incident_key(self) -> str: ...
    @property
    def kind(self) -> Literal["resolved", "reopened", "commented", "assigned"]: ...
    @property
    def actor(self) -> str: ...
    @property
    def actor_name(self) -> str: ...
    @property
    def comment(self) -> str | None: ...
    @property
    def assignee_email(self) -> str | None: ...


class Side(StrEnum):
    """Where we wrote: an echo of a write comes back from that side."""

    DESK = "desk"
    BIGPANDA = "bigpanda"


class EchoLedger(Protocol):
    """Our own writes on each side, each expiring after a while, and the desk events applied.

    ``take`` consumes a matching entry: one write is answered by at most one echo, so a real
    change that happens to look like an earlier write of ours is not dropped for ever.
    """

    def record(self, incident: str, side: Side, write: str) -> None: ...

    def take(self, incident: str, side: Side, write: str) -> bool: ...

    def applied(self, incident: str, event_id: str) -> bool: ...

    def mark_applied(self, incident: str, event_id: str) -> None: ...


class CircuitBreaker(Protocol):
    """Mirrored writes per incident and fixed window; an open breaker stops the mirroring.

    Only writes that went through are counted: a write that waited for the rate limit, or
    failed and is retried, is one write, however often it is attempted.
    """

    def opened_at(self, incident: str) -> datetime | None: ...

    def writes(self, incident: str, at: datetime) -> int:
        """The writes counted in ``at``'s window."""
        ...

    def count_write(self, incident: str, at: datetime) -> int:
        """Count one write in ``at``'s window; the window's count, this write included."""
        ...

    def open(self, incident: str, at: datetime, writes: int) -> None: ...


class IncidentLookup(Protocol):
    def get(self, incident_id: str) -> StoredIncident | None: ...


class TicketStates(Protocol):
    def get(self, incident_id: str) -> TicketState | None: ...

    def save(self, state: TicketState) -> TicketState: ...


def text_key(text: str) -> str:
    """Identity of a comment's text, white space at its ends ignored (desks trim)."""
    return hashlib.sha256(text.strip().encode("utf-8")).hexdigest()[:32]


def comment_write(text: str) -> str:
    return f"comment:{text_key(text)}"


RESOLVED_WRITE: Final = "status:resolved"
REOPENED_WRITE: Final = "status:reopened"


def tag_write(tag: str) -> str:
    return f"tag:{tag}"


def desk_write_of(event: DeskEventView) -> str | None:
    """The ledger entry our own desk write would have left for an event like this one."""
    if event.kind == "resolved":
        return RESOLVED_WRITE
    if event.kind == "reopened":
        return REOPENED_WRITE
    if event.kind == "commented" and event.comment:
        return comment_write(event.comment)
    return None


def is_resolved(incident: dict[str, Any]) -> bool:
    """A v2 incident that is no longer active (``active: false`` or status ``ok``/resolved)."""
    if incident.get("active") is False or incident.get("resolved") is True:
        return True
    return str(incident.get("status", "")).lower() in {"ok", "resolved", "closed"}


def attributed(ticket_key: str, who: str, text: str) -> str:
    """``[OPS-123] Dana Levi: text``: which ticket and which agent, as BigPanda shows it."""
    return f"[{ticket_key}] {who}: {text.strip()}"


def resolve_note(ticket_key: str, who: str) -> str:
    return f"[{ticket_key}] Resolved in the service desk by {who}."


def link_comment(ticket: TicketRef) -> str:
    return f"[{ticket.key or ticket.id}] Ticket created: {ticket.url or ticket.key or ticket.id}"


def link_value(ticket: TicketRef) -> str:
    """The tag's value: the ticket key and, when the desk has one, its URL."""
    return " ".join(part for part in (ticket.key or ticket.id, ticket.url) if part)


@dataclass(frozen=True)
class WriteBackSettings:
    """``targets.<name>.two_way`` as write-back reads it; ``setting`` is its key path."""

    setting: str
    integration_user: str | None = None
    resolve: bool = True
    comments: bool = True
    link: bool = True
    assignee: bool = False
    link_tag: str = "ticket_link"
    loop_limit: int = Limits.LOOP_LIMIT


class Outcome(StrEnum):
    """What became of a desk event, in the words of the logs and metrics."""

    MIRRORED = "mirrored"
    ALREADY_SET = "already-set"  # resolved in BigPanda already, or the resolve answered 409
    ALREADY_APPLIED = "already-applied"  # a redelivery of an event applied before
    OWN_ACTOR = "own-actor"
    OWN_ECHO = "own-echo"
    SWITCHED_OFF = "switched-off"
    BREAKER_OPEN = "breaker-open"
    BREAKER_TRIPPED = "breaker-tripped"
    NOTHING_TO_DO = "nothing-to-do"  # a reopen, an unknown incident or user, an empty comment

    @property
    def mirrored(self) -> bool:
        return self is Outcome.MIRRORED

    @property
    def loop_suspected(self) -> bool:
        return self in (Outcome.BREAKER_OPEN, Outcome.BREAKER_TRIPPED)


@dataclass(frozen=True)
class MirrorReport:
    incident_id: str
    kind: str
    outcome: Outcome
    detail: str = ""


@dataclass(frozen=True)
class _Target:
    """Where a write goes: BigPanda's environment and incident id of a stored incident."""

    env: str
    incident_id: str


@dataclass
class Mirror:
    """Applies desk events to BigPanda and writes the ticket link once after a create."""

    api: BigPandaWrites
    incidents: IncidentLookup
    states: TicketStates
    ledger: EchoLedger
    breaker: CircuitBreaker
    settings: WriteBackSettings
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _tag_ids: dict[str, str] = field(default_factory=dict, init=False, repr=False)

    # --- desk → BigPanda ---------------------------------------------------------------------

    def apply(self, event: DeskEventView) -> MirrorReport:
        incident = event.incident_key
        outcome, detail = self._apply(event)
        if outcome is not Outcome.ALREADY_APPLIED:
            self.ledger.mark_applied(incident, event.event_id)
        return MirrorReport(incident, event.kind, outcome, detail)

    def _apply(self, event: DeskEventView) -> tuple[Outcome, str]:
        incident = event.incident_key
        if self.ledger.applied(incident, event.event_id):
            return Outcome.ALREADY_APPLIED, event.event_id
        user = self.settings.integration_user
        if user is not None and event.actor == user:
            return Outcome.OWN_ACTOR, user
        echo = desk_write_of(event)
        if echo is not None and self.ledger.take(incident, Side.DESK, echo):
            return Outcome.OWN_ECHO, echo
        if not self._switched_on(event.kind):
            return Outcome.SWITCHED_OFF, f"{self.settings.setting}.{_SWITCH[event.kind]}"
        opened = self.breaker.opened_at(incident)
        if opened is not None:
            return Outcome.BREAKER_OPEN, f"since {opened.isoformat(timespec='seconds')}"
        target = self._target(incident)
        if target is None:
            return Outcome.NOTHING_TO_DO, "no stored incident"
        if event.kind == "resolved":
            return self._resolve(event, target)
        if event.kind == "commented":
            return self._comment(event, target)
        if event.kind == "assigned":
            return self._assign(event, target)
        return Outcome.NOTHING_TO_DO, "BigPanda has no un-resolve"

    def _switched_on(self, kind: str) -> bool:
        switch = _SWITCH.get(kind)
        return switch is None or bool(getattr(self.settings, switch))

    def _resolve(self, event: DeskEventView, target: _Target) -> tuple[Outcome, str]:
        current = self.api.get_incident(target.env, target.incident_id)
        if current is None:
            return Outcome.NOTHING_TO_DO, "BigPanda does not know the incident"
        if is_resolved(current):
            self._ticket_resolved(event.incident_key)
            return Outcome.ALREADY_SET, "resolved in BigPanda already"
        if not self._may_write(event.incident_key):
            return Outcome.BREAKER_TRIPPED, f"more than {self.settings.loop_limit} writes"
        self.ledger.record(event.incident_key, Side.BIGPANDA, RESOLVED_WRITE)
        done = self.api.resolve(
            target.env, target.incident_id, resolve_note(event.ticket_key, _who(event))
        )
        self._counted(event.incident_key)
        self._ticket_resolved(event.incident_key)
        if not done:
            return Outcome.ALREADY_SET, "409: resolved in BigPanda already"
        return Outcome.MIRRORED, "resolved"

    def _ticket_resolved(self, incident: str) -> None:
        """The desk's ticket is resolved: ticket sync must not resolve it again (set, not
        toggle), when BigPanda's resolved version of the incident comes back."""
        state = self.states.get(incident)
        if state is None or state.status is TicketStatus.RESOLVED:
            return
        self.states.save(state.but(status=TicketStatus.RESOLVED, resolved_at=self.clock()))

    def _comment(self, event: DeskEventView, target: _Target) -> tuple[Outcome, str]:
        if not event.comment or not event.comment.strip():
            return Outcome.NOTHING_TO_DO, "empty comment"
        if not self._may_write(event.incident_key):
            return Outcome.BREAKER_TRIPPED, f"more than {self.settings.loop_limit} writes"
        text = attributed(event.ticket_key, _who(event), event.comment)
        self.ledger.record(event.incident_key, Side.BIGPANDA, comment_write(text))
        self.api.comment(target.env, target.incident_id, text)
        self._counted(event.incident_key)
        return Outcome.MIRRORED, "commented"

    def _assign(self, event: DeskEventView, target: _Target) -> tuple[Outcome, str]:
        if not event.assignee_email:
            return Outcome.NOTHING_TO_DO, "no assignee e-mail"
        user_id = self.api.user_id_by_email(event.assignee_email)
        if user_id is None:
            return Outcome.NOTHING_TO_DO, "no active BigPanda user with the assignee's e-mail"
        if not self._may_write(event.incident_key):
            return Outcome.BREAKER_TRIPPED, f"more than {self.settings.loop_limit} writes"
        self.api.assign(target.env, target.incident_id, user_id)
        self._counted(event.incident_key)
        return Outcome.MIRRORED, "assigned"

    def _may_write(self, incident: str) -> bool:
        """Whether one more write stays within ``loop_limit`` in the window; if not, the
        breaker opens instead."""
        now = self.clock()
        writes = self.breaker.writes(incident, now)
        if writes < self.settings.loop_limit:
            return True
        self.breaker.open(incident, now, writes + 1)
        return False

    def _counted(self, incident: str) -> None:
        """Count a write that went through (a retried one is counted once, when it does)."""
        self.breaker.count_write(incident, self.clock())

    def _target(self, incident_key: str) -> _Target | None:
        stored = self.incidents.get(incident_key)
        if stored is None:
            return None
        incident = stored.payload.get("incident", {})
        env = stored.summary.environment_id
        if not env:
            raise PermanentError(
                f"the stored incident {incident_key} carries no metadata.environment_id, "
                "which BigPanda's Incidents API needs",
                setting="the BigPanda integration's addMetadata dataset option",
            )
        return _Target(env=env, incident_id=str(incident.get("id", incident_key)))

    # --- the ticket link, after the create ---------------------------------------------------

    def write_link(self, incident: StoredIncident, ticket: TicketRef) -> bool:
        """Tag the incident with the ticket's key and URL and comment the link. False when
        switched off; True once done, or when BigPanda does not know the incident. Each write
        is recorded in the ledger so its echo is recognised."""
        if not self.settings.link:
            return False
        target = self._target(incident.incident_id)
        if target is None:
            return False
        tag_id = self.tag_id(self.settings.link_tag)
        self.ledger.record(incident.incident_id, Side.BIGPANDA, tag_write(self.settings.link_tag))
        try:
            self.api.set_tag(target.env, target.incident_id, tag_id, link_value(ticket))
        except PermanentError as refused:
            if refused.status != HTTPStatus.NOT_FOUND:
                raise
            # The tag is defined (looked up above): BigPanda does not know the incident, as
            # for an incident it never shared. There is nothing to link, now or later.
            return True
        text = link_comment(ticket)
        self.ledger.record(incident.incident_id, Side.BIGPANDA, comment_write(text))
        self.api.comment(target.env, target.incident_id, text)
        return True

    def tag_id(self, name: str) -> str:
        """The id of the tag definition named ``name``; its absence is the operator's to fix."""
        if name not in self._tag_ids:
            for definition in self.api.tag_definitions():
                if definition.get("name") == name:
                    self._tag_ids[name] = str(definition.get("id") or name)
                    break
            else:
                raise PermanentError(
                    f"BigPanda has no incident tag definition named {name!r}: create it "
                    "(POST /resources/v2.0/incidents/tags/definitions, type Text) or name "
                    "an existing one",
                    setting=f"{self.settings.setting}.link_tag",
                )
        return self._tag_ids[name]


_SWITCH: Final = {"resolved": "resolve", "commented": "comments", "assigned": "assignee"}


def _who(event: DeskEventView) -> str:
    return event.actor_name or event.actor or "an agent"
