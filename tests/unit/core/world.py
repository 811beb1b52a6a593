"""The reconciler and the confirmer on one set of fakes, wired as composition wires the real."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from pandabridge.callbacks import Confirmer
from pandabridge.errors import RetryableError, WaitingError
from pandabridge.incidents import ingest
from pandabridge.messages import SyncNudge
from pandabridge.models import WebhookPayload
from pandabridge.parsing import parse_webhook
from pandabridge.sync import Reconciler, SyncReport, UpdatePolicy
from pandabridge.tickets.mapping import draft_for
from pandabridge.tickets.model import TicketDraft
from pandabridge.tickets.state import TicketState
from tests.unit.core.fakes import (
    FakeBigPanda,
    FakeClock,
    FakeLedger,
    FakeOutbox,
    FakeTarget,
    FakeTicketStates,
    IncidentBook,
    TicketsTable,
)

Payload = dict[str, Any]
KNOWN_USER = "bp-user-1"


@dataclass
class World:
    """One incident pipeline's worth of fakes; a fresh one per spec (the ``world`` fixture)."""

    clock: FakeClock = field(default_factory=FakeClock)
    book: IncidentBook = field(default_factory=IncidentBook)
    table: TicketsTable = field(default_factory=TicketsTable)
    # The fake desk; specs of a real adapter against a vendor fake pass that adapter instead.
    target: FakeTarget = field(default_factory=lambda: FakeTarget(known_users={KNOWN_USER}))
    outbox: FakeOutbox = field(default_factory=FakeOutbox)
    bigpanda: FakeBigPanda = field(default_factory=FakeBigPanda)
    update_policy: UpdatePolicy = field(default_factory=UpdatePolicy)

    def __post_init__(self) -> None:
        if isinstance(self.target, FakeTarget):
            self.target.clock = self.clock
        self.states = FakeTicketStates(self.table)
        self.ledger = FakeLedger(self.table)
        self.reconciler = Reconciler(
            incidents=self.book,
            states=self.states,
            target=self.target,
            callbacks=self.outbox,
            clock=self.clock,
            update_policy=self.update_policy,
        )
        self.confirmer = Confirmer(ledger=self.ledger, bigpanda=self.bigpanda, clock=self.clock)

    def store(self, payload: Payload) -> SyncNudge:
        """Store a delivery as ingest does, received now; the nudge is the one the pipe sends."""
        webhook = parse_webhook(json.dumps(payload))
        ingest(webhook, self.book, received_at=self.clock())
        return SyncNudge(
            incident_id=webhook.incident_id,
            version=webhook.version.key,
            sha256=webhook.content_hash,
        )

    def sync(self, payload: Payload) -> SyncReport:
        """Store a delivery and sync its nudge."""
        return self.reconciler.sync(self.store(payload))

    def failed_sync(self, payload: Payload) -> SyncNudge:
        """Store a delivery and sync it, which must fail as planned; the nudge to retry."""
        nudge = self.store(payload)
        with pytest.raises(RetryableError):
            self.reconciler.sync(nudge)
        return nudge

    def retried(self, nudge: SyncNudge) -> SyncReport:
        """Sync a nudge whose sync fails as planned, then again, as the queue redelivers it."""
        with pytest.raises(RetryableError):
            self.reconciler.sync(nudge)
        return self.reconciler.sync(nudge)

    def waited_sync(self, nudge: SyncNudge, *, limit: int = 50) -> tuple[SyncReport, list[float]]:
        """Sync a nudge as the queue redelivers it after each wait it asks for, until it
        completes; the report and the waits, in order."""
        waits: list[float] = []
        for _ in range(limit):
            try:
                return self.reconciler.sync(nudge), waits
            except WaitingError as waiting:
                waits.append(waiting.retry_after or 0)
                self.clock.advance(waits[-1])
        raise AssertionError(f"still waiting after {limit} deliveries: {waits}")

    def reconciler_draft(self, payload: Payload) -> TicketDraft:
        """The draft the reconciler makes of a payload, to put a ticket on the desk directly."""
        return draft_for(WebhookPayload.model_validate(payload), priority_tag=None)

    def state(self, incident_id: str) -> TicketState:
        return self.table.items[incident_id]

    def outcome(self, incident_id: str) -> tuple[Any, ...]:
        """Everything a sync leaves behind, to compare a run with a crash to one without."""
        return (
            self.target.tickets,
            self.outbox.queued,
            self.state(incident_id).but(revision=0),
        )
