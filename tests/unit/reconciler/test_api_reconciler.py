"""Specifications of the API reconciler (``pandabridge.reconcile``) over in-memory fakes of
BigPanda's Incidents API v2, the watermarks, the incident store, ticket sync and callbacks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from pandabridge.errors import PermanentError, RetryableError, WaitingError
from pandabridge.identity import IncidentKey
from pandabridge.incidents import IngestResult
from pandabridge.names import Limits
from pandabridge.reconcile import IngestPath
from pandabridge.v2_mapping import webhook_body
from tests.unit.reconciler.conftest import OVERLAP_SECONDS, PERIOD_MINUTES, RecoveryWorld
from tests.unit.reconciler.memory_bigpanda import ALL_ID, OTHER_SHARE_TARGET

PERIOD = PERIOD_MINUTES * 60
DAY = 24 * 3600


def test_a_dropped_delivery_is_recovered_once_with_its_ticket_and_callback(
    recovery: RecoveryWorld,
) -> None:
    # Given BigPanda shared a new incident to us, but the delivery never arrived
    recovery.bigpanda.change("inc-1")
    recovery.wait(30)
    # When the reconciler runs, and again a period later
    first = recovery.reconcile()
    recovery.wait(PERIOD)
    second = recovery.reconcile()
    # Then the incident was recovered by the first run only, marked so, with one ticket and
    # one callback
    assert first.recovered == ["inc-1"]
    assert second.recovered == []
    assert recovery.world.book.latest["inc-1"].summary.recovered is True
    assert recovery.tickets_created == 1
    assert recovery.callbacks_queued == 1


def test_a_newer_change_than_the_stored_one_is_fetched_with_alerts_and_stored(
    recovery: RecoveryWorld,
) -> None:
    # Given the webhook delivered an incident, then BigPanda resolved it and that delivery was lost
    recovery.deliver(recovery.bigpanda.change("inc-1"))
    recovery.wait(60)
    recovery.bigpanda.change("inc-1", status="ok", active=False)
    recovery.wait(30)
    # When the reconciler runs
    report = recovery.reconcile()
    # Then it fetched the incident with its alerts and stored the resolved version
    assert ("get_incident", "prod", "inc-1") in recovery.bigpanda.calls.log
    assert report.recovered == ["inc-1"]
    stored = recovery.world.book.latest["inc-1"]
    assert stored.summary.resolved is True
    assert stored.summary.alert_count == 1
    assert recovery.tickets_created == 1


def test_an_incident_stored_at_its_latest_change_costs_no_fetch(recovery: RecoveryWorld) -> None:
    # Given every change of an incident was delivered
    recovery.deliver(recovery.bigpanda.change("inc-1"))
    recovery.wait(30)
    # When the reconciler runs
    report = recovery.reconcile()
    # Then it searched once and fetched nothing
    assert report.up_to_date == 1
    assert report.recovered == []
    assert recovery.bigpanda.calls.count("search_incidents") == 1
    assert recovery.bigpanda.api_calls == 1


def test_an_incident_never_shared_to_us_is_not_ticketed(recovery: RecoveryWorld) -> None:
    # Given an incident in our environment that BigPanda shared to another channel only
    recovery.bigpanda.change("inc-other", shared_to=OTHER_SHARE_TARGET)
    recovery.wait(30)
    # When the reconciler runs
    report = recovery.reconcile()
    # Then it looked at the incident's shares, stored nothing, and no ticket was made
    assert report.not_shared == ["inc-other"]
    assert recovery.bigpanda.calls.count("activities") == 1
    assert recovery.bigpanda.calls.count("get_incident") == 0
    assert "inc-other" not in recovery.world.book.latest
    assert recovery.tickets_created == 0


def test_without_a_share_target_an_incident_never_stored_is_never_taken(
    make_recovery: Callable[..., RecoveryWorld],
) -> None:
    # Given no share target is configured
    recovery = make_recovery(share_target=None)
    recovery.bigpanda.change("inc-1")
    recovery.wait(30)
    # When the reconciler runs
    report = recovery.reconcile()
    # Then the incident is not taken, and its activities were not even read
    assert report.not_shared == ["inc-1"]
    assert recovery.bigpanda.calls.count("activities") == 0


def test_overlapping_windows_leave_no_gap_for_a_change_searchable_late(
    recovery: RecoveryWorld,
) -> None:
    # Given BigPanda's search shows a change only 60 s after it happened
    recovery.bigpanda.lag = 60
    recovery.reconcile()  # the watermark is set
    recovery.wait(PERIOD - 10)
    recovery.bigpanda.change("inc-late")  # 10 s before the next run: not yet searchable
    recovery.wait(10)
    # When the next run misses it, and the one after runs
    missed = recovery.reconcile()
    recovery.wait(PERIOD)
    found = recovery.reconcile()
    # Then the overlap found it in the later run
    assert missed.recovered == []
    assert found.recovered == ["inc-late"]
    assert recovery.bigpanda.lag <= OVERLAP_SECONDS


def test_a_change_inside_two_overlapping_windows_is_recovered_once(
    recovery: RecoveryWorld,
) -> None:
    # Given a missed change just before a run, so it lies in that window and the next
    recovery.reconcile()
    recovery.wait(PERIOD - 5)
    recovery.bigpanda.change("inc-1")
    recovery.wait(5)
    # When two runs search windows that both hold it
    first = recovery.reconcile()
    recovery.wait(PERIOD)
    second = recovery.reconcile()
    # Then the first recovers it and the second finds it up to date, without fetching it
    assert first.recovered == ["inc-1"]
    assert (second.recovered, second.up_to_date) == ([], 1)
    assert recovery.bigpanda.calls.count("get_incident") == 1
    assert recovery.tickets_created == 1


def test_a_day_of_runs_recovers_every_missed_change_exactly_once(
    recovery: RecoveryWorld,
) -> None:
    # Given a day of changes at uneven times, every third delivery lost
    delivered, missed = 0, []
    for n in range(60):
        recovery.wait(37 + (n * 53) % 400)
        v2 = recovery.bigpanda.change(f"inc-{n % 20}")
        if n % 3:
            recovery.deliver(v2, "incident#updated")
            delivered += 1
        else:
            missed.append(v2["id"])
        if n % 4 == 0:
            recovery.reconcile()
    # When the reconciler has run once more after the last change
    recovery.wait(30)
    recovery.reconcile()
    # Then every incident is stored at BigPanda's latest change, with one ticket each
    for incident_id, incident in recovery.bigpanda.incidents.items():
        stored = recovery.world.book.latest[incident_id].summary.version
        assert stored.changed_on == incident["changed_at"], incident_id
    assert recovery.tickets_created == len(recovery.bigpanda.incidents)
    assert recovery.callbacks_queued == len(recovery.bigpanda.incidents)
    assert delivered
    assert missed


def test_the_reconciler_storing_a_version_the_webhook_delivered_makes_no_second_ticket(
    recovery: RecoveryWorld,
) -> None:
    # Given the webhook delivered a version, ticketed and called back, while the reconciler,
    # having searched before it was stored, fetched the same version
    v2 = recovery.bigpanda.change("inc-1")
    recovery.deliver(v2)
    # When the reconciler injects that version
    result = IngestPath(recovery.world.book).inject(
        "default", webhook_body(v2, environment_id="prod")
    )
    # Then it is stale: nothing is stored, so ticket sync is not nudged
    assert result is IngestResult.STALE
    assert recovery.world.book.latest["inc-1"].summary.recovered is False
    assert recovery.tickets_created == 1
    assert recovery.callbacks_queued == 1


def test_the_webhook_delivering_a_version_the_reconciler_recovered_makes_no_second_ticket(
    recovery: RecoveryWorld,
) -> None:
    # Given the reconciler recovered a version whose delivery was late, not lost
    v2 = recovery.bigpanda.change("inc-1")
    recovery.wait(30)
    recovery.reconcile()
    # When the late delivery of that same version arrives and ticket sync runs on it
    recovery.deliver(v2)
    # Then the webhook's version replaces the recovered one, and the ticket is the same one,
    # confirmed to BigPanda once
    assert recovery.world.book.latest["inc-1"].summary.recovered is False
    assert recovery.tickets_created == 1
    assert recovery.callbacks_queued == 1


def test_a_search_that_answers_500_falls_back_to_all(recovery: RecoveryWorld) -> None:
    # Given our environment uses incident tags, so BigPanda's search of it answers 500
    recovery.bigpanda.tag_environments.add("prod")
    recovery.bigpanda.change("inc-1")
    recovery.wait(30)
    # When the reconciler runs
    report = recovery.reconcile()
    # Then it searched "All" instead, recovered the incident and completed the environment
    assert report.fell_back == ["default/prod"]
    assert ("search_incidents", ALL_ID, 1) in recovery.bigpanda.calls.log
    assert report.recovered == ["inc-1"]
    assert report.completed == ["default/prod"]
    assert report.stopped is None


@pytest.mark.parametrize(
    ("method", "passing", "error", "stored_before_stop"),
    [
        ("search_incidents", 1, RetryableError("search answered 429"), 3),
        ("get_incident", 2, RetryableError("get answered 503"), 2),
        ("activities", 3, RetryableError("activities answered 502"), 3),
        ("get_incident", 1, WaitingError("the org's API window is full", retry_after=20), 1),
    ],
    ids=["search-429-on-page-2", "get-503", "activities-502", "rate-limiter"],
)
def test_a_throttled_or_failing_bigpanda_stops_the_run_and_loses_nothing(
    recovery: RecoveryWorld, method: str, passing: int, error: Exception, stored_before_stop: int
) -> None:
    # Given five missed incidents (two search pages), and BigPanda failing mid-run
    recovery.reconcile()
    mark = recovery.watermarks.get("default", "prod")
    for n in range(5):
        recovery.wait(10)
        recovery.bigpanda.change(f"inc-{n}")
    recovery.wait(30)
    recovery.bigpanda.calls.planned[method] = [None] * passing  # type: ignore[list-item]
    recovery.bigpanda.calls.fail(method, error)
    # When the run meets the failure, and the next run follows a period later
    stopped = recovery.reconcile()
    mark_after_stop = recovery.watermarks.get("default", "prod")
    recovery.wait(PERIOD)
    resumed = recovery.reconcile()
    # Then the failed run stopped where it was, after storing what it had fetched, without
    # moving the watermark; the next run recovered the rest; nothing was lost or doubled
    assert stopped.stopped == str(error) or stopped.stopped == f"rate limit: {error}"
    assert stopped.completed == []
    assert mark_after_stop == mark
    assert len(stopped.recovered) == stored_before_stop
    assert sorted(stopped.recovered + resumed.recovered) == [f"inc-{n}" for n in range(5)]
    assert recovery.tickets_created == 5
    assert recovery.callbacks_queued == 5


def test_a_refused_api_key_stops_the_run_naming_the_setting(recovery: RecoveryWorld) -> None:
    # Given BigPanda refuses the User API key
    recovery.bigpanda.calls.fail(
        "search_incidents", PermanentError("BigPanda answered 401", setting="key_secret")
    )
    # When the reconciler runs
    report = recovery.reconcile()
    # Then the run stopped and says which setting to fix
    assert report.stopped == "BigPanda answered 401"
    assert report.setting == "key_secret"
    assert recovery.watermarks.get("default", "prod") is None


def test_environments_after_a_completed_one_keep_its_watermark_when_the_run_stops(
    make_recovery: Callable[..., RecoveryWorld],
) -> None:
    # Given two environments, and BigPanda throttling the search of the second
    recovery = make_recovery(environments=("prod", "stage"))
    recovery.bigpanda.change("inc-p", environment="prod")
    recovery.bigpanda.change("inc-s", environment="stage")
    recovery.wait(30)
    recovery.bigpanda.calls.planned["search_incidents"] = [None]  # type: ignore[list-item]
    recovery.bigpanda.calls.fail("search_incidents", RetryableError("429"), times=2)
    # When the reconciler runs
    report = recovery.reconcile()
    # Then the first environment completed and moved its watermark; the second did not
    assert report.completed == ["default/prod"]
    assert recovery.watermarks.get("default", "prod") == int(recovery.epoch())
    assert recovery.watermarks.get("default", "stage") is None


def test_the_first_run_looks_back_one_period_and_the_overlap(recovery: RecoveryWorld) -> None:
    # Given no watermark yet
    now = int(recovery.epoch())
    # When the reconciler runs
    recovery.reconcile()
    # Then its search started one period plus the overlap ago, and ended now, the new watermark
    assert recovery.bigpanda.windows == [("prod", now - PERIOD - OVERLAP_SECONDS, now)]
    assert recovery.watermarks.get("default", "prod") == now


def test_an_incident_in_two_environments_is_handled_once_per_run(
    make_recovery: Callable[..., RecoveryWorld],
) -> None:
    # Given an environment and "All", which holds the same incident
    recovery = make_recovery(environments=("prod", "All"))
    recovery.bigpanda.change("inc-1")
    recovery.wait(30)
    # When the reconciler runs
    report = recovery.reconcile()
    # Then the incident was fetched once, and "All" was found by its name once
    assert report.recovered == ["inc-1"]
    assert recovery.bigpanda.calls.count("environments") == 1
    assert ("search_incidents", ALL_ID, 1) in recovery.bigpanda.calls.log
    assert recovery.bigpanda.calls.count("get_incident") == 1
    assert recovery.bigpanda.calls.count("activities") == 1


def test_an_incident_found_not_shared_is_not_looked_up_again_for_the_same_change(
    recovery: RecoveryWorld,
) -> None:
    # Given an incident BigPanda shared elsewhere, looked up by one run
    recovery.bigpanda.change("inc-other", shared_to=OTHER_SHARE_TARGET)
    recovery.wait(30)
    recovery.reconcile()
    # When the next run's overlapping window holds the same change
    recovery.wait(PERIOD)
    again = recovery.reconcile()
    # Then its activities were read once only
    assert again.not_shared == ["inc-other"]
    assert recovery.bigpanda.calls.count("activities") == 1


def test_a_run_stopped_by_the_rate_limit_still_makes_progress_for_the_next(
    recovery: RecoveryWorld,
) -> None:
    # Given five incidents shared elsewhere, and the org's rate limit full after three lookups
    for n in range(5):
        recovery.bigpanda.change(f"other-{n}", shared_to=OTHER_SHARE_TARGET)
    recovery.wait(30)
    recovery.bigpanda.calls.planned["activities"] = [None] * 3  # type: ignore[list-item]
    recovery.bigpanda.calls.fail("activities", WaitingError("window full", retry_after=30))
    # When the run stops, and the next one searches the same window
    stopped = recovery.reconcile()
    recovery.wait(PERIOD)
    resumed = recovery.reconcile()
    # Then the next run looks up only the two it had not: each run gets further
    assert stopped.stopped is not None
    assert resumed.stopped is None
    assert recovery.bigpanda.calls.count("activities") == 3 + 1 + 2


def test_a_throttled_first_search_does_not_fall_back_to_all(recovery: RecoveryWorld) -> None:
    # Given BigPanda answers the environment's search with 429 (the API's WaitingError)
    recovery.bigpanda.change("inc-1")
    recovery.wait(30)
    recovery.bigpanda.calls.fail("search_incidents", WaitingError("429", retry_after=20))
    # When the reconciler runs
    report = recovery.reconcile()
    # Then it stops without searching "All", which would be throttled as well
    assert report.fell_back == []
    assert report.stopped == "rate limit: 429"
    assert recovery.bigpanda.calls.count("search_incidents") == 1


def test_each_integration_stores_what_it_recovers_under_its_own_key(
    recovery: RecoveryWorld,
) -> None:
    # Given the integrations "default" and "ops", both shared the same BigPanda incident id
    recovery.bigpanda.change("inc-1")
    recovery.wait(30)
    ops = replace(
        recovery.scope,
        integration="ops",
        storage_key=lambda incident_id: IncidentKey("ops", incident_id).storage_key,
    )
    # When one run reconciles both
    report = recovery.reconciler.run([recovery.scope, ops])
    # Then each stored its own incident, under its own storage key and watermark
    assert report.recovered == ["inc-1", "ops#inc-1"]
    assert recovery.world.book.latest["ops#inc-1"].summary.integration == "ops"
    assert recovery.watermarks.get("ops", "prod") == recovery.watermarks.get("default", "prod")


def test_after_a_long_pause_runs_catch_up_one_bounded_window_at_a_time(
    recovery: RecoveryWorld,
) -> None:
    # Given a watermark two days old (the reconciler was switched off), and a change missed
    # a day ago
    start = int(recovery.epoch())
    recovery.watermarks.advance("default", "prod", start)
    recovery.wait(DAY)
    recovery.bigpanda.change("inc-old")
    recovery.wait(DAY)
    # When runs follow, each a period after the last
    reports = []
    for _ in range(DAY * 2 // Limits.RECONCILE_MAX_WINDOW_SECONDS + 1):
        reports.append(recovery.reconcile())
        recovery.wait(PERIOD)
    # Then no search spans more than the bounded window, the watermark caught up, and the
    # missed change was recovered once
    widths = [until - since for _env, since, until in recovery.bigpanda.windows]
    assert max(widths) <= Limits.RECONCILE_MAX_WINDOW_SECONDS + OVERLAP_SECONDS
    assert sum(len(r.recovered) for r in reports) == 1
    mark = recovery.watermarks.get("default", "prod")
    assert mark is not None
    assert mark >= int(recovery.epoch()) - 2 * PERIOD


def test_the_all_environment_is_looked_up_once_for_the_runs_of_a_warm_function(
    make_recovery: Callable[..., RecoveryWorld],
) -> None:
    # Given an integration that searches "All" (the default)
    recovery = make_recovery(environments=("All",))
    # When one reconciler (a warm function) runs three times
    for _ in range(3):
        recovery.reconcile()
        recovery.wait(PERIOD)
    # Then it asked BigPanda for the environments once: each later run is one search
    assert recovery.bigpanda.calls.count("environments") == 1
    assert recovery.bigpanda.calls.count("search_incidents") == 3
