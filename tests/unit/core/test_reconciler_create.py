"""The reconciler's first steps: one ticket per incident, found again rather than made twice.

Every spec runs ``Reconciler.sync`` against in-memory fakes (tests/unit/core/fakes.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from pandabridge.errors import PermanentError, RetryableError, WaitingError
from pandabridge.messages import CallbackRequest, SyncNudge
from pandabridge.names import Limits
from pandabridge.sync import Action
from pandabridge.tickets.model import TicketStatus
from tests.unit.core.deliveries import later
from tests.unit.core.world import World

Payload = dict[str, Any]
TIMED_OUT = RetryableError("the desk did not answer within 10 s", outcome_unknown=True)
WINDOW = Limits.CREATE_OUTCOME_WINDOW_SECONDS


def test_first_sync_creates_one_ticket_saves_its_state_and_queues_one_callback(
    world: World, sample: Payload, incident_id: str
) -> None:
    # Given an incident stored 1.5 s ago, with no ticket yet
    received = world.clock()
    nudge = world.store(sample)
    world.clock.advance(1.5)
    # When its nudge is synced
    report = world.reconciler.sync(nudge)
    # Then one ticket exists for it, and its state says which ticket, which version, and when
    assert world.target.calls.done["create"] == 1
    assert world.target.only_ticket().incident_id == incident_id
    state = world.state(incident_id)
    assert state.ticket == report.ticket
    assert state.status is TicketStatus.OPEN
    assert (state.synced_hash, state.synced_version) == (nudge.sha256, nudge.version)
    assert state.created_at == state.callback_enqueued_at == world.clock()
    # And the moment ingest received the version, where "after the webhook" counts from
    assert state.callback_received_at == received
    # And the callback is queued once, with that moment
    assert world.outbox.queued == [
        CallbackRequest(
            incident_id=incident_id,
            ticket_ref=report.ticket.key if report.ticket else "",
            received_at=received.isoformat(timespec="milliseconds"),
        )
    ]
    assert report.actions == (Action.CREATED, Action.CALLBACK_QUEUED)


def test_the_create_attempt_is_saved_before_the_create_call(
    world: World, sample: Payload, incident_id: str
) -> None:
    # Given a desk whose create times out: the ticket may or may not exist
    world.target.fail("create", TIMED_OUT)
    # When the incident is synced
    with pytest.raises(RetryableError):
        world.sync(sample)
    # Then the attempt was saved before the call, and nothing else was
    [attempt] = world.states.saved()
    assert attempt.create_attempted_at == world.clock()
    state = world.state(incident_id)
    assert state.create_attempted_at == world.clock()
    assert state.ticket is None
    assert world.outbox.queued == []


@pytest.mark.parametrize(
    "refusal",
    [
        PermanentError("no such project", setting="TICKET_PROJECT", status=404),
        RetryableError("429 from the desk", retry_after=7),
    ],
    ids=["404", "429"],
)
def test_a_definite_refusal_of_the_create_clears_the_attempt(
    world: World, sample: Payload, incident_id: str, refusal: Exception
) -> None:
    # Given a desk that answers the create with a refusal: no ticket can exist
    world.target.fail("create", refusal)
    # When the incident is synced
    with pytest.raises(type(refusal)):
        world.sync(sample)
    # Then the attempt is not left behind as a ticket that may exist
    assert world.state(incident_id).create_attempted_at is None


def test_a_ticket_found_by_the_lookup_is_adopted_and_synced_not_created_again(
    world: World, sample: Payload, incident_id: str
) -> None:
    # Given the desk holds a ticket for the incident that the state does not know of
    world.target.fail("create", TIMED_OUT, took_effect=True)
    world.failed_sync(sample)
    # When the incident is synced again
    report = world.sync(sample)
    # Then the ticket is found, its unknown fields are brought up to date, and it is not created
    assert report.actions == (Action.FOUND, Action.CALLBACK_QUEUED, Action.UPDATED)
    assert world.target.calls.done["create"] == 1
    assert world.state(incident_id).status is TicketStatus.OPEN
    assert len(world.outbox.queued) == 1


def test_a_lagging_lookup_right_after_an_unseen_create_is_not_trusted(
    world: World, sample: Payload
) -> None:
    # Given a desk whose search lags, and a create that went through while the caller timed out
    world.target.lag_finds(5)
    world.target.fail("create", TIMED_OUT, took_effect=True)
    nudge = world.failed_sync(sample)
    # When the nudge is retried 10 s later and the search sees nothing yet
    world.clock.advance(10)
    with pytest.raises(WaitingError, match="may not be searchable yet") as waited:
        world.reconciler.sync(nudge)
    # Then it waits, as long again as has passed, instead of creating a second ticket
    assert waited.value.retry_after == 10
    assert world.target.calls.done["create"] == 1


def test_the_waits_for_a_lagging_lookup_grow_and_end_with_the_window(
    world: World, sample: Payload
) -> None:
    # Given a search that never sees the ticket, after a create whose outcome was unknown
    world.target.lag_finds(1000)
    world.target.fail("create", TIMED_OUT)
    nudge = world.failed_sync(sample)
    # When the nudge is retried each time after the wait it asked for
    _, waits = world.waited_sync(nudge)
    # Then the waits grow (but the last, the rest of the window), add up to exactly the
    # window, and the empty search is then trusted
    assert waits[:-1] == sorted(waits[:-1])
    assert sum(waits) == WINDOW
    assert len(waits) < 10
    assert world.target.calls.done["create"] == 1


def test_after_the_window_a_lagging_lookup_finds_the_ticket_made_unseen(
    world: World, sample: Payload
) -> None:
    # Given a lagging search that misses a new ticket on the first find after its create,
    # a create that timed out after taking effect, and a retry within the window that waited
    world.target.lag_finds(1)
    world.target.fail("create", TIMED_OUT, took_effect=True)
    nudge = world.failed_sync(sample)
    with pytest.raises(WaitingError):
        world.reconciler.sync(nudge)
    # When the nudge is retried once the window has passed
    world.clock.advance(WINDOW)
    report = world.reconciler.sync(nudge)
    # Then the lookup is believed: the ticket made before is found, not made again
    assert Action.FOUND in report.actions
    assert len(world.target.tickets) == 1


@pytest.mark.parametrize(
    "refusal",
    [RetryableError("503 from the desk"), RetryableError("connection refused")],
    ids=["503", "refused-connection"],
)
def test_a_definite_create_failure_on_a_lagging_desk_does_not_wait(
    world: World, sample: Payload, refusal: RetryableError
) -> None:
    # Given a desk whose search lags, and a create it answered with a failure
    world.target.lag_finds(1)
    world.target.fail("create", refusal)
    nudge = world.failed_sync(sample)
    # When the nudge is retried at once
    report = world.reconciler.sync(nudge)
    # Then the ticket is created without waiting for the window
    assert report.actions == (Action.CREATED, Action.CALLBACK_QUEUED)
    assert len(world.target.tickets) == 1


def test_a_429_on_create_waits_its_retry_after_not_the_window(
    world: World, sample: Payload
) -> None:
    """Failure 6: a clean 429 is definite; the queue waits the desk's Retry-After."""
    # Given a lagging desk that answers the create with 429 and Retry-After 7
    world.target.lag_finds(1)
    busy = RetryableError("429 from the desk", retry_after=7)
    world.target.fail("create", busy)
    # When the incident is synced, and retried once the 7 s have passed
    with pytest.raises(RetryableError) as raised:
        world.sync(sample)
    world.clock.advance(7)
    nudge = world.store(sample)
    report = world.reconciler.sync(nudge)
    # Then the first attempt asked for the desk's 7 s, and the retry creates at once
    assert raised.value is busy
    assert report.actions == (Action.CREATED, Action.CALLBACK_QUEUED)


