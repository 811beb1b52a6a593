"""The reconciler's first steps: one ticket per incident, found again rather than made twice.

Every spec runs ``Reconciler.sync`` against in-memory fakes (tests/unit/core/fakes.py).
"""

from __future__ import annotations

from typing import Any

import pytest

from pandabridge.errors import PermanentError, RetryableError
from pandabridge.messages import CallbackRequest, SyncNudge
from pandabridge.names import Limits
from pandabridge.sync import Action
from pandabridge.tickets.model import TicketStatus
from tests.unit.core.deliveries import later
from tests.unit.core.world import World

Payload = dict[str, Any]
TIMED_OUT = RetryableError("the desk did not answer within 10 s")


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
    # Given a desk that refuses the create for good
    world.target.fail("create", PermanentError("no such project", setting="TICKET_PROJECT"))
    # When the incident is synced
    with pytest.raises(PermanentError):
        world.sync(sample)
    # Then the attempt was saved before the call, and nothing else was
    state = world.state(incident_id)
    assert state.create_attempted_at == world.clock()
    assert state.ticket is None
    assert world.outbox.queued == []


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
    with pytest.raises(RetryableError, match="may not be searchable yet") as waited:
        world.reconciler.sync(nudge)
    # Then it waits out the rest of the window instead of creating a second ticket
    assert waited.value.retry_after == Limits.SEARCH_CONSISTENCY_SECONDS - 10
    assert world.target.calls.done["create"] == 1


@pytest.mark.parametrize(
    ("created", "action"),
    [(True, Action.FOUND), (False, Action.CREATED)],
    ids=["create-took-effect-then-found", "create-refused-then-created"],
)
def test_after_the_search_window_a_lagging_lookup_decides(
    world: World, sample: Payload, created: bool, action: str
) -> None:
    # Given a lagging search that misses a new ticket on the first find after its create,
    # a create that timed out after taking effect or that the desk refused (503), and a
    # retry within the window that waited
    world.target.lag_finds(1)
    world.target.fail(
        "create", TIMED_OUT if created else RetryableError("503"), took_effect=created
    )
    nudge = world.failed_sync(sample)
    with pytest.raises(RetryableError, match="may not be searchable yet"):
        world.reconciler.sync(nudge)
    # When the nudge is retried once the window has passed
    world.clock.advance(Limits.SEARCH_CONSISTENCY_SECONDS)
    report = world.reconciler.sync(nudge)
    # Then the lookup is believed: the ticket made before is found, or one is created now
    assert action in report.actions
    assert len(world.target.tickets) == 1


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
