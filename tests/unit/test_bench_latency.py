"""The latency benchmark's arithmetic: the send plan, percentiles, what "keeps up" means, the
ceiling search and the reading of the stack's log lines. Nothing is timed here."""

from __future__ import annotations

import math

from bench import latency
from bench.latency import Send, Step


def step(rate: float, callback_ms: list[float], *, achieved: float | None = None) -> Step:
    """A step whose new incidents were confirmed ``callback_ms`` after they were sent."""
    sends, times = [], {}
    spacing = 1 / (achieved or rate)
    for n, ms in enumerate(callback_ms):
        send = Send(f"i-{n}", new=True, bump=0, sent=n * spacing, answered=n * spacing, status=200)
        sends.append(send)
        if math.isfinite(ms):
            times[send.incident_id] = {"sent": send.sent, "confirmed": send.sent + ms / 1000}
    result = Step(rate, 10, sends, 1.0, 60, {}, 10.0)
    result.times = times
    return result


def test_the_plan_mixes_updates_of_earlier_incidents_into_new_ones() -> None:
    sends = latency.plan(10, 10, "t")
    new = [s for s in sends if s.new]
    updates = [s for s in sends if not s.new]
    assert len(sends) == 100
    assert len({s.incident_id for s in new}) == len(new)
    assert len(updates) == pytest_approx_share(len(sends), latency.UPDATE_EVERY)
    position = {s.incident_id: n for n, s in enumerate(sends) if s.new}
    for n, update in enumerate(sends):
        if not update.new:
            assert n - position[update.incident_id] >= 10  # sent a second before, at 10/s
            assert update.bump >= 1


def pytest_approx_share(total: int, every: int) -> int:
    # The first second has nothing to update yet.
    return (total - 10) // every


def test_percentiles_put_unseen_events_last() -> None:
    values = [float(n) for n in range(1, 100)] + [math.inf]
    assert latency.percentile(values, 50) == 50
    assert latency.percentile(values, 99) == 99
    assert math.isinf(latency.percentile([*values, math.inf], 99))
    assert math.isnan(latency.percentile([], 50))


def test_a_flat_step_keeps_up_and_a_growing_one_does_not() -> None:
    assert step(10, [300.0] * 50).kept_up()
    growing = step(10, [300.0 + 200 * n for n in range(50)])
    assert growing.growing()
    assert not growing.kept_up()


def test_a_step_whose_senders_fell_behind_or_lost_incidents_does_not_keep_up() -> None:
    assert not step(10, [300.0] * 50, achieved=8).kept_up()
    assert not step(10, [*([300.0] * 49), math.inf]).kept_up()


def test_the_ceiling_search_goes_up_from_a_held_top_rate() -> None:
    tried: list[float] = []

    def measure_at(rate: float) -> Step:
        tried.append(rate)
        return step(rate, [300.0] * 20 if rate < 200 else [300.0 + 300 * n for n in range(20)])

    steps = latency.search_ceiling([step(1, [300.0] * 5), step(50, [300.0] * 20)], measure_at)
    assert tried == [100, 200]
    assert [s.rate for s in steps] == [1, 50, 100, 200]


def test_the_ceiling_search_goes_down_between_the_held_and_failed_rates() -> None:
    tried: list[float] = []

    def measure_at(rate: float) -> Step:
        tried.append(rate)
        return step(rate, [300.0] * 20 if rate <= 15 else [300.0 + 300 * n for n in range(20)])

    failing = step(50, [300.0 + 300 * n for n in range(20)])
    latency.search_ceiling([step(1, [300.0] * 5), step(10, [300.0] * 20), failing], measure_at)
    assert tried == [35, 25, 15]


def test_busy_time_is_read_from_the_stacks_log_lines() -> None:
    lines = [
        "  ok   webhook    created incident try-0 version [1, 2, 3]  (HTTP 200, 262 ms)\n",
        "  !    webhook    HTTP 422: invalid webhook payload  (15 bytes in, 13 ms)\n",
        "  20:08:49  poller  bigpanda-webhook-ticket-sync: 5 in, 0 failed (729 ms)\n",
        "  20:08:49  poller  bigpanda-webhook-callback: 1 in, 0 failed (11 ms)\n",
        "  ok   ticket     created T-1 for incident try-0  (511 ms after the webhook)\n",
    ]
    assert latency.busy_ms(lines) == {"ingest": 275, "ticket-sync": 729, "callback": 11}


def test_the_tables_render_with_ratios_against_the_target() -> None:
    steps = [step(1, [200.0] * 5), step(10, [900.0] * 50), step(50, [6000.0] * 50)]
    text = latency.latency_table(steps, quick=True).text()
    assert "0.45x" in text
    assert "met" in text
    assert "Ceiling on this machine: 10/s" in latency.ceiling_table(steps).text()