def test_a_search_lagging_past_30_s_after_an_unseen_create_gives_one_ticket(
    world: World, sample: Payload
) -> None:
    """Failure 2: a search that lags 45 s behind a create that timed out but succeeded."""
    # Given a desk whose search shows a ticket only 45 s after its create, and a create that
    # went through while the caller timed out
    world.target.lag_search(45)
    world.target.fail("create", TIMED_OUT, took_effect=True)
    nudge = world.failed_sync(sample)
    # When the nudge is retried after each wait it asks for, until it completes
    report, _ = world.waited_sync(nudge)
    # Then the ticket made unseen is found: one ticket, one callback
    assert Action.FOUND in report.actions
    assert len(world.target.tickets) == 1
    assert len(world.outbox.queued) == 1


def test_a_consistent_lookup_is_trusted_at_once_after_a_failed_create(
    world: World, sample: Payload
) -> None:
    # Given a desk whose search is consistent, and a create it refused (503)
    world.target.fail("create", RetryableError("503 from the desk"))
    nudge = world.failed_sync(sample)
    # When the nudge is retried at once
    report = world.reconciler.sync(nudge)
    # Then the ticket is created without waiting
    assert report.actions == (Action.CREATED, Action.CALLBACK_QUEUED)


def test_a_nudge_for_an_incident_missing_from_storage_does_nothing(world: World) -> None:
    # Given no stored incident
    nudge = SyncNudge(incident_id="never-stored", version="0", sha256="0" * 64)
    # When its nudge is synced
    report = world.reconciler.sync(nudge)
    # Then nothing is read past the incident, and nothing is called or saved
    assert (report.ticket, report.in_sync_already) == (None, True)
    assert world.states.calls.log == []
    assert world.target.calls.log == []
    assert world.outbox.calls.log == []


