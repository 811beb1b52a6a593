"""What ticket sync remembers about each incident's ticket, and what it still owes.

The state lives in the tickets table, apart from the incidents, so that writing it never
re-triggers a sync. Ticket sync owns every attribute here except ``callback_confirmed_at``,
which the callback function records.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from pandabridge.errors import StepFailedError
from pandabridge.tickets.model import TicketRef, TicketStatus


@dataclass(frozen=True)
class StepFailure:
    """A step the desk refused as configured: it needs an operator's attention.

    ``step`` is the step (``resolve``, ``reopen``, ``assign``, ``comment``, ``field:<name>``),
    ``reason`` the desk's own message, ``setting`` what to fix, ``at`` the latest refusal and
    ``attempts`` how many times in a row the desk refused it.
    """

    step: str
    reason: str
    setting: str
    at: datetime
    attempts: int = 1
    status: int | None = None

    @classmethod
    def of(cls, error: StepFailedError, *, step: str, at: datetime, attempts: int) -> StepFailure:
        return cls(
            step=step,
            reason=error.reason,
            setting=error.setting,
            at=at,
            attempts=attempts,
            status=error.status,
        )


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
    # cannot see yet (Jira's search is eventually consistent); cleared again when the create
    # failed definitely (an answered status), since then no ticket can exist.
    create_attempted_at: datetime | None = None
    # A hash of each field's rendered value as last written to the desk (title, description,
    # priority): a field is written again only when its value changes. Empty for a state saved
    # before fields were tracked one by one.
    field_hashes: Mapping[str, str] = field(default_factory=dict)
    # Comment keys whose call was made but not yet known to have succeeded: the retry asks the
    # desk to look for the comment before adding it again.
    comment_attempts: frozenset[str] = field(default_factory=frozenset)
    # Steps the desk refused as configured, by step, until they succeed: what ``ops inspect``
    # shows as needing attention.
    step_failures: Mapping[str, StepFailure] = field(default_factory=dict)
    # Tickets the incident lived on before: a desk that cannot reopen a closed ticket opens a
    # new one, linked to the old.
    previous_tickets: tuple[TicketRef, ...] = ()
    callback_enqueued_at: datetime | None = None
    # Ingest's receipt of the version the queued callback confirms: where its latency starts.
    callback_received_at: datetime | None = None
    callback_confirmed_at: datetime | None = None
    # When write-back tagged the BigPanda incident with this ticket's link and commented it:
    # set once, so the link is written once (``pandabridge.write_back``).
    link_written_at: datetime | None = None
    # Optimistic lock: every save must name the revision it read.
    revision: int = 0

    def but(self, **changes: Any) -> TicketState:
        return replace(self, **changes)

    @property
    def owes_callback(self) -> bool:
        """A ticket exists but its callback was never queued (e.g. a crash right after create)."""
        return self.ticket is not None and self.callback_enqueued_at is None
