"""In-memory stand-ins for the collaborators of the reconciler and the confirmer.

Each keeps the rule of the real store or service that the core relies on, and nothing else:

- ``IncidentBook``: the incidents table's one conditional write (absent, older, or same version
  with other content) and the write-once archive of every version;
- ``TicketsTable``: one item per incident, shared by ``FakeTicketStates`` (a save names the
  revision it read; revision 0 only creates) and ``FakeLedger`` (the confirmation is written
  once, and only onto an existing item), as ``pandabridge.stores.tickets`` does;
- ``FakeTarget``: a service desk whose lookup by incident id can lag behind its creates (Jira's
  search), by a number of lookups or by time, and whose calls can be told to fail as the
  adapters do, including a timeout after the call took effect ("saved, but the answer was
  lost"); it writes only the fields an update names, finds a comment by its key after an
  unknown outcome, and can move a reopened incident onto a new ticket;
- ``FakeOutbox`` and ``FakeBigPanda``: the callback queue and BigPanda's callback service.

Every fake records its calls so that a spec can say "exactly once".
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from pandabridge.incidents import (
    IncidentSummary,
    SaveOutcome,
    StoredIncident,
    outcome_of_write,
)
from pandabridge.messages import CallbackRequest
from pandabridge.stores.incidents import archive_key
from pandabridge.stores.tickets import StateConflictError
from pandabridge.tickets.model import (
    UPDATABLE_FIELDS,
    Assignee,
    TicketDraft,
    TicketRef,
    TicketStatus,
)
from pandabridge.tickets.state import TicketState
from pandabridge.versioning import Version

START = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


@dataclass
class FakeClock:
    """The reconciler's and the confirmer's ``clock``; time moves only when a spec moves it."""

    now: datetime = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Failure:
    """One planned failure of a call: raise ``error``, after doing the call if ``took_effect``."""

    error: Exception
    took_effect: bool = False


@dataclass
class Calls:
    """What a fake was asked, in order: ``(method, argument...)`` tuples."""

    log: list[tuple[Any, ...]] = field(default_factory=list)
    # Calls that took effect, by method: "exactly once" is ``done[method] == 1``.
    done: Counter[str] = field(default_factory=Counter)
    planned: dict[str, list[Failure]] = field(default_factory=dict)

    def run(self, method: str, *arguments: Any, effect: Callable[[], Any] | None = None) -> Any:
        """Record the call, then fail as planned: before ``effect``, or after it if the planned
        failure ``took_effect`` (a timeout whose call went through)."""
        self.log.append((method, *arguments))
        queue = self.planned.get(method)
        planned = queue.pop(0) if queue else None
        if planned is not None and not planned.took_effect:
            raise planned.error
        result = effect() if effect else None
        self.done[method] += 1
        if planned is not None:
            raise planned.error
        return result

    def fail(
        self, method: str, error: Exception, *, times: int = 1, took_effect: bool = False
    ) -> None:
        """The next ``times`` calls of ``method`` raise ``error`` (after taking effect, if so)."""
        self.planned.setdefault(method, []).extend(
            Failure(error, took_effect) for _ in range(times)
        )

    def count(self, method: str) -> int:
        """How often ``method`` was called, failed calls included."""
        return Counter(call[0] for call in self.log)[method]


# --- incidents --------------------------------------------------------------------------------


@dataclass
class IncidentBook:
    """The incidents table and payload archive: ``IncidentRepository`` and ``IncidentReader``."""

    latest: dict[str, StoredIncident] = field(default_factory=dict)
    archive: dict[tuple[str, str], bytes] = field(default_factory=dict)
    calls: Calls = field(default_factory=Calls)

    def save_if_newer(self, summary: IncidentSummary, raw: bytes) -> SaveOutcome:
        self.archive.setdefault((summary.incident_id, summary.content_hash), raw)
        stored = self.latest.get(summary.incident_id)
        written = (
            stored is None
            or stored.summary.version.key < summary.version.key
            or (
                stored.summary.version.key == summary.version.key
                and stored.summary.content_hash != summary.content_hash
            )
        )
        if written:
            self.latest[summary.incident_id] = StoredIncident(
                summary=summary,
                payload=json.loads(raw),
                archive_key=archive_key(summary.incident_id, summary.content_hash),
                payload_inline=True,
            )
        result = outcome_of_write(
            written=written,
            replaced=stored is not None,
            stored_hash=stored.summary.content_hash if stored else None,
            content_hash=summary.content_hash,
        )
        kept = self.latest[summary.incident_id].summary.version
        return SaveOutcome(result, kept)

    def get(self, incident_id: str) -> StoredIncident | None:
        return self.calls.run("get", incident_id, effect=lambda: self.latest.get(incident_id))

    def stored_version(self, incident_id: str) -> Version | None:
        stored = self.latest.get(incident_id)
        return stored.summary.version if stored else None

    def archived_payload(self, incident_id: str, content_hash: str) -> dict[str, Any] | None:
        self.calls.run("archived_payload", incident_id, content_hash)
        raw = self.archive.get((incident_id, content_hash))
        return json.loads(raw) if raw is not None else None

    def expire_archive(self, incident_id: str, content_hash: str) -> None:
        """The bucket's lifecycle rule removed this version's archived body."""
        del self.archive[(incident_id, content_hash)]


# --- the tickets table ------------------------------------------------------------------------


@dataclass
class TicketsTable:
    """One item per incident: the sync-owned state and the callback function's attribute."""

    items: dict[str, TicketState] = field(default_factory=dict)


