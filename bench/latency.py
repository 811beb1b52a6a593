"""Benchmark 4: the latency users feel, on the local stack.

BigPanda holds an incident's share until the callback says a ticket exists, so the number that
matters is webhook -> callback confirmed (target: p99 under 2 s at 10 webhooks/s). Each step
starts a fresh ``python -m local`` (so one step's backlog cannot slow the next), warms it up,
then sends webhooks open-loop: every send has a due time, and a few sender threads share the
schedule, so a slow answer does not lower the rate as a one-after-another client would. One in
five sends is an update of an incident sent a second earlier (a realistic mix that also costs
ticket sync a PATCH); latency is measured on the new incidents only.

The times come from the stack itself: ingest's ``received_at`` (incidents table), the demo
desk's ``created_at`` of each ticket, and the tickets table's ``create_attempted_at``,
``callback_enqueued_at`` and ``callback_confirmed_at`` (written right after BigPanda's stand-in
answered 2xx). All processes share this machine's clock. The stack's own log lines give each
single-threaded stage's busy time (the gateway's ingest turns, and the ticket-sync and callback
pollers), which says which stage saturates first.

The throughput ceiling steps the rate up from the highest rate if it kept up, else down
between the highest that kept up and the lowest that did not, until the answer changes: a
step keeps up when the senders held the rate, nothing failed, every new incident was
confirmed within the drain allowance with a p99 under 5 s, and the last sends' callback
latency is not growing against the first ones'.
"""

from __future__ import annotations

import copy
import json
import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import urllib3

from bench.machine import load_average
from bench.report import Table

REPO_ROOT: Final = Path(__file__).resolve().parents[1]
SAMPLE: Final = REPO_ROOT / "events" / "sample.json"

RATES: Final = (1, 10, 50)
SECONDS: Final = 30.0
QUICK_SECONDS: Final = 4.0
CEILING_UP: Final = (100, 200, 400)
CEILING_DOWN: Final = (35, 25, 15, 8, 6, 4, 2)
CEILING_SECONDS: Final = 10.0
QUICK_CEILING_SECONDS: Final = 3.0
TARGET_RATE: Final = 10
TARGET_P99_MS: Final = 2000.0
# Every fifth webhook updates an incident sent at least this long before.
UPDATE_EVERY: Final = 5
UPDATE_AFTER_SECONDS: Final = 1.0
MAX_SENDERS: Final = 128
ANSWER_ALLOWANCE_SECONDS: Final = 1.0
WARMUP_INCIDENTS: Final = 3
ROUND_TRIPS: Final = 9
WARMUP_SECONDS: Final = 15.0
# How long the pipeline may take to confirm the step's last incidents after sending stops.
DRAIN_SECONDS: Final = 180.0
QUICK_DRAIN_SECONDS: Final = 30.0
DRAIN_POLL_SECONDS: Final = 1.0
# Held rate: the senders' achieved rate is at least this share of the requested one.
HELD_SHARE: Final = 0.95
# Growing backlog: the last fifth's median callback latency is above this multiple of the
# first fifth's plus the slack (a flat pipeline keeps them close).
GROWTH_FACTOR: Final = 2.0
GROWTH_SLACK_MS: Final = 500.0
# A rate the pipeline "keeps up with" also confirms 99% of new incidents within this.
KEEP_UP_P99_MS: Final = 5000.0

# The journey's line of each delivery (its note ends in the gateway's milliseconds) and the
# pollers' batch lines.
_BUSY_LINE: Final = re.compile(
    r"(?:webhook\s.*\((?:.*, )?|poller\s+(?P<poller>\S+): (?P<count>\d+) in.*\()"
    r"(?P<ms>\d+) ms\)\s*$"
)

BUSY: Final = ("ingest", "ticket-sync", "callback")
# The stages of one new incident, each between two consecutive timestamps.
STAGES: Final = (
    ("ingest answer", "sent", "answered"),
    ("stream, pipe, queue, sync start", "answered", "attempted"),
    ("desk create", "attempted", "ticket"),
    ("callback queued", "ticket", "enqueued"),
    ("callback queue + call", "enqueued", "confirmed"),
)


