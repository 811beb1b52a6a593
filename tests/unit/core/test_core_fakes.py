"""The fakes keep the refusals of the real stores that the core specs depend on."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from pandabridge.errors import RetryableError
from pandabridge.stores.tickets import StateConflictError
from pandabridge.tickets.model import TicketRef
from pandabridge.tickets.state import TicketState
from tests.unit.core.fakes import FakeLedger, FakeTicketStates
from tests.unit.core.world import World

INCIDENT = "incident-1"


@pytest.fixture
def first(states: FakeTicketStates) -> TicketState:
    """A state saved once: revision 1."""
    return states.save(TicketState(incident_id=INCIDENT, target="fake"))


def test_a_first_save_is_refused_when_the_state_exists(
    states: FakeTicketStates, first: TicketState
) -> None:
    # Given a saved state; When another writer saves a state it never read (revision 0)
    # Then the save is refused, as attribute_not_exists(incident_id) refuses it
    with pytest.raises(StateConflictError):
        states.save(TicketState(incident_id=INCIDENT, target="fake"))


def test_a_save_naming_a_revision_someone_else_moved_on_is_refused(
    states: FakeTicketStates, first: TicketState
) -> None:
    # Given two writers that read revision 1, one of which saved
    states.save(first.but(assignee="a"))
    # When the other saves
    # Then it is refused, and the stored state is the first writer's
    with pytest.raises(StateConflictError):
        states.save(first.but(assignee="b"))
    assert states.get(INCIDENT) == first.but(assignee="a", revision=2)


def test_a_save_keeps_the_confirmation_the_callback_recorded(
    states: FakeTicketStates, ledger: FakeLedger, first: TicketState, world: World
) -> None:
    # Given the callback recorded its confirmation on a state ticket sync had read
    assert ledger.record_confirmed(INCIDENT, world.clock())
    # When ticket sync saves that state
    states.save(first.but(assignee="a"))
    # Then the confirmation is still there (sync writes only its own attributes)
    assert ledger.confirmed_at(INCIDENT) == world.clock()


def test_a_confirmation_is_recorded_once(
    ledger: FakeLedger, first: TicketState, world: World
) -> None:
    # Given a recorded confirmation; When it is recorded again; Then the second write is refused
    assert ledger.record_confirmed(INCIDENT, world.clock())
    assert not ledger.record_confirmed(INCIDENT, world.clock())


RETRY = RetryableError("the answer was lost", outcome_unknown=True)


@pytest.fixture
def desk_ticket(world: World, sample: dict[str, Any]) -> TicketRef:
    """A ticket on the fake desk."""
    return world.target.create(world.reconciler_draft(sample))


def test_the_desk_keeps_a_comment_whose_answer_was_lost_and_finds_it_by_key(
    world: World, desk_ticket: TicketRef
) -> None:
    # Given a comment the desk saved although its answer was lost
    world.target.fail("comment", RETRY, took_effect=True)
    with pytest.raises(RetryableError):
        world.target.comment(desk_ticket, "looking", key="k1")
    # When it is asked again after the unknown outcome, and a new comment without doubt
    world.target.comment(desk_ticket, "looking", key="k1", after_unknown_outcome=True)
    world.target.comment(desk_ticket, "looking", key="k1")
    # Then the lookup found the first (nothing added), and the call without doubt added one
    assert world.target.only_ticket().comments == ["looking", "looking"]


def test_the_desk_writes_only_the_fields_an_update_names(
    world: World, desk_ticket: TicketRef, sample: dict[str, Any]
) -> None:
    # Given a ticket, and a draft that changes every field
    changed = replace(world.reconciler_draft(sample), title="new", description="new", priority="P5")
    # When an update names the title only
    world.target.update(desk_ticket, changed, fields=frozenset({"title"}))
    # Then only the title changed
    draft = world.target.only_ticket().draft
    assert (draft.title, draft.description == "new", draft.priority) == ("new", False, "P1")
