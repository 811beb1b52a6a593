"""Fixtures for the core specs: the reconciler and the confirmer wired to in-memory fakes.

Nothing here opens a socket or starts a thread: the whole folder runs in about a second.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pandabridge.callbacks import Confirmer
from pandabridge.sync import Reconciler
from tests.unit.core.fakes import (
    FakeBigPanda,
    FakeClock,
    FakeLedger,
    FakeOutbox,
    FakeTarget,
    FakeTicketStates,
    IncidentBook,
)
from tests.unit.core.world import World

Payload = dict[str, Any]


@pytest.fixture
def make_world() -> Callable[[], World]:
    """A second, independent set of fakes: the run without a crash to compare against."""
    return World


@pytest.fixture
def world() -> World:
    return World()


@pytest.fixture
def clock(world: World) -> FakeClock:
    return world.clock


@pytest.fixture
def book(world: World) -> IncidentBook:
    return world.book


@pytest.fixture
def states(world: World) -> FakeTicketStates:
    return world.states


@pytest.fixture
def ledger(world: World) -> FakeLedger:
    return world.ledger


@pytest.fixture
def target(world: World) -> FakeTarget:
    return world.target


@pytest.fixture
def outbox(world: World) -> FakeOutbox:
    return world.outbox


@pytest.fixture
def bigpanda(world: World) -> FakeBigPanda:
    return world.bigpanda


@pytest.fixture
def reconciler(world: World) -> Reconciler:
    return world.reconciler


@pytest.fixture
def confirmer(world: World) -> Confirmer:
    return world.confirmer


@pytest.fixture
def incident_id(sample: Payload) -> str:
    return str(sample["incident"]["id"])