@dataclass
class Send:
    """One webhook: when it was due, sent and answered (wall clock, seconds)."""

    incident_id: str
    new: bool
    bump: int
    due: float = 0.0
    sent: float | None = None
    answered: float | None = None
    status: int | None = None


@dataclass
class Step:
    """One sustained rate on one fresh stack, and what the stack recorded for it."""

    rate: float
    seconds: float
    sends: list[Send]
    drained_after: float | None
    drain_limit: float
    busy_ms: dict[str, float]
    window: float
    cpu_seconds: float = math.nan
    handled: dict[str, int] = field(default_factory=dict)
    keepalive_ms: float = math.nan
    fresh_ms: float = math.nan
    load: str = ""
    times: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def new(self) -> list[Send]:
        return [s for s in self.sends if s.new]

    @property
    def achieved(self) -> float:
        sent = sorted(s.sent for s in self.sends if s.sent is not None)
        if len(sent) < 2:
            return 0.0
        return (len(sent) - 1) / (sent[-1] - sent[0])

    @property
    def errors(self) -> int:
        return sum(1 for s in self.sends if s.status != 200)

    def latencies(self, end: str) -> list[float]:
        """Milliseconds from send to ``end`` per new incident; ``inf`` where it never came."""
        values = []
        for send in self.new:
            at = self.times.get(send.incident_id, {}).get(end)
            start = send.sent
            values.append(math.inf if at is None or start is None else (at - start) * 1000)
        return values

    def stage(self, start: str, end: str) -> list[float]:
        values = []
        for send in self.new:
            times = self.times.get(send.incident_id, {})
            if start in times and end in times:
                values.append((times[end] - times[start]) * 1000)
        return values

    def confirmed(self) -> int:
        return sum(1 for v in self.latencies("confirmed") if math.isfinite(v))

    def growing(self) -> bool:
        values = self.latencies("confirmed")
        fifth = max(1, len(values) // 5)
        first, last = percentile(values[:fifth], 50), percentile(values[-fifth:], 50)
        return last > first * GROWTH_FACTOR + GROWTH_SLACK_MS

    def kept_up(self) -> bool:
        return (
            self.achieved >= self.rate * HELD_SHARE
            and self.errors == 0
            and self.confirmed() == len(self.new)
            and not self.growing()
            and percentile(self.latencies("confirmed"), 99) < KEEP_UP_P99_MS
        )


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank percentile; ``inf`` entries (never happened) sort last, so a p99
    that falls on one says the tail was not even seen."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def run(*, quick: bool = False) -> list[Table]:
    """Measure every rate of ``RATES``, then search for the throughput ceiling."""
    seconds = QUICK_SECONDS if quick else SECONDS
    drain = QUICK_DRAIN_SECONDS if quick else DRAIN_SECONDS
    steps = [measure(rate, seconds, drain) for rate in RATES]
    ceiling_seconds = QUICK_CEILING_SECONDS if quick else CEILING_SECONDS
    ceiling = search_ceiling(steps, lambda rate: measure(rate, ceiling_seconds, drain))
    return [latency_table(steps, quick=quick), stages_table(steps), ceiling_table(ceiling)]


def search_ceiling(steps: Sequence[Step], measure_at: Callable[[float], Step]) -> list[Step]:
    """The sustained-rate steps: up from the highest kept-up rate until one fails, or down
    until one holds when none did."""
    held = [s for s in steps if s.kept_up()]
    tried: list[Step] = list(steps)
    if held and held[-1] is steps[-1]:
        for rate in CEILING_UP:
            tried.append(measure_at(rate))
            if not tried[-1].kept_up():
                break
    else:
        lowest_failed = min(s.rate for s in steps if not s.kept_up())
        highest_held = max((s.rate for s in held), default=0.0)
        for rate in (r for r in CEILING_DOWN if highest_held < r < lowest_failed):
            tried.append(measure_at(rate))
            if tried[-1].kept_up():
                break
    return sorted(tried, key=lambda s: s.rate)


def measure(rate: float, seconds: float, drain: float, env: dict[str, str] | None = None) -> Step:
    """One rate for ``seconds`` on a fresh local stack (``env``: extra environment for it)."""
    from tests.local_stack.harness import StackProcess  # starts `python -m local`

    stack = StackProcess.start("--no-sample", "--log-level", "INFO", env=env)
    try:
        stack.wait_for_output("serving")
        template = json.loads(SAMPLE.read_text(encoding="utf-8"))
        warm_up(stack, template)
        keepalive_ms, fresh_ms = round_trips(stack.bigpanda_url)
        first_line = len(stack.lines)
        tag = f"bench-{int(rate)}-{time.time_ns() % 10**9}"
        sends = plan(rate, seconds, tag)
        cpu_before = process_cpu_seconds(stack.process.pid)
        started = time.time()
        Sender(stack, template, rate, sends).run()
        drained_after = wait_for_callbacks(stack, [s.incident_id for s in sends if s.new], drain)
        # Busy shares are of the time from the first send to the last confirmation (or to
        # the end of the drain allowance).
        window = time.time() - started
        cpu = process_cpu_seconds(stack.process.pid) - cpu_before
        lines = stack.lines[first_line:]
        step = Step(rate, seconds, sends, drained_after, drain, busy_ms(lines), window, cpu)
        step.handled = handled(lines)
        step.keepalive_ms, step.fresh_ms = keepalive_ms, fresh_ms
        step.load = load_average().split(",")[0]  # the last minute's
        step.times = read_times(stack, {s.incident_id for s in step.new}, sends)
        return step
    finally:
        stack.stop()


def plan(rate: float, seconds: float, tag: str) -> list[Send]:
    """The step's webhooks in send order: new incidents, and every ``UPDATE_EVERY``-th an
    update of the newest incident sent ``UPDATE_AFTER_SECONDS`` before it."""
    total = max(2, round(rate * seconds))
    behind = max(1, math.ceil(rate * UPDATE_AFTER_SECONDS))
    sends: list[Send] = []
    bumps: dict[str, int] = {}
    new_at: list[int] = []
    for index in range(total):
        earlier = [i for i in new_at[-behind - 1 :] if i <= index - behind]
        if index % UPDATE_EVERY == UPDATE_EVERY - 1 and earlier:
            target = sends[earlier[-1]].incident_id
            bumps[target] = bumps.get(target, 0) + 1
            sends.append(Send(target, new=False, bump=bumps[target]))
        else:
            new_at.append(index)
            sends.append(Send(f"{tag}-{index}", new=True, bump=0))
    return sends


def webhook_body(template: dict[str, Any], incident_id: str, bump: int) -> bytes:
    """The sample with another id; an update is a newer ``updatedOn``."""
    body = copy.deepcopy(template)
    body["incident"]["id"] = incident_id
    if bump:
        body["incident"]["updatedOn"] = int(body["incident"]["updatedOn"]) + bump
    return json.dumps(body).encode()


def warm_up(stack: Any, template: dict[str, Any]) -> None:
    """A few incidents through the whole pipeline, so that no step pays the handlers'
    imports and first connections (the cold-start benchmark measures those)."""
    ids = [f"warmup-{n}-{time.time_ns()}" for n in range(WARMUP_INCIDENTS)]
    for incident_id in ids:
        stack.post_webhook(webhook_body(template, incident_id, 0))
    if wait_for_callbacks(stack, ids, WARMUP_SECONDS) is None:
        raise RuntimeError(f"the warm-up incidents were not confirmed in {WARMUP_SECONDS:.0f} s")


class Sender:
    """Open-loop load: each webhook goes out at its due time from whichever sender thread is
    free; with too few threads the sends fall behind, which the achieved rate shows."""

    def __init__(
        self, stack: Any, template: dict[str, Any], rate: float, sends: list[Send]
    ) -> None:
        self._stack = stack
        self._template = template
        self._rate = rate
        self._sends = sends
        self._next = 0
        self._lock = threading.Lock()
        # Enough threads to hold the rate while answers take up to a second (an overloaded
        # stack answers slowly), and no more: idle threads only sleep.
        self._threads = min(MAX_SENDERS, max(4, math.ceil(rate * ANSWER_ALLOWANCE_SECONDS)))

    def run(self) -> None:
        start = time.monotonic() + 0.2
        wall = time.time() + 0.2
        for index, send in enumerate(self._sends):
            send.due = wall + index / self._rate
        threads = [
            threading.Thread(target=self._work, args=(start,), daemon=True)
            for _ in range(self._threads)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _work(self, start: float) -> None:
        while True:
            with self._lock:
                index = self._next
                self._next += 1
            if index >= len(self._sends):
                return
            send = self._sends[index]
            body = webhook_body(self._template, send.incident_id, send.bump)
            delay = start + index / self._rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            send.sent = time.time()
            try:
                send.status = self._stack.post_webhook(body).status
            except OSError:
                send.status = None
            send.answered = time.time()


def wait_for_callbacks(stack: Any, incident_ids: Iterable[str], limit: float) -> float | None:
    """Seconds until BigPanda confirmed every one of ``incident_ids``; ``None`` if it had not
    within ``limit``. Reads only the one attribute, to load the moto server little."""
    wanted = set(incident_ids)
    started = time.time()
    dynamodb = _dynamodb(stack)
    while True:
        if wanted <= _confirmed_ids(dynamodb):
            return time.time() - started
        if time.time() - started > limit:
            return None
        time.sleep(DRAIN_POLL_SECONDS)


def read_times(stack: Any, new_ids: set[str], sends: Sequence[Send]) -> dict[str, dict[str, float]]:
    """Each new incident's timestamps (wall clock, seconds), from the stack's own records."""
    from local.aws import aws_client  # the local stack's moto clients
    from local.names import INCIDENTS_TABLE, TICKETS_TABLE
    from pandabridge.stores.dynamo import from_attributes

    times: dict[str, dict[str, float]] = {}
    for send in sends:
        if send.new and send.sent is not None:
            times[send.incident_id] = {"sent": send.sent}
            if send.answered is not None:
                times[send.incident_id]["answered"] = send.answered
    dynamodb = aws_client("dynamodb", stack.aws_endpoint)
    ticket_fields = {
        "attempted": "create_attempted_at",
        "enqueued": "callback_enqueued_at",
        "confirmed": "callback_confirmed_at",
    }
    for page in dynamodb.get_paginator("scan").paginate(TableName=TICKETS_TABLE.local_name):
        for item in map(from_attributes, page.get("Items", [])):
            incident_id = item[TICKETS_TABLE.partition_key]
            if incident_id in new_ids:
                for name, attribute in ticket_fields.items():
                    if item.get(attribute):
                        times[incident_id][name] = _epoch(item[attribute])
    received = dynamodb.get_paginator("scan").paginate(
        TableName=INCIDENTS_TABLE.local_name, ProjectionExpression="incident_id, received_at"
    )
    for page in received:
        for item in map(from_attributes, page.get("Items", [])):
            if item["incident_id"] in new_ids:
                times[item["incident_id"]]["received"] = _epoch(item["received_at"])
    for record in stack.desk_records():
        if record["incident_id"] in new_ids:
            times[record["incident_id"]]["ticket"] = _epoch(record["created_at"])
    return times


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far, from ``/proc`` (``nan`` elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rpartition(")")[2].split()
    except OSError:
        return math.nan
    # utime and stime are fields 14 and 15 of stat(5); fields[0] is field 3.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def round_trips(base_url: str, count: int = ROUND_TRIPS) -> tuple[float, float]:
    """Median milliseconds of a small GET to the BigPanda stand-in over one kept-alive
    connection (as the functions' urllib3 pool calls the desk and BigPanda), and over a new
    connection each time. The loopback services answer headers and body in two writes; were
    Nagle's algorithm on, a kept-alive call would wait ~40 ms for the client's delayed ACK, so
    a kept-alive figure far above the new-connection one means that stall is back."""
    url = f"{base_url}/_bigpanda/callbacks?incident_id=round-trip-probe"
    pool = urllib3.PoolManager(maxsize=1)
    kept, fresh = [], []
    for _ in range(count):
        started = time.perf_counter()
        pool.request("GET", url)
        kept.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        urllib3.request("GET", url, headers={"Connection": "close"})
        fresh.append((time.perf_counter() - started) * 1000)
    pool.clear()
    return percentile(kept, 50), percentile(fresh, 50)


def busy_ms(lines: Iterable[str]) -> dict[str, float]:
    """Milliseconds each single-threaded stage spent working, from the stack's log lines:
    ``ingest`` (the gateway's requests, which take turns on one handler) and each poller."""
    return {name: ms for name, (ms, _) in _work(lines).items()}


def handled(lines: Iterable[str]) -> dict[str, int]:
    """Requests (ingest) or messages (each poller) handled, from the same log lines."""
    return {name: count for name, (_, count) in _work(lines).items()}


def _work(lines: Iterable[str]) -> dict[str, tuple[float, int]]:
    work: dict[str, tuple[float, int]] = {}
    for line in lines:
        match = _BUSY_LINE.search(line)
        if match is None:
            continue
        name = (match["poller"] or "ingest").removeprefix("bigpanda-webhook-")
        ms, count = work.get(name, (0.0, 0))
        work[name] = (ms + float(match["ms"]), count + int(match["count"] or 1))
    return work


def latency_table(steps: Sequence[Step], *, quick: bool) -> Table:
    table = Table(
        "Latency users feel: webhook -> ingest answer, ticket, callback (local stack)",
        [
            "rate req/s",
            "achieved/s",
            "new incidents",
            "measure",
            "p50 ms",
            "p95 ms",
            "p99 ms",
            "p99 / 2 s target",
        ],
    )
    for step in steps:
        for label, end in (
            ("ingest answer", "answered"),
            ("ticket", "ticket"),
            ("callback", "confirmed"),
        ):
            values = step.latencies(end)
            p99 = percentile(values, 99)
            table.add(
                _rate(step.rate),
                round(step.achieved, 1),
                len(step.new),
                label,
                _ms(percentile(values, 50)),
                _ms(percentile(values, 95)),
                _ms(p99),
                _ratio(p99 / TARGET_P99_MS) if end == "confirmed" else "",
            )
    target = next((s for s in steps if s.rate == TARGET_RATE), None)
    if target is not None:
        p99 = percentile(target.latencies("confirmed"), 99)
        verdict = "met" if p99 < TARGET_P99_MS else "MISSED"
        table.notes.append(
            f"Target p99 webhook -> callback < 2 s at {TARGET_RATE}/s: {verdict} "
            f"(p99 {_ms(p99)} ms)."
        )
    seconds = steps[0].seconds if steps else 0
    table.notes += [
        f"{seconds:.0f} s per rate{' (--quick)' if quick else ''}, open-loop; one webhook in "
        f"{UPDATE_EVERY} updates an incident sent {UPDATE_AFTER_SECONDS:.0f} s earlier, and "
        "latency is measured on new incidents only, from the moment the client sent it.",
        "ticket = the demo desk's created_at; callback = callback_confirmed_at in the tickets "
        "table, written right after the BigPanda stand-in answered 2xx. A '>' or 'inf' means "
        "that share of incidents was not confirmed before the drain limit.",
        "Each rate runs on a fresh `python -m local` (one process: moto server, gateway, "
        "functions, pipe, pollers, desk, stand-in) after a warm-up; the senders share the "
        "machine's CPU with it.",
    ]
    return table


def stages_table(steps: Sequence[Step]) -> Table:
    table = Table(
        "Where the time goes: per-stage latency of new incidents (p50 / p95 ms) and load",
        [
            "rate req/s",
            *(label for label, _, _ in STAGES),
            "webhooks in flight",
            "ticket-sync busy",
            "callback busy",
            "stack CPU",
            "CPU ms / webhook",
        ],
    )
    for step in steps:
        cells = []
        for _, start, end in STAGES:
            values = step.stage(start, end)
            cells.append(f"{_ms(percentile(values, 50))} / {_ms(percentile(values, 95))}")
        share = {name: step.busy_ms.get(name, 0.0) / 1000 / step.window for name in BUSY}
        table.add(
            _rate(step.rate),
            *cells,
            f"{share['ingest']:.2f}",
            _busy(step, "ticket-sync", share),
            _busy(step, "callback", share),
            f"{100 * step.cpu_seconds / step.window:.0f}%",
            _ms(1000 * step.cpu_seconds / max(1, len(step.sends))),
        )
    kept = [s.keepalive_ms for s in steps if math.isfinite(s.keepalive_ms)]
    fresh = [s.fresh_ms for s in steps if math.isfinite(s.fresh_ms)]
    table.notes += [
        "Stages run between consecutive timestamps: client send -> ingest answer (client) -> "
        "ticket sync recorded create_attempted_at (stream read by the pipe, SQS FIFO send, "
        "poller receive, ticket-sync reads and the desk lookup call) -> the desk created the "
        "ticket -> callback_enqueued_at (the desk's answer, a state save, the callback SQS "
        "send) -> callback_confirmed_at (callback poller receive, BigPanda call).",
        "Idle gaps built into the local emulation: the pipe reads the stream every 0.15 s "
        "(local/pipe.py) and each poller short-polls with a 0.1 s pause when its queue is empty "
        "(local/poller.py), so a quiet stack adds about 0.08 + 0.05 + 0.05 s on average. "
        "In AWS the pipe polls the stream about 4 times a second per shard and Lambda "
        "long-polls SQS.",
        "busy = share of the step (first send to last confirmation) that each queue's one "
        "poller spent invoking its function (one invocation at a time, batches of up to 10), "
        "and its time per message, from the stack's own log lines; near 100% that stage is "
        "the bottleneck, and 1000 / (ms/msg) is its ceiling in messages per second. Webhooks in "
        "flight = the gateway's request time summed over the step: above 1, requests queue "
        "for the one ingest execution environment. Stack CPU = user + system CPU of the "
        "`python -m local` process over the step, 100% = one core: the process runs moto, "
        "the gateway, every function, the pipe, the pollers, the desk and the stand-in "
        "under one GIL, so near 100% it is CPU-bound and every stage slows at once.",
    ]
    if kept and fresh:
        table.notes.append(
            f"One HTTP call to the loopback desk or BigPanda stand-in takes "
            f"{_ms(percentile(kept, 50))} ms over a kept-alive connection (as the functions' "
            f"urllib3 pool calls them) against {percentile(fresh, 50):.1f} ms over a new one. "
            "The loopback servers (local/loopback.py) write the headers and the body in two "
            "sends, with TCP_NODELAY: without it Nagle's algorithm held the body until the "
            "client's delayed ACK, about 40 ms on every kept-alive call. A new incident costs "
            "ticket sync two such calls (lookup, create) and the callback one; an update one "
            "(PATCH)."
        )
    table.notes += _ceiling_notes(steps)
    return table


def _ceiling_notes(steps: Sequence[Step]) -> list[str]:
    """What the busiest step says about the two limits: ticket sync's time per message and
    the process's CPU per webhook."""
    measured = [s for s in steps if s.handled.get("ticket-sync") and math.isfinite(s.cpu_seconds)]
    if not measured:
        return []
    quiet = measured[0]
    per_message = quiet.busy_ms["ticket-sync"] / quiet.handled["ticket-sync"]
    desk_calls_ms = 2 * quiet.keepalive_ms if math.isfinite(quiet.keepalive_ms) else 0.0
    # The step that spread the idle polling over the most webhooks: the least CPU each.
    busiest = min(measured, key=lambda s: s.cpu_seconds / max(1, len(s.sends)))
    cpu_ms = 1000 * busiest.cpu_seconds / max(1, len(busiest.sends))
    without_desk = 1000 / max(1.0, per_message - desk_calls_ms)
    return [
        f"Limits: at {_rate(quiet.rate)}/s ticket sync took {per_message:.0f} ms per message, "
        f"{desk_calls_ms:.0f} ms of it its two desk calls, so one poller carries at most "
        f"~{1000 / per_message:.0f} messages/s (~{without_desk:.0f} "
        f"without them). The process spent at best {cpu_ms:.0f} ms of CPU per webhook "
        f"(at {_rate(busiest.rate)}/s): one core, all that its GIL lets it use, carries at most "
        f"~{1000 / cpu_ms:.0f} webhooks/s, less while other processes share the machine.",
    ]


def ceiling_table(steps: Sequence[Step]) -> Table:
    table = Table(
        "Throughput ceiling: the highest sustained rate the local stack keeps up with",
        [
            "rate req/s",
            "seconds",
            "achieved/s",
            "achieved / requested",
            "errors",
            "confirmed",
            "callback p99 ms",
            "drained after s",
            "backlog growing",
            "keeps up",
            "load avg",
        ],
    )
    for step in steps:
        table.add(
            _rate(step.rate),
            round(step.seconds),
            round(step.achieved, 1),
            _ratio(step.achieved / step.rate),
            step.errors,
            f"{step.confirmed()}/{len(step.new)}",
            _ms(percentile(step.latencies("confirmed"), 99)),
            round(step.drained_after, 1)
            if step.drained_after is not None
            else f"> {step.drain_limit:.0f}",
            "yes" if step.growing() else "no",
            "yes" if step.kept_up() else "NO",
            step.load,
        )
    held = [s.rate for s in steps if s.kept_up()]
    ceiling = f"{_rate(max(held))}/s" if held else f"below {_rate(min(s.rate for s in steps))}/s"
    table.notes += [
        f"Ceiling on this machine: {ceiling} sustained (the highest rate tried that kept up).",
        "Keeps up = senders held >= 95% of the rate, every answer 200, every new incident "
        f"confirmed within the drain allowance, callback p99 under {KEEP_UP_P99_MS / 1000:.0f} s, "
        "and the last fifth's median callback latency not above "
        f"{GROWTH_FACTOR:.0f}x the first fifth's + {GROWTH_SLACK_MS / 1000:.1f} s.",
        "The local stack is one Python process on a 2-core machine: its ceiling is the "
        "emulation's, not the deployed stack's (there each stage scales out: API Gateway "
        "throttles at throttle_rate_limit, ticket sync runs one invocation per message group).",
        "load avg = the machine's 1-minute load average at the end of the step (2 cores): "
        "above 2, other processes took CPU from the stack and the senders.",
    ]
    return table


def _busy(step: Step, name: str, share: dict[str, float]) -> str:
    """The poller's busy share and its time per message."""
    count = step.handled.get(name, 0)
    per_message = f" ({step.busy_ms.get(name, 0.0) / count:.0f} ms/msg)" if count else ""
    return f"{100 * share[name]:.0f}%{per_message}"


def _dynamodb(stack: Any) -> Any:
    from local.aws import aws_client

    return aws_client("dynamodb", stack.aws_endpoint)


def _confirmed_ids(dynamodb: Any) -> set[str]:
    from local.names import TICKETS_TABLE

    ids: set[str] = set()
    pages = dynamodb.get_paginator("scan").paginate(
        TableName=TICKETS_TABLE.local_name,
        ProjectionExpression="incident_id",
        FilterExpression="attribute_exists(callback_confirmed_at)",
    )
    for page in pages:
        ids.update(item["incident_id"]["S"] for item in page.get("Items", []))
    return ids


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _rate(rate: float) -> str:
    return f"{rate:g}"


def _ms(value: float) -> str:
    if math.isnan(value):
        return "-"
    if math.isinf(value):
        return "inf"
    return f"{value:,.0f}"


def _ratio(value: float) -> str:
    return "-" if not math.isfinite(value) else f"{value:.2f}x"
