"""What ticket sync remembers about each incident's ticket, and what it still owes.

The state lives in the tickets table, apart from the incidents, so that writing it never
re-triggers a sync. Ticket sync owns every attribute here except ``callback_confirmed_at``,
which the callback function records.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from pandabridge.tickets.model import TicketRef, TicketStatus


@dataclass(frozen=True)
class TicketState:
    incident_id: str
    target: str
    ticket: TicketRef | None = None
    status: TicketStatus | None = None
    synced_version: str | None = None
    synced_hash: str | None = None
    comment_hashes: frozenset[str] = field(default_factory=frozenset)
    assignee: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    resolved_at: datetime | None = None
    # Set just before a create call, so that a retry knows a ticket may exist that a search
    # cannot see yet (Jira's search is eventually consistent).
    create_attempted_at: datetime | None = None
    callback_enqueued_at: datetime | None = None
    # Ingest's receipt of the version the queued callback confirms: where its latency starts.
    callback_received_at: datetime | None = None
    callback_confirmed_at: datetime | None = None
    # Optimistic lock: every save must name the revision it read.
    revision: int = 0

    def but(self, **changes: Any) -> TicketState:
        return replace(self, **changes)

    @property
    def owes_callback(self) -> bool:
        """A ticket exists but its callback was never queued (e.g. a crash right after create)."""
        return self.ticket is not None and self.callback_enqueued_at is None
