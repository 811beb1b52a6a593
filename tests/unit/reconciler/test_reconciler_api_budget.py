"""The reconciler's BigPanda API calls per run at 1,000 incidents a day: its share of the org's
150 requests a minute, which callbacks and write-back share (``pandabridge.rate_limit``).

A simulated day: 1,000 incidents shared to us, each changed four times (new, two updates,
resolved) at even intervals, one delivery in a hundred lost; a run every 5 minutes with a 300 s
overlap and the default page of 100. Optionally as many incidents again that BigPanda shares
elsewhere in the same environment (an environment, or "All", shared by several channels): each
of their changes costs one activities call.
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import mean

import pytest

from pandabridge.names import Limits
from tests.unit.reconciler.conftest import PERIOD_MINUTES, RecoveryWorld, webhook_of
from tests.unit.reconciler.memory_bigpanda import OTHER_SHARE_TARGET

DAY = 24 * 3600
PERIOD = PERIOD_MINUTES * 60
CHANGES_PER_INCIDENT = 4
MISSED_ONE_IN = 100
ORG_REQUESTS_PER_MINUTE = 150  # BigPanda's Incidents API limit per org


@dataclass(frozen=True)
class DayOfRuns:
    calls_per_run: list[int]
    recovered: int
    missed: int

    @property
    def mean(self) -> float:
        return mean(self.calls_per_run)

    @property
    def busiest(self) -> int:
        return max(self.calls_per_run)


def simulate_day(*, ours_per_day: int, others_per_day: int) -> DayOfRuns:
    """One day of changes and runs; the calls each run made, and what it recovered."""
    recovery = RecoveryWorld(page_size=Limits.RECONCILE_SEARCH_PAGE_SIZE)
    changes = sorted(
        [(at, "ours", n) for at, n in _spread(ours_per_day, offset=0)]
        + [(at, "other", n) for at, n in _spread(others_per_day, offset=7)]
    )
    start = recovery.epoch()
    recovery.reconciler.run([recovery.scope])  # the first watermark
    calls, recovered, missed, next_run, done = [], 0, 0, PERIOD, 0
    for at, whose, n in changes:
        while at >= next_run:
            recovery.wait(start + next_run - recovery.epoch())
            before = recovery.bigpanda.api_calls
            recovered += len(recovery.reconciler.run([recovery.scope]).recovered)
            calls.append(recovery.bigpanda.api_calls - before)
            next_run += PERIOD
        recovery.wait(start + at - recovery.epoch())
        if whose == "other":
            recovery.bigpanda.change(f"other-{n}", shared_to=OTHER_SHARE_TARGET)
            continue
        v2 = recovery.bigpanda.change(f"inc-{n}")
        done += 1
        if done % MISSED_ONE_IN == 0:
            missed += 1
        else:
            recovery.world.store(webhook_of(v2))
    recovery.wait(start + next_run - recovery.epoch())
    recovered += len(recovery.reconciler.run([recovery.scope]).recovered)  # the day's last
    return DayOfRuns(calls, recovered, missed)


def _spread(incidents: int, *, offset: int) -> list[tuple[int, int]]:
    """(second of the day, incident number) of every change, evenly apart."""
    total = incidents * CHANGES_PER_INCIDENT
    return [(DAY * i // total + offset, i % incidents) for i in range(total)]


@pytest.fixture(scope="module")
def our_day() -> DayOfRuns:
    return simulate_day(ours_per_day=1_000, others_per_day=0)


def test_a_day_at_1000_incidents_costs_about_one_search_per_run(our_day: DayOfRuns) -> None:
    # Given a day of 1,000 incidents of ours, 1% of deliveries lost
    # When the reconciler runs every 5 minutes
    # Then a run makes one search, plus a fetch per missed change: a few calls at most
    assert our_day.recovered == our_day.missed
    assert our_day.mean < 1.2
    assert our_day.busiest <= 3


def test_incidents_shared_elsewhere_cost_an_activities_call_per_window() -> None:
    # Given as many incidents again that BigPanda shares to another channel
    day = simulate_day(ours_per_day=1_000, others_per_day=1_000)
    # When the reconciler runs every 5 minutes
    # Then each of their changes is looked up once, though two windows hold it, which stays
    # far below the org's 150 a minute
    assert day.recovered == day.missed
    assert 10 < day.mean < 20
    assert day.busiest < ORG_REQUESTS_PER_MINUTE // 3
