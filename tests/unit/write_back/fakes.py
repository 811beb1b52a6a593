"""In-memory stand-ins for write-back's collaborators: BigPanda's Incidents API, the echo
ledger and the circuit breaker, behaving as the real ones are specified to."""

# ruff: noqa: ARG002 - each method keeps the signature of the protocol it stands in for

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from pandabridge.errors import WaitingError
from pandabridge.names import Limits
from pandabridge.write_back import Side

Kind = Literal["resolved", "reopened", "commented", "assigned"]


@dataclass(frozen=True)
class Event:
    """A stored desk event, shaped as ``pandabridge.desk_events.DeskEvent``."""

    incident_key: str
    kind: Kind
    event_id: str = "evt-1"
    target: str = "ops-jira"
    ticket_key: str = "OPS-1"
    actor: str = "dana"
    actor_name: str = "Dana Levi"
    comment: str | None = None
    assignee_email: str | None = None
    at: str = "2026-05-01T12:00:00+00:00"


@dataclass
class MemoryBigPanda:
    """BigPanda's Incidents API over dicts: resolve answers False (a 409) when resolved
    already; a tag needs its definition; ``writes`` lists every write in order."""

    resolved: set[str] = field(default_factory=set)
    known: set[str] = field(default_factory=set)
    definitions: list[dict[str, Any]] = field(
        default_factory=lambda: [{"id": "tag-link", "name": "ticket_link"}]
    )
    users: dict[str, str] = field(default_factory=dict)
    writes: list[tuple[str, ...]] = field(default_factory=list)
    # Resolve calls that reach BigPanda while another resolve is under way: a 409.
    resolve_conflicts: int = 0
    # Writes refused next because the org's rate limit is full (the limiter's WaitingError).
    throttled: int = 0

    def _take_slot(self) -> None:
        if self.throttled:
            self.throttled -= 1
            raise WaitingError("the org's rate limit is full", retry_after=1)

    def get_incident(
        self, env: str, incident_id: str, *, expand_alerts: bool = False
    ) -> dict[str, Any] | None:
        if self.known and incident_id not in self.known:
            return None
        active = incident_id not in self.resolved
        return {"id": incident_id, "active": active, "status": "critical" if active else "ok"}

    def resolve(self, env: str, incident_id: str, comment: str) -> bool:
        self._take_slot()
        if incident_id in self.resolved or self.resolve_conflicts:
            self.resolve_conflicts = max(0, self.resolve_conflicts - 1)
            self.resolved.add(incident_id)
            return False
        self.resolved.add(incident_id)
        self.writes.append(("resolve", incident_id, comment))
        return True

    def comment(self, env: str, incident_id: str, text: str) -> None:
        self._take_slot()
        self.writes.append(("comment", incident_id, text))

    def tag_definitions(self) -> list[dict[str, Any]]:
        return list(self.definitions)

    def set_tag(self, env: str, incident_id: str, tag_id: str, value: str) -> None:
        self.writes.append(("tag", incident_id, tag_id, value))

    def user_id_by_email(self, email: str) -> str | None:
        return self.users.get(email)

    def assign(self, env: str, incident_id: str, user_id: str) -> None:
        self.writes.append(("assign", incident_id, user_id))

    def of_kind(self, kind: str) -> list[tuple[str, ...]]:
        return [write for write in self.writes if write[0] == kind]


@dataclass
class MemoryEchoLedger:
    """The echo ledger as the control table keeps it: entries taken once, expiring."""

    clock: Any
    entries: dict[tuple[str, Side, str], datetime] = field(default_factory=dict)
    done: set[tuple[str, str]] = field(default_factory=set)

    def record(self, incident: str, side: Side, write: str) -> None:
        self.entries[(incident, side, write)] = self.clock() + timedelta(
            seconds=Limits.ECHO_LEDGER_TTL_SECONDS
        )

    def take(self, incident: str, side: Side, write: str) -> bool:
        expires = self.entries.pop((incident, side, write), None)
        return expires is not None and expires > self.clock()

    def applied(self, incident: str, event_id: str) -> bool:
        return (incident, event_id) in self.done

    def mark_applied(self, incident: str, event_id: str) -> None:
        self.done.add((incident, event_id))


@dataclass
class MemoryCircuitBreaker:
    """Writes counted per incident in fixed windows; an open breaker stays open a day."""

    windows: dict[tuple[str, int], int] = field(default_factory=dict)
    opened: dict[str, datetime] = field(default_factory=dict)

    def opened_at(self, incident: str) -> datetime | None:
        return self.opened.get(incident)

    def writes(self, incident: str, at: datetime) -> int:
        return self.windows.get(self._window(incident, at), 0)

    def count_write(self, incident: str, at: datetime) -> int:
        window = self._window(incident, at)
        self.windows[window] = self.windows.get(window, 0) + 1
        return self.windows[window]

    @staticmethod
    def _window(incident: str, at: datetime) -> tuple[str, int]:
        return (incident, int(at.timestamp()) // Limits.LOOP_WINDOW_SECONDS)

    def open(self, incident: str, at: datetime, writes: int) -> None:
        self.opened.setdefault(incident, at)
