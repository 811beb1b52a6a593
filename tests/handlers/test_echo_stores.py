"""The echo ledger and the circuit breaker keep their items in the control table, on moto's
DynamoDB: taken once, expired by their own clock, counted atomically."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local.names import CONTROL_TABLE
from pandabridge.names import Limits
from pandabridge.stores.echo import DynamoCircuitBreaker, DynamoEchoLedger
from pandabridge.write_back import Side
from tests.handlers.conftest import Aws

AT = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
TABLE = CONTROL_TABLE.local_name


class Clock:
    def __init__(self) -> None:
        self.now = AT.timestamp()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def dynamodb(aws: Aws) -> Any:
    return aws.dynamodb


@pytest.fixture
def ledger(dynamodb: Any, clock: Clock) -> DynamoEchoLedger:
    return DynamoEchoLedger(TABLE, dynamodb, clock=clock)


@pytest.fixture
def breaker(dynamodb: Any, clock: Clock) -> DynamoCircuitBreaker:
    return DynamoCircuitBreaker(TABLE, dynamodb, clock=clock)


def test_a_recorded_write_is_taken_once(ledger: DynamoEchoLedger) -> None:
    # Given our comment recorded on the BigPanda side
    ledger.record("inc-1", Side.BIGPANDA, "comment:abc")
    # When its echo is taken twice, and looked for on the other side
    # Then only the first take finds it
    assert ledger.take("inc-1", Side.DESK, "comment:abc") is False
    assert ledger.take("inc-1", Side.BIGPANDA, "comment:abc") is True
    assert ledger.take("inc-1", Side.BIGPANDA, "comment:abc") is False


def test_an_expired_write_is_no_echo(ledger: DynamoEchoLedger, clock: Clock) -> None:
    # Given a write recorded longer ago than the ledger's TTL (DynamoDB deletes late)
    ledger.record("inc-1", Side.DESK, "status:resolved")
    clock.now += Limits.ECHO_LEDGER_TTL_SECONDS + 1
    # Then it no longer matches
    assert ledger.take("inc-1", Side.DESK, "status:resolved") is False


def test_an_applied_event_is_remembered(ledger: DynamoEchoLedger) -> None:
    assert ledger.applied("inc-1", "evt-1") is False
    ledger.mark_applied("inc-1", "evt-1")
    assert ledger.applied("inc-1", "evt-1") is True
    assert ledger.applied("inc-2", "evt-1") is False


def test_writes_are_counted_per_incident_and_window(breaker: DynamoCircuitBreaker) -> None:
    assert breaker.writes("inc-1", AT) == 0
    counts = [breaker.count_write("inc-1", AT) for _ in range(3)]
    assert counts == [1, 2, 3]
    assert breaker.writes("inc-1", AT) == 3
    assert breaker.count_write("inc-2", AT) == 1
    assert breaker.count_write("inc-1", AT + timedelta(seconds=Limits.LOOP_WINDOW_SECONDS)) == 1


def test_an_open_breaker_keeps_its_first_opening_until_it_expires(
    breaker: DynamoCircuitBreaker, clock: Clock
) -> None:
    # Given a breaker opened, then opened again later
    breaker.open("inc-1", AT, 11)
    breaker.open("inc-1", AT + timedelta(minutes=5), 12)
    # Then it shows the first opening
    assert breaker.opened_at("inc-1") == AT
    assert breaker.opened_at("inc-2") is None
    # And once its time is up it is closed
    clock.now += Limits.BREAKER_OPEN_SECONDS + 1
    assert breaker.opened_at("inc-1") is None


def test_an_operator_closes_the_breaker(breaker: DynamoCircuitBreaker) -> None:
    breaker.open("inc-1", AT, 11)
    breaker.close("inc-1")
    assert breaker.opened_at("inc-1") is None
