"""Write-back specs: ``Mirror`` and the reconciler on the core fakes plus in-memory BigPanda,
echo ledger and circuit breaker, wired as ``pandabridge.composition.write_back`` wires the
real ones. Nothing opens a socket."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from pandabridge.sync import Reconciler, SyncReport
from pandabridge.write_back import BigPandaWrites, Mirror, MirrorReport, WriteBackSettings
from tests.unit.core.world import World
from tests.unit.write_back.fakes import (
    Event,
    Kind,
    MemoryBigPanda,
    MemoryCircuitBreaker,
    MemoryEchoLedger,
)

Payload = dict[str, Any]
SETTING = "targets.ops-jira.two_way"
INTEGRATION_USER = "pandabridge-bot"


@dataclass
class TwoWay:
    """One incident's two directions: ticket sync (BigPanda → desk) and the mirror (desk →
    BigPanda), sharing the ticket states, the echo ledger and the breaker."""

    world: World = field(default_factory=World)
    bigpanda: MemoryBigPanda = field(default_factory=MemoryBigPanda)
    # BigPanda's API as the mirror calls it: ``bigpanda`` unless a real client is given.
    api: BigPandaWrites | None = None
    breaker: MemoryCircuitBreaker = field(default_factory=MemoryCircuitBreaker)
    settings: WriteBackSettings = field(
        default_factory=lambda: WriteBackSettings(
            setting=SETTING, integration_user=INTEGRATION_USER
        )
    )
    events: int = 0

    def __post_init__(self) -> None:
        self.ledger = MemoryEchoLedger(self.world.clock)
        self.rewire()

    def rewire(self, **settings: Any) -> None:
        """Build the mirror and the reconciler again, with some settings changed."""
        self.settings = WriteBackSettings(**{**vars(self.settings), **settings})
        world = self.world
        self.mirror = Mirror(
            api=self.api or self.bigpanda,
            incidents=world.book,
            states=world.states,
            ledger=self.ledger,
            breaker=self.breaker,
            settings=self.settings,
            clock=world.clock,
        )
        self.reconciler = Reconciler(
            incidents=world.book,
            states=world.states,
            target=world.target,
            callbacks=world.outbox,
            clock=world.clock,
            ledger=self.ledger,
            links=self.mirror,
            link_tag=self.settings.link_tag,
        )

    def sync(self, payload: Payload) -> SyncReport:
        return self.reconciler.sync(self.world.store(payload))

    def ticket_key(self, incident_id: str) -> str:
        ticket = self.world.state(incident_id).ticket
        assert ticket is not None
        return ticket.key or ticket.id

    def event(self, incident_id: str, kind: Kind, **fields: Any) -> Event:
        """A new desk event (its own id) on the incident's ticket."""
        self.events += 1
        return Event(
            incident_id,
            kind,
            event_id=f"evt-{self.events}",
            ticket_key=self.ticket_key(incident_id),
            **fields,
        )

    def apply(self, incident_id: str, kind: Kind, **fields: Any) -> MirrorReport:
        return self.mirror.apply(self.event(incident_id, kind, **fields))


@pytest.fixture
def two_way() -> TwoWay:
    return TwoWay()


@pytest.fixture
def incident_id(sample: Payload) -> str:
    return str(sample["incident"]["id"])


@pytest.fixture
def ticketed(two_way: TwoWay, sample: Payload, incident_id: str) -> str:
    """The sample incident synced: its ticket exists and its link is written."""
    two_way.sync(sample)
    return incident_id
