"""Fixtures for the core specs: the reconciler and the confirmer wired to in-memory fakes.

Nothing here opens a socket or starts a thread: the whole folder runs in about a second.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.unit.core.fakes import FakeLedger, FakeTicketStates
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
def states(world: World) -> FakeTicketStates:
    return world.states


@pytest.fixture
def ledger(world: World) -> FakeLedger:
    return world.ledger


@pytest.fixture
def incident_id(sample: Payload) -> str:
    return str(sample["incident"]["id"])
