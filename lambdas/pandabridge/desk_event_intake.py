"""Taking in verified desk changes: find the incident, store the event, then queue it.

Like ingest, an event is stored before it is answered: the stored item is the event, and the
queue message (a ``DeskEventNudge`` in the incident's FIFO group) only points at it. The item
records when it was queued, so a redelivery of an event whose queueing failed (the desk
retries the 5xx it got) is queued then, and a redelivery of a queued one is answered as a
duplicate without a second message. Should the record of the queueing itself be lost, the
second message carries the same deduplication id and SQS drops it within its five minutes;
after that the worker's own guards make a second application a no-op.

Domain code: the control table and the queue are behind the protocols below.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from pandabridge.desk_event_incidents import TicketDirectory, find_incident
from pandabridge.desk_events import DeskChange, DeskEvent
from pandabridge.messages import DeskEventNudge


class DeskEventRepository(Protocol):
    def save(self, event: DeskEvent) -> bool:
        """Store the event unless it is stored; whether it still has to be queued."""
        ...

    def mark_queued(self, event: DeskEvent) -> None: ...


class DeskEventSender(Protocol):
    def send(self, nudge: DeskEventNudge) -> None: ...


class IntakeResult(enum.Enum):
    QUEUED = "queued"
    DUPLICATE = "duplicate"
    UNKNOWN_TICKET = "ignored: the ticket is not one of ours"

    @property
    def stored(self) -> bool:
        return self is not IntakeResult.UNKNOWN_TICKET


@dataclass(frozen=True)
class IntakeOutcome:
    event_id: str
    kind: str
    ticket_key: str
    result: IntakeResult
    incident_id: str | None = None

    def as_json(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "event_id": self.event_id,
            "kind": self.kind,
            "ticket": self.ticket_key,
            "result": self.result.value,
        }
        if self.incident_id is not None:
            answer["incident_id"] = self.incident_id
        return answer


@dataclass
class DeskEventIntake:
    directory: TicketDirectory
    repository: DeskEventRepository
    sender: DeskEventSender

    def take(
        self, changes: Sequence[DeskChange], *, target_names: Sequence[str]
    ) -> list[IntakeOutcome]:
        """Each change stored and queued, or recognised as a redelivery, or ignored."""
        return [self._take(change, target_names) for change in changes]

    def _take(self, change: DeskChange, target_names: Sequence[str]) -> IntakeOutcome:
        outcome = {
            "event_id": change.event_id,
            "kind": change.kind,
            "ticket_key": change.ticket_key,
        }
        incident = find_incident(change, self.directory, target_names=target_names)
        if incident is None:
            return IntakeOutcome(result=IntakeResult.UNKNOWN_TICKET, **outcome)
        event = change.for_incident(incident)
        if not self.repository.save(event):
            return IntakeOutcome(result=IntakeResult.DUPLICATE, incident_id=incident, **outcome)
        self.sender.send(
            DeskEventNudge(target=event.target, event_id=event.event_id, incident_id=incident)
        )
        self.repository.mark_queued(event)
        return IntakeOutcome(result=IntakeResult.QUEUED, incident_id=incident, **outcome)
