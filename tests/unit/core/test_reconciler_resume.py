"""The reconciler after a crash: a retry resumes where the failed sync stopped.

A crash is a call that raises: the desk's or the callback queue's (before or after its effect,
the latter being a timeout whose outcome the caller never saw), or the state store's save.
Each spec compares the retried run with the same versions synced without a crash.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from pandabridge.errors import RetryableError
from pandabridge.sync import Action, comment_key
from pandabridge.tickets.state import TicketState
from tests.unit.core.deliveries import later, reactivated, resolved, with_assignee, with_comment
from tests.unit.core.fakes import Calls
from tests.unit.core.world import KNOWN_USER, World

Payload = dict[str, Any]
CRASH = RetryableError("the call did not complete", outcome_unknown=True)


@dataclass(frozen=True)
class Step:
    """A step of a sync: the versions synced before it, the version that needs it, its call."""

    method: str
    before: Callable[[Payload], list[Payload]]
    version: Callable[[Payload], Payload]
    calls: Callable[[World], Calls] = lambda world: world.target.calls

    def __str__(self) -> str:
        return self.method


STEPS = {
    step.method: step
    for step in (
        Step("create", lambda _: [], lambda p: p),
        Step("send", lambda _: [], lambda p: p, calls=lambda world: world.outbox.calls),
        Step("update", lambda p: [p], lambda p: later(p, severity="Warning")),
        Step("resolve", lambda p: [p], resolved),
        Step("reopen", lambda p: [p, resolved(p)], reactivated),
        Step("comment", lambda p: [p], lambda p: with_comment(p, "DB team is on it")),
        Step("assign", lambda p: [p], lambda p: with_assignee(p, userId=KNOWN_USER)),
    )
}


def run_until_step(world: World, step: Step, sample: Payload) -> Any:
    for version in step.before(sample):
        world.sync(version)
    return world.store(step.version(sample))


@pytest.fixture
def without_crash(make_world: Callable[[], World], sample: Payload) -> Callable[[Step], World]:
    """The same versions synced with no failure, to compare against."""

    def run(step: Step) -> World:
        clean = make_world()
        clean.reconciler.sync(run_until_step(clean, step, sample))
        return clean

    return run


IDEMPOTENT = ("update", "resolve", "reopen", "assign")


@pytest.mark.parametrize(
    ("step", "took_effect"),
    [(step, False) for step in STEPS.values()] + [(STEPS[name], True) for name in IDEMPOTENT],
    ids=lambda value: {False: "failed", True: "took-effect-unseen"}.get(value, str(value)),
)
def test_a_retry_after_a_failed_step_ends_as_a_sync_without_the_failure(
    world: World,
    without_crash: Callable[[Step], World],
    sample: Payload,
    incident_id: str,
    step: Step,
    took_effect: bool,
) -> None:
    """A call that failed before taking effect (a 503) is done once; an idempotent call that
    went through while the caller timed out is made again, which changes nothing."""
    # Given the step's call fails, before or after taking effect
    nudge = run_until_step(world, step, sample)
    step.calls(world).fail(step.method, CRASH, took_effect=took_effect)
    # When the sync fails and the nudge is retried
    world.retried(nudge)
    # Then the call took effect once (twice if the first went through unseen), and the sync
    # ends exactly as one without the failure
    assert step.calls(world).done[step.method] == (2 if took_effect else 1)
    assert world.outcome(incident_id) == without_crash(step).outcome(incident_id)


Saved = Callable[[TicketState], bool]


def desk_timed_out(world: World, calls: Calls, method: str, saved: Saved) -> None:
    """The call went through, but the caller timed out before it could save that."""
    calls.fail(method, CRASH, took_effect=True)


def save_crashed(world: World, calls: Calls, method: str, saved: Saved) -> None:
    """The call went through, but the save that records it crashed."""
    world.states.crash_before_saving(saved, CRASH)


LOSSES = pytest.mark.parametrize("lose", [desk_timed_out, save_crashed], ids=lambda f: f.__name__)


@LOSSES
def test_a_create_whose_outcome_was_lost_is_found_not_repeated(
    world: World, sample: Payload, lose: Callable[..., None]
) -> None:
    # Given the ticket was created, but the sync never saved that
    nudge = world.store(sample)
    lose(world, world.target.calls, "create", lambda state: state.ticket is not None)
    # When the sync fails and the nudge is retried
    report = world.retried(nudge)
    # Then the lookup finds the ticket: one ticket, one callback
    assert Action.FOUND in report.actions
    assert world.target.calls.done["create"] == 1
    assert len(world.outbox.queued) == 1


@LOSSES
def test_a_callback_whose_queueing_was_lost_is_queued_again_and_confirmed_once(
    world: World, sample: Payload, incident_id: str, lose: Callable[..., None]
) -> None:
    """The callback is at least once: its queueing is saved after the send."""
    # Given the callback reached the queue, but the sync never saved that
    nudge = world.store(sample)
    lose(world, world.outbox.calls, "send", lambda state: state.callback_enqueued_at is not None)
    # When the sync fails and the nudge is retried
    report = world.retried(nudge)
    # Then the callback is queued a second time, and nothing else is redone
    assert report.actions == (Action.CALLBACK_QUEUED,)
    assert len(world.outbox.queued) == 2
    assert world.target.calls.done["create"] == 1
    # And the confirmer's ledger lets BigPanda hear of the ticket once
    for request in world.outbox.queued:
        world.confirmer.confirm(request)
    assert world.bigpanda.confirmed == [incident_id]


@LOSSES
def test_a_comment_whose_outcome_was_lost_is_looked_for_not_added_again(
    world: World, sample: Payload, lose: Callable[..., None]
) -> None:
    """Failure 1 (engine side): the key is saved as attempted before the call, so the retry
    asks the desk to look for the comment first."""
    # Given a comment was added, but the sync never saved that it was
    world.sync(sample)
    nudge = world.store(with_comment(sample, "DB team is on it"))
    lose(world, world.target.calls, "comment", lambda state: bool(state.comment_hashes))
    # When the sync fails and the nudge is retried
    report = world.retried(nudge)
    # Then the retry's call says the outcome was unknown, the comment is on the ticket once,
    # and nothing else is written
    key = comment_key("DB team is on it")
    assert world.target.calls.log[-1] == (
        "comment",
        world.state(nudge.incident_id).ticket,
        "DB team is on it",
        key,
        True,
    )
    assert report.actions == (Action.COMMENTED,)
    assert world.target.only_ticket().comments == ["DB team is on it"]
    assert world.target.calls.count("update") == 0
    state = world.state(nudge.incident_id)
    assert (key in state.comment_hashes, key in state.comment_attempts) == (True, False)


def test_a_first_comment_call_carries_its_key_and_no_doubt(world: World, sample: Payload) -> None:
    # Given a synced incident
    world.sync(sample)
    # When a version with a comment is synced
    world.sync(with_comment(sample, "looking"))
    # Then the desk is asked to add it with its key, as a first attempt, which was recorded
    # as attempted before the call
    [call] = [c for c in world.target.calls.log if c[0] == "comment"]
    assert call[3:] == (comment_key("looking"), False)
    [attempted] = [s for s in world.states.saved() if s.comment_attempts]
    assert attempted.comment_attempts == {comment_key("looking")}


def test_a_crash_before_the_create_attempt_is_saved_creates_on_retry(
    world: World, sample: Payload
) -> None:
    # Given the first save of a first sync (the create attempt) fails
    nudge = world.store(sample)
    world.states.calls.fail("save", CRASH)
    # When the sync fails and the nudge is retried
    report = world.retried(nudge)
    # Then the desk was not asked to create before that save, and the retry creates the ticket
    assert report.actions == (Action.CREATED, Action.CALLBACK_QUEUED)
    assert world.target.calls.count("create") == 1