def test_a_duplicate_nudge_does_nothing(world: World, sample: Payload) -> None:
    # Given an incident already synced
    nudge = world.store(sample)
    world.reconciler.sync(nudge)
    calls_before = (len(world.target.calls.log), len(world.states.saved()))
    # When the same nudge is delivered again
    report = world.reconciler.sync(nudge)
    # Then the desk is not called, nothing is saved, and the report says so
    assert report.in_sync_already
    assert (len(world.target.calls.log), len(world.states.saved())) == calls_before


def test_a_stale_nudge_after_a_newer_version_was_synced_does_nothing(
    world: World, sample: Payload
) -> None:
    # Given two versions stored, and the newer one synced
    old = world.store(sample)
    world.sync(later(sample, severity="Warning"))
    calls_before = len(world.target.calls.log)
    # When the older version's nudge arrives late
    report = world.reconciler.sync(old)
    # Then nothing changes
    assert report.in_sync_already
    assert len(world.target.calls.log) == calls_before


def test_a_late_nudge_syncs_the_newest_stored_version(
    world: World, sample: Payload, incident_id: str
) -> None:
    # Given two versions stored before any sync
    old = world.store(sample)
    new = world.store(later(sample, severity="Warning", status="Warning"))
    # When the older version's nudge is synced first
    world.reconciler.sync(old)
    # Then the ticket is created from the newest version, which the next nudge finds in sync
    assert world.target.only_ticket().draft.title.endswith("- Warning")
    assert world.state(incident_id).synced_hash == new.sha256
    assert world.reconciler.sync(new).in_sync_already


def test_the_callback_names_the_ticket_by_its_id_where_the_desk_gives_no_key(
    world: World, sample: Payload
) -> None:
    # Given a desk whose tickets have an id and no key
    world.target.keyed = False
    # When a first sync creates the ticket
    report = world.sync(sample)
    # Then the callback names the ticket by its id
    assert report.ticket is not None
    assert [request.ticket_ref for request in world.outbox.queued] == [report.ticket.id]
