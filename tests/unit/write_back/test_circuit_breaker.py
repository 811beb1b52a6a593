"""The circuit breaker: more than ``loop_limit`` mirrored writes for one incident in 10
minutes stop its mirroring, whatever the other guards let through."""

from __future__ import annotations

import pytest

from pandabridge.errors import WaitingError
from pandabridge.write_back import Outcome
from tests.unit.write_back.conftest import TwoWay

pytestmark = pytest.mark.usefixtures("ticketed")


def comments(two_way: TwoWay, incident_id: str, count: int) -> list[Outcome]:
    """``count`` different desk comments, each as a new event: a loop the other guards miss."""
    return [
        two_way.apply(incident_id, "commented", comment=f"round {n}").outcome for n in range(count)
    ]


def test_the_breaker_trips_on_a_forced_loop(two_way: TwoWay, incident_id: str) -> None:
    # Given a loop limit of 3
    two_way.rewire(loop_limit=3)
    before = len(two_way.bigpanda.of_kind("comment"))
    # When 5 comments arrive within 10 minutes
    outcomes = comments(two_way, incident_id, 5)
    # Then 3 are mirrored, the 4th trips the breaker, and the 5th finds it open
    assert outcomes == [Outcome.MIRRORED] * 3 + [Outcome.BREAKER_TRIPPED, Outcome.BREAKER_OPEN]
    assert len(two_way.bigpanda.of_kind("comment")) == before + 3
    assert two_way.breaker.opened_at(incident_id) is not None


def test_an_open_breaker_stops_every_kind_of_write(two_way: TwoWay, incident_id: str) -> None:
    two_way.rewire(loop_limit=1)
    comments(two_way, incident_id, 2)
    assert two_way.apply(incident_id, "resolved").outcome is Outcome.BREAKER_OPEN
    assert two_way.bigpanda.of_kind("resolve") == []


def test_writes_spread_over_windows_do_not_trip_it(two_way: TwoWay, incident_id: str) -> None:
    # Given a loop limit of 3, and 3 comments
    two_way.rewire(loop_limit=3)
    comments(two_way, incident_id, 3)
    # When 3 more come 10 minutes later
    two_way.world.clock.advance(600)
    outcomes = comments(two_way, incident_id, 3)
    # Then all are mirrored
    assert outcomes == [Outcome.MIRRORED] * 3
    assert two_way.breaker.opened_at(incident_id) is None


def test_writes_that_waited_for_the_rate_limit_count_once(
    two_way: TwoWay, incident_id: str
) -> None:
    # Given a loop limit of 3, and BigPanda's rate limit full for the next 5 attempts
    two_way.rewire(loop_limit=3)
    two_way.bigpanda.throttled = 5
    event = two_way.event(incident_id, "commented", comment="disk replaced")
    # When the event is retried until it goes through, as the queue retries it
    for _ in range(5):
        with pytest.raises(WaitingError):
            two_way.mirror.apply(event)
    report = two_way.mirror.apply(event)
    # Then it was one write, and the breaker stayed closed
    assert report.outcome is Outcome.MIRRORED
    assert two_way.breaker.opened_at(incident_id) is None