@dataclass
class FakeTicketStates:
    """``TicketStates`` with the real store's optimistic lock (``TicketStateStore.save``)."""

    table: TicketsTable
    calls: Calls = field(default_factory=Calls)
    _crash: tuple[Callable[[TicketState], bool], Exception] | None = None

    def get(self, incident_id: str) -> TicketState | None:
        return self.calls.run("get", incident_id, effect=lambda: self.table.items.get(incident_id))

    def crash_before_saving(
        self, matching: Callable[[TicketState], bool], error: Exception
    ) -> None:
        """The first save of a state ``matching`` raises ``error`` before it writes: a crash
        between a step's call and the save that records it."""
        self._crash = (matching, error)

    def save(self, state: TicketState) -> TicketState:
        if self._crash is not None and self._crash[0](state):
            self.calls.fail("save", self._crash[1])
            self._crash = None
        result: TicketState = self.calls.run("save", state, effect=lambda: self._write(state))
        return result

    def _write(self, state: TicketState) -> TicketState:
        stored = self.table.items.get(state.incident_id)
        if (state.revision == 0 and stored is not None) or (
            state.revision != 0 and (stored is None or stored.revision != state.revision)
        ):
            raise StateConflictError(
                f"ticket state of {state.incident_id} changed while syncing", retry_after=1
            )
        confirmed = stored.callback_confirmed_at if stored else None
        saved = state.but(revision=state.revision + 1)
        # The store writes only the sync-owned attributes: the confirmation stays as stored.
        self.table.items[state.incident_id] = saved.but(callback_confirmed_at=confirmed)
        return saved

    def saved(self) -> list[TicketState]:
        """The states passed to ``save``, in order, whether or not they were written."""
        return [call[1] for call in self.calls.log if call[0] == "save"]


@dataclass
class FakeLedger:
    """``ConfirmationLedger`` on the same table: the confirmation is recorded once."""

    table: TicketsTable
    calls: Calls = field(default_factory=Calls)

    def confirmed_at(self, incident_id: str) -> datetime | None:
        self.calls.run("confirmed_at", incident_id)
        stored = self.table.items.get(incident_id)
        return stored.callback_confirmed_at if stored else None

    def record_confirmed(self, incident_id: str, at: datetime) -> bool:
        written: bool = self.calls.run(
            "record_confirmed", incident_id, at, effect=lambda: self._write(incident_id, at)
        )
        return written

    def _write(self, incident_id: str, at: datetime) -> bool:
        stored = self.table.items.get(incident_id)
        # attribute_exists(incident_id) AND attribute_not_exists(callback_confirmed_at)
        if stored is None or stored.callback_confirmed_at is not None:
            return False
        self.table.items[incident_id] = stored.but(callback_confirmed_at=at)
        return True


# --- the service desk -------------------------------------------------------------------------


@dataclass
class DeskTicket:
    incident_id: str
    draft: TicketDraft
    status: TicketStatus = TicketStatus.OPEN
    comments: list[str] = field(default_factory=list)
    # The key each comment was added with, as Jira's comment property keeps it.
    comment_keys: list[str | None] = field(default_factory=list)
    assignee: Assignee | None = None
    created_at: datetime = START
    # The ticket this one replaced, when the desk could not reopen that one.
    replaces: str | None = None


