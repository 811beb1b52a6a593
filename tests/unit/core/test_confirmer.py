"""The confirmer: BigPanda hears of each ticket once, and the wait is measured from ingest."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from pandabridge.errors import PermanentError, RetryableError
from pandabridge.messages import CallbackRequest
from tests.unit.core.world import World

Payload = dict[str, Any]


@pytest.fixture
def request_(world: World, sample: Payload) -> CallbackRequest:
    """The callback request the reconciler queued for the sample's new ticket."""
    world.sync(sample)
    [queued] = world.outbox.queued
    return queued


def test_the_first_confirmation_is_sent_once_and_recorded(
    world: World, request_: CallbackRequest, incident_id: str
) -> None:
    # Given a queued callback request for a new ticket, 2.5 s after ingest received it
    world.clock.advance(2.5)
    # When it is confirmed
    outcome = world.confirmer.confirm(request_)
    # Then BigPanda is told once, and the confirmation is recorded on the ticket state
    assert outcome.sent
    assert world.bigpanda.confirmed == [incident_id]
    assert world.ledger.confirmed_at(incident_id) == world.clock()


def test_the_latency_is_measured_from_the_webhooks_receipt(
    world: World, request_: CallbackRequest
) -> None:
    # Given a callback request whose version ingest received 2.5 s ago
    world.clock.advance(2.5)
    # When it is confirmed
    outcome = world.confirmer.confirm(request_)
    # Then the latency is the time from that receipt to BigPanda's acceptance
    assert outcome.latency == timedelta(seconds=2.5)


def test_a_second_message_for_a_confirmed_ticket_sends_nothing(
    world: World, request_: CallbackRequest, incident_id: str
) -> None:
    # Given a confirmed ticket
    world.confirmer.confirm(request_)
    # When its callback request is delivered again
    outcome = world.confirmer.confirm(request_)
    # Then BigPanda is not called again, and no latency is reported twice
    assert (outcome.sent, outcome.latency) == (False, None)
    assert world.bigpanda.confirmed == [incident_id]


@pytest.mark.parametrize(
    "refusal",
    [
        RetryableError("503 from BigPanda", retry_after=3),
        PermanentError("BigPanda refused the User API key", setting="BIGPANDA_SECRET_ID"),
    ],
    ids=["retryable", "permanent"],
)
def test_a_refused_confirmation_is_not_recorded(
    world: World, request_: CallbackRequest, incident_id: str, refusal: Exception
) -> None:
    # Given BigPanda refuses the callback
    world.bigpanda.calls.fail("confirm_ticket", refusal)
    # When it is attempted
    with pytest.raises(type(refusal)) as raised:
        world.confirmer.confirm(request_)
    # Then the error reaches the queue's consumer as it was, and nothing is recorded
    assert raised.value is refusal
    assert world.ledger.confirmed_at(incident_id) is None


def test_a_failure_to_record_after_sending_sends_again_on_retry_today(
    world: World, request_: CallbackRequest, incident_id: str
) -> None:
    """Known gap: BigPanda can hear of a ticket twice. The record follows the call, so a
    failure between them leaves no trace of the confirmation, and the retry sends again."""
    # Given BigPanda accepted the callback, but recording that failed
    world.ledger.calls.fail("record_confirmed", RetryableError("throttled by the table"))
    with pytest.raises(RetryableError):
        world.confirmer.confirm(request_)
    # When the message is retried
    outcome = world.confirmer.confirm(request_)
    # Then BigPanda is told a second time, and this time it is recorded
    assert outcome.sent
    assert world.bigpanda.confirmed == [incident_id, incident_id]
    assert world.ledger.confirmed_at(incident_id) is not None


def test_a_confirmation_for_an_incident_without_ticket_state_is_sent_but_not_recorded_today(
    world: World,
) -> None:
    """The ledger writes only onto an existing ticket state, and the confirmer does not look at
    its refusal: it reports the confirmation as sent all the same."""
    # Given a callback request for an incident ticket sync never saved
    request = CallbackRequest(
        incident_id="unknown", ticket_ref="T-9", received_at=world.clock().isoformat()
    )
    # When it is confirmed
    outcome = world.confirmer.confirm(request)
    # Then BigPanda is told, the outcome says sent, and nothing is recorded
    assert outcome.sent
    assert world.bigpanda.confirmed == ["unknown"]
    assert world.ledger.confirmed_at("unknown") is None