@dataclass
class FakeTarget:
    """A ``TicketTarget`` that keeps its tickets in a dict.

    ``lag_finds(n)`` makes it a target whose lookup lags (``find_is_consistent`` False): the
    first ``n`` finds after each create see nothing of that ticket; ``lag_search(seconds)``
    hides a ticket from finds until ``seconds`` after its create, by ``clock``. ``known_users``
    are the user ids and emails ``assign`` accepts; any other assignee is unknown (False).
    ``reopen_as_new_ticket`` plays a desk that cannot reopen a closed ticket: the reopen opens
    a new one, linked to the old, and returns its ref.
    """

    name: str = "fake"
    supports_assignment: bool = True
    find_is_consistent: bool = True
    # Whether refs carry a key besides the id (Jira's "OPS-12"; the generic desk has none).
    keyed: bool = True
    known_users: set[str] = field(default_factory=set)
    tickets: dict[str, DeskTicket] = field(default_factory=dict)
    calls: Calls = field(default_factory=Calls)
    reopen_as_new_ticket: bool = False
    clock: FakeClock = field(default_factory=FakeClock)
    _lag: int = 0
    _lag_seconds: float = 0
    _hidden: dict[str, int] = field(default_factory=dict)

    def lag_finds(self, finds: int) -> None:
        self.find_is_consistent = False
        self._lag = finds

    def lag_search(self, seconds: float) -> None:
        self.find_is_consistent = False
        self._lag_seconds = seconds

    def fail(
        self, method: str, error: Exception, *, times: int = 1, took_effect: bool = False
    ) -> None:
        """See ``Calls.fail``."""
        self.calls.fail(method, error, times=times, took_effect=took_effect)

    def find(self, incident_id: str) -> TicketRef | None:
        self.calls.run("find", incident_id)
        for ticket_id, ticket in self.tickets.items():
            if ticket.incident_id != incident_id:
                continue
            if self._hidden.get(ticket_id, 0) > 0:
                self._hidden[ticket_id] -= 1
                return None
            if self.clock() < ticket.created_at + timedelta(seconds=self._lag_seconds):
                return None
            if ticket.replaces is None and any(
                t.replaces == ticket_id for t in self.tickets.values()
            ):
                continue  # replaced by a newer ticket
            return _ref(ticket_id, keyed=self.keyed)
        return None

    def create(self, draft: TicketDraft) -> TicketRef:
        def effect() -> TicketRef:
            return self._new_ticket(draft)

        return self.calls.run("create", draft, effect=effect)

    def update(
        self, ref: TicketRef, draft: TicketDraft, fields: frozenset[str] = UPDATABLE_FIELDS
    ) -> None:
        def effect() -> None:
            ticket = self._at(ref)
            ticket.draft = replace(ticket.draft, **{name: getattr(draft, name) for name in fields})

        self.calls.run("update", ref, draft, fields, effect=effect)

    def comment(
        self,
        ref: TicketRef,
        text: str,
        key: str | None = None,
        *,
        after_unknown_outcome: bool = False,
    ) -> None:
        def effect() -> None:
            ticket = self._at(ref)
            if after_unknown_outcome and key is not None and key in ticket.comment_keys:
                return
            ticket.comments.append(text)
            ticket.comment_keys.append(key)

        self.calls.run("comment", ref, text, key, after_unknown_outcome, effect=effect)

    def edit(self, ref: TicketRef, **fields: Any) -> None:
        """An agent's triage on the desk: the ticket's fields changed by hand."""
        ticket = self._at(ref)
        ticket.draft = replace(ticket.draft, **fields)

    def assign(self, ref: TicketRef, assignee: Assignee) -> bool:
        def effect() -> bool:
            if not {assignee.user_id, assignee.email} & self.known_users:
                return False
            self._at(ref).assignee = assignee
            return True

        return self.calls.run("assign", ref, assignee, effect=effect)

    def resolve(self, ref: TicketRef, note: str) -> None:
        self.calls.run(
            "resolve", ref, note, effect=lambda: self._set_status(ref, TicketStatus.RESOLVED)
        )

    def reopen(self, ref: TicketRef, note: str) -> TicketRef | None:
        def effect() -> TicketRef | None:
            if not self.reopen_as_new_ticket:
                self._set_status(ref, TicketStatus.OPEN)
                return None
            old = self._at(ref)
            new = self._new_ticket(old.draft)
            self.tickets[new.id].replaces = ref.id
            return new

        result: TicketRef | None = self.calls.run("reopen", ref, note, effect=effect)
        return result

    def only_ticket(self) -> DeskTicket:
        [ticket] = self.tickets.values()
        return ticket

    def _new_ticket(self, draft: TicketDraft) -> TicketRef:
        ticket_id = f"T-{len(self.tickets) + 1}"
        self.tickets[ticket_id] = DeskTicket(draft.incident_id, draft, created_at=self.clock())
        self._hidden[ticket_id] = self._lag
        return _ref(ticket_id, keyed=self.keyed)

    def _at(self, ref: TicketRef) -> DeskTicket:
        return self.tickets[ref.id]

    def _set_status(self, ref: TicketRef, status: TicketStatus) -> None:
        self._at(ref).status = status


def _ref(ticket_id: str, *, keyed: bool) -> TicketRef:
    key = f"KEY-{ticket_id}" if keyed else None
    return TicketRef(id=ticket_id, key=key, url=f"https://desk.example/{ticket_id}")


# --- the callback side ------------------------------------------------------------------------


@dataclass
class FakeOutbox:
    """The callback queue: ``CallbackOutbox``."""

    calls: Calls = field(default_factory=Calls)

    queued: list[CallbackRequest] = field(default_factory=list)

    def send(self, request: CallbackRequest) -> None:
        self.calls.run("send", request, effect=lambda: self.queued.append(request))


@dataclass
class FakeBigPanda:
    """BigPanda's callback service: ``TicketConfirmations``."""

    confirmed: list[str] = field(default_factory=list)
    calls: Calls = field(default_factory=Calls)

    def confirm_ticket(self, incident_id: str) -> None:
        self.calls.run(
            "confirm_ticket", incident_id, effect=lambda: self.confirmed.append(incident_id)
        )
