"""Load through the local stack: 1,000 webhooks over 200 incidents from 16 concurrent senders.

Each incident is a chain of versions built from the vendor sample (critical, warning, a
comment, critical again, then resolved for even incidents). One incident in two repeats one
of its deliveries byte for byte right after the first (10% of all sends are exact duplicates),
and one in two has two neighbouring versions swapped, so that an older version arrives after a
newer one (10% of all sends are out of order). Every incident belongs to one sender, which
sends its chain in order and waits for each answer, so every answer is known in advance; the
16 senders interleave their incidents, so the stack always has 16 requests in flight.

The stack runs as ``make run`` runs it, with the ticket target and BigPanda's API served by
this process (the same demo desk and stand-in), so that every ticket and every call can be
counted exactly however many there are. ``make soak`` multiplies the incidents by its factor.

The desk's ticket link to BigPanda is switched off (``two_way.link``): with it, a burst of 200
new incidents owes BigPanda 400 link writes besides its 200 callbacks, which the org's limit of
150 requests a minute spreads over four minutes or more, doubling the suite's slowest test, and
the soak's sustained 1.6 new incidents a second would ask BigPanda for about twice what it
allows. That contention is the limiter's specification to prove, on a simulated clock
(``tests/unit/test_rate_limit.py``): links never hold callbacks back.
"""

from __future__ import annotations

import copy
import itertools
import json
import random
import statistics
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from email.message import Message
from functools import cached_property
from typing import Any, Final

import pytest

from local import defaults
from local.demo.bigpanda import BigPandaStandIn
from local.demo.service_desk import DemoDesk
from local.loopback import Query, Reply
from local.names import CALLBACK_QUEUE, INCIDENTS_TABLE, TICKET_SYNC_QUEUE
from pandabridge.models import WebhookPayload
from pandabridge.names import BIGPANDA_CALLBACK_PATH
from pandabridge.stores.dynamo import from_attributes
from pandabridge.tickets.mapping import draft_for
from pandabridge.versioning import Version, canonical_json, content_hash
from tests.local_stack.harness import SERVING_MARK, StackProcess, aws_client, queued_messages
from tests.reliability.leak_guard import SecretRegistry, StackOutputs
from tests.reliability.scale import SOAK_FACTOR, scaled

INCIDENTS: Final = scaled(200)
SENDS_PER_INCIDENT: Final = 5
SENDERS: Final = 16
# At factor 1 the senders go as fast as the stack answers: a burst, to test concurrency. A soak
# is sustained load instead: the senders share a pace below the ~10 webhooks/s that the
# one-process local stack keeps up with on two cores (BENCHMARKS.md). Unpaced, 10,000 webhooks
# built a backlog that moto's FIFO receive, slower the longer the queue, took hours to drain.
SOAK_PACE_PER_SECOND: Final = 8.0 if SOAK_FACTOR > 1 else None
SEED: Final = 20261128
# Generous: on two busy cores the local stack settles 1,000 webhooks within a minute or two.
SETTLE_SECONDS: Final = 300.0 * SOAK_FACTOR
# BigPanda holds an incident's share for five minutes waiting for its callback: the callbacks of
# a burst must come well inside that, however many ticket links share the org's rate limit.
CALLBACK_LATENCY_BOUND_SECONDS: Final = 150.0
# Reading the desk takes the stack's CPU too: often enough to time settling, no more.
POLL_SECONDS: Final = 0.5
UPDATED_ON: Final = 1764300000
DESK_SECRET: Final = "load-desk-secret-7c1e94a0"
BIGPANDA_KEY: Final = "load-bigpanda-key-2b8f51d6"
APP_KEY: Final = "load-app-key"

Payload = dict[str, Any]


class CountingBigPanda(BigPandaStandIn):
    """The BigPanda stand-in, also counting every callback by incident and answer: its own
    records keep only the newest thousand calls."""

    def __init__(self, api_key: str) -> None:
        super().__init__(api_key)
        self.calls: Counter[tuple[str, int]] = Counter()
        self.first_confirmed_at: dict[str, float] = {}
        self._count_lock = threading.Lock()

    def answer(self, method: str, path: str, query: Query, headers: Message, body: bytes) -> Reply:
        reply = super().answer(method, path, query, headers, body)
        if method == "POST" and path == BIGPANDA_CALLBACK_PATH:
            try:
                incident_id = json.loads(body).get("incident_id")
            except (ValueError, AttributeError):
                incident_id = None
            with self._count_lock:
                self.calls[(incident_id, reply.status)] += 1
                if reply.status == 200:
                    self.first_confirmed_at.setdefault(incident_id, time.monotonic())
        return reply

    def confirmed(self) -> int:
        with self._count_lock:
            return sum(count for (_, status), count in self.calls.items() if status == 200)


@dataclass(frozen=True)
class Send:
    incident_id: str
    body: bytes
    expected: str  # the ingest result that the delivery must get


@dataclass(frozen=True)
class Incident:
    incident_id: str
    newest: Payload
    sends: tuple[Send, ...]

    @cached_property
    def newest_hash(self) -> str:
        return content_hash(canonical_json(self.newest))

    @cached_property
    def newest_version(self) -> list[Any]:
        return Version.of(WebhookPayload.model_validate(self.newest)).as_json()

    @cached_property
    def expected_ticket(self) -> dict[str, str]:
        """The ticket fields that the newest version maps to (computed once: the settle
        loop compares them many times)."""
        draft = draft_for(WebhookPayload.model_validate(self.newest), priority_tag=None)
        return {
            "title": draft.title,
            "status": draft.status.value,
            "priority": draft.priority,
            "description": draft.description,
        }


@dataclass(frozen=True)
class Answer:
    incident_id: str
    status: int | None  # None: no HTTP answer at all (the connection failed)
    result: str | None
    expected: str
    error: str | None = None
    answered_at: float = 0.0  # time.monotonic() when the answer came


@dataclass(frozen=True)
class LoadRun:
    stack: StackProcess
    desk: DemoDesk
    bigpanda: CountingBigPanda
    incidents: tuple[Incident, ...]
    answers: tuple[Answer, ...]
    send_seconds: float
    settle_seconds: float


def versions_of(sample: Payload, incident_id: str, number: int) -> list[Payload]:
    """Five versions, each newer than the one before; every third incident ends resolved."""

    def version(step: int, status: str, *, active: bool = True) -> Payload:
        payload = copy.deepcopy(sample)
        incident = payload["incident"]
        stamp = UPDATED_ON + 60 * step
        incident.update(id=incident_id, status=status, active=active, resolved=not active)
        incident.update(updatedOn=stamp, changedOn=stamp, endedOn=None if active else stamp)
        payload["event_types"] = [{"event": "incident#updated", "time": stamp}]
        for alert in incident["alerts"]:
            alert.update(status=status, active=active, description=f"CPU at step {step}")
        return payload

    chain = [version(1, "Critical"), version(2, "Warning"), version(3, "Warning")]
    chain[2]["metadata"]["comment"] = {"comment": f"load {number}", "environment": "All"}
    chain.append(version(4, "Critical"))
    chain.append(version(5, "Ok", active=False) if number % 3 == 0 else version(5, "Critical"))
    return chain


def expected_results(order: list[int]) -> list[str]:
    """What ingest answers for versions arriving in ``order`` (indices, higher is newer;
    the same index twice is the same bytes twice)."""
    results: list[str] = []
    stored: int | None = None
    for index in order:
        if stored is None:
            results.append("created")
        elif index > stored:
            results.append("updated")
        else:
            results.append("duplicate" if index == stored else "stale")
        stored = index if stored is None else max(stored, index)
    return results


def incident_plan(sample: Payload, number: int, run: str, rng: random.Random) -> Incident:
    """One incident's chain and the order its five sends go in."""
    incident_id = f"load-{run}-{number:05d}"
    # Half the incidents each, a quarter both: exactly 10% duplicate and 10% stale sends.
    duplicates = number % 2 == 0
    reorders = (number // 2) % 2 == 0
    chain = versions_of(sample, incident_id, number)
    if duplicates:
        del chain[3]  # four versions and one repeat: still five sends
    order = list(range(len(chain)))
    if reorders:
        swap = rng.randrange(len(order) - 1)
        order[swap], order[swap + 1] = order[swap + 1], order[swap]
    if duplicates:
        # Repeat a delivery that was stored when it arrived: it must come back "duplicate".
        newest_so_far = [i for i, index in enumerate(order) if index == max(order[: i + 1])]
        at = rng.choice(newest_so_far)
        order.insert(at + 1, order[at])
    bodies = [json.dumps(payload).encode() for payload in chain]
    sends = tuple(
        Send(incident_id, bodies[index], expected)
        for index, expected in zip(order, expected_results(order), strict=True)
    )
    return Incident(incident_id, chain[-1], sends)


class Pace:
    """Send times at a steady rate shared by every sender; no waiting without a rate."""

    def __init__(self, per_second: float | None) -> None:
        self.per_second = per_second
        self._slots = itertools.count()
        self._lock = threading.Lock()
        self._start = time.monotonic()

    def wait(self) -> None:
        if self.per_second is None:
            return
        with self._lock:
            slot = next(self._slots)
        delay = self._start + slot / self.per_second - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def send_all(stack: StackProcess, incidents: tuple[Incident, ...]) -> list[Answer]:
    """Each sender takes every 16th incident and sends their chains interleaved, each
    delivery after the answer to the one before it (and, in a soak, at the shared pace)."""
    pace = Pace(SOAK_PACE_PER_SECOND)

    def sender(mine: tuple[Incident, ...]) -> list[Answer]:
        answers = []
        chains = [incident.sends for incident in mine]
        for send in itertools.chain.from_iterable(itertools.zip_longest(*chains)):
            if send is None:
                continue
            pace.wait()
            try:
                answer = stack.post_webhook(send.body)
            except OSError as exc:  # BigPanda would not retry: a lost delivery is a failure
                answers.append(Answer(send.incident_id, None, None, send.expected, repr(exc)))
                continue
            result = answer.json().get("result") if answer.status == 200 else None
            answered_at = time.monotonic()
            answers.append(
                Answer(send.incident_id, answer.status, result, send.expected, None, answered_at)
            )
        return answers

    with ThreadPoolExecutor(max_workers=SENDERS) as pool:
        shares = pool.map(sender, (incidents[n::SENDERS] for n in range(SENDERS)))
        return [answer for share in shares for answer in share]


def queue_depth(sqs: Any, name: str) -> int:
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    attributes = sqs.get_queue_attributes(
        QueueUrl=url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def desk_state(desk: DemoDesk) -> dict[str, list[dict[str, str]]]:
    """Each incident's tickets at the desk, as the fields the mapping sets."""
    tickets: dict[str, list[dict[str, str]]] = {}
    for record in desk.book.records():
        fields = {name: record[name] for name in ("title", "status", "priority", "description")}
        tickets.setdefault(record["incident_id"], []).append(fields)
    return tickets


def wait_until_settled(
    incidents: tuple[Incident, ...], desk: DemoDesk, bigpanda: CountingBigPanda, sqs: Any
) -> None:
    """Poll until the pipeline has settled; fail with what is still missing at the deadline."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while not settled(incidents, desk, bigpanda, sqs):
        if time.monotonic() > deadline:
            tickets = desk_state(desk)
            behind = [
                i.incident_id
                for i in incidents
                if tickets.get(i.incident_id) != [i.expected_ticket]
            ]
            pytest.fail(
                f"not settled after {SETTLE_SECONDS:.0f} s: {bigpanda.confirmed()} of "
                f"{len(incidents)} callbacks confirmed, {len(behind)} tickets behind (e.g. "
                f"{behind[:3]}), {queued_messages(sqs)} messages queued",
                pytrace=False,
            )
        time.sleep(POLL_SECONDS)


def settled(
    run_incidents: tuple[Incident, ...], desk: DemoDesk, bigpanda: CountingBigPanda, sqs: Any
) -> bool:
    """Every incident confirmed to BigPanda and its one ticket at its newest version, and
    nothing left on the queues."""
    if bigpanda.confirmed() < len(run_incidents):
        return False
    tickets = desk_state(desk)
    if any(tickets.get(i.incident_id) != [i.expected_ticket] for i in run_incidents):
        return False
    return queued_messages(sqs) == 0


@pytest.fixture(scope="module")
def desk(known_secrets: SecretRegistry) -> Iterator[DemoDesk]:
    """The demo desk, served from this process so that its tickets can be read exactly."""
    running = DemoDesk(known_secrets.add("load desk hmac_secret", DESK_SECRET)).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def bigpanda(known_secrets: SecretRegistry) -> Iterator[CountingBigPanda]:
    running = CountingBigPanda(known_secrets.add("load BigPanda User API key", BIGPANDA_KEY))
    running.start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def desk_config(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The ``--config`` of a desk without the ticket link."""
    path = tmp_path_factory.mktemp("load") / "pandabridge.toml"
    path.write_text(
        "[targets.desk]\n"
        'kind = "http"\n'
        'base_url = "https://tickets.example.com"\n'
        "[targets.desk.two_way]\n"
        'events_secret = "load/desk-events"\n'
        "link = false\n"
    )
    return ["--config", str(path)]


@pytest.fixture(scope="module")
def load_stack(
    desk: DemoDesk, bigpanda: CountingBigPanda, desk_config: list[str]
) -> Iterator[StackProcess]:
    """``python -m local`` with its functions' own logs on (DEBUG), pointed at the desk and
    the stand-in above; nothing posted at start-up, so every count is the test's."""
    stack = StackProcess.start(
        "--no-sample", "--log-level", "DEBUG", *desk_config,
        "--ticket-url", desk.url.rstrip("/"),
        "--bigpanda-url", bigpanda.api_base, "--app-key", APP_KEY,
        env={
            defaults.TICKET_SECRET_ENV: json.dumps({"hmac_secret": DESK_SECRET}),
            defaults.BIGPANDA_KEY_ENV: BIGPANDA_KEY,
        },
    )  # fmt: skip
    try:
        stack.wait_until_healthy()
        stack.wait_for_output(SERVING_MARK)
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="module")
def load(
    load_stack: StackProcess, desk: DemoDesk, bigpanda: CountingBigPanda, sample_text: str
) -> LoadRun:
    """The webhooks, sent; then the pipeline, settled (polled, within a generous bound)."""
    sample = json.loads(sample_text)
    rng = random.Random(SEED)
    run = f"{rng.getrandbits(32):08x}"
    incidents = tuple(incident_plan(sample, n, run, rng) for n in range(INCIDENTS))
    sqs = aws_client("sqs", load_stack.aws_endpoint)
    started = time.monotonic()
    answers = send_all(load_stack, incidents)
    sent = time.monotonic()
    lost = [answer for answer in answers if answer.error is not None]
    if lost:
        # Those deliveries never reached ingest: the pipeline could never settle.
        pytest.fail(
            f"{len(lost)} of {len(answers)} webhooks got no HTTP answer; the first: "
            f"{lost[0].incident_id}: {lost[0].error}",
            pytrace=False,
        )
    wait_until_settled(incidents, desk, bigpanda, sqs)
    done = time.monotonic()
    return LoadRun(
        load_stack, desk, bigpanda, incidents, tuple(answers), sent - started, done - sent
    )


@pytest.fixture(scope="module")
def dynamodb(load_stack: StackProcess) -> Any:
    return aws_client("dynamodb", load_stack.aws_endpoint)


def stored_items(dynamodb: Any) -> dict[str, dict[str, Any]]:
    items = {}
    pages = dynamodb.get_paginator("scan").paginate(
        TableName=INCIDENTS_TABLE.local_name, ConsistentRead=True
    )
    for page in pages:
        for item in page["Items"]:
            plain = from_attributes(item)
            items[plain[INCIDENTS_TABLE.partition_key]] = plain
    return items


def test_the_load_is_sent_as_planned(load: LoadRun, report_figure: Any) -> None:
    # Given the plan of the load
    sends = [send for incident in load.incidents for send in incident.sends]
    expected = Counter(send.expected for send in sends)
    # When its sends are counted
    # Then there are five per incident, a tenth of them duplicates and a tenth out of order
    assert len(load.incidents) == INCIDENTS
    assert len(sends) == SENDS_PER_INCIDENT * INCIDENTS
    assert expected["duplicate"] == expected["stale"] == len(sends) // 10
    report_figure(
        f"load: {len(sends)} webhooks over {INCIDENTS} incidents from {SENDERS} senders in "
        f"{load.send_seconds:.1f} s ({len(sends) / load.send_seconds:.0f} webhooks/s); "
        f"settled {load.settle_seconds:.1f} s after the last answer"
    )


def test_every_webhook_is_answered_200(load: LoadRun) -> None:
    # Given the load, sent
    # When the answers' statuses are counted
    statuses = Counter(answer.status for answer in load.answers)
    # Then every one is 200: no 4xx, no 5xx
    assert statuses == Counter({200: SENDS_PER_INCIDENT * INCIDENTS})


def test_every_webhook_gets_the_result_its_order_calls_for(load: LoadRun) -> None:
    # Given the load, sent
    # When each answer's result is compared with the one planned for it
    wrong = [answer for answer in load.answers if answer.result != answer.expected]
    results = Counter(answer.result for answer in load.answers)
    # Then each incident was created exactly once, and every duplicate and stale send seen
    assert wrong == []
    assert results["created"] == INCIDENTS
    assert results["duplicate"] == results["stale"] == len(load.answers) // 10


def test_every_incident_is_stored_once_at_its_newest_version(load: LoadRun, dynamodb: Any) -> None:
    # Given the load, settled
    # When the incidents table is read
    items = stored_items(dynamodb)
    # Then it holds exactly the load's incidents, each at its newest version and content
    assert sorted(items) == sorted(incident.incident_id for incident in load.incidents)
    for incident in load.incidents:
        item = items[incident.incident_id]
        assert item["version"] == incident.newest_version, incident.incident_id
        assert item["content_hash"] == incident.newest_hash, incident.incident_id


def test_every_incident_has_one_ticket_at_its_newest_version(load: LoadRun) -> None:
    # Given the load, settled
    # When the desk's tickets are read
    tickets = desk_state(load.desk)
    # Then there is one ticket per incident, and no other, each as the newest version maps
    assert len(load.desk.book.records()) == INCIDENTS
    for incident in load.incidents:
        assert tickets[incident.incident_id] == [incident.expected_ticket]


def test_every_incident_is_confirmed_to_bigpanda_exactly_once(load: LoadRun) -> None:
    # Given the load, settled
    # When the stand-in's calls are counted
    calls = load.bigpanda.calls
    # Then each incident had one callback, accepted, and no call was refused
    assert calls == Counter({(incident.incident_id, 200): 1 for incident in load.incidents})


def callback_latencies(load: LoadRun) -> list[float]:
    """Seconds from each incident's created answer to BigPanda's first accepted callback."""
    created = {a.incident_id: a.answered_at for a in load.answers if a.result == "created"}
    confirmed = load.bigpanda.first_confirmed_at
    return sorted(confirmed[key] - created[key] for key in created if key in confirmed)


def test_every_callback_comes_well_inside_bigpandas_share_lock(
    load: LoadRun, report_figure: Any
) -> None:
    # Given the load, settled: its callbacks drew on BigPanda's rate limit
    # When each incident's time from its created answer to its confirmed callback is taken
    latencies = callback_latencies(load)
    # Then every one came well inside the five minutes BigPanda holds a share for it
    assert len(latencies) == len(load.incidents)
    report_figure(
        f"load: callback confirmed after the created answer: p50 "
        f"{statistics.median(latencies):.1f} s, p95 {latencies[int(0.95 * len(latencies))]:.1f} s, "
        f"max {latencies[-1]:.1f} s"
    )
    assert latencies[-1] < CALLBACK_LATENCY_BOUND_SECONDS


def test_no_message_is_left_on_any_queue_or_dead_letter_queue(load: LoadRun) -> None:
    # Given the load, settled
    sqs = aws_client("sqs", load.stack.aws_endpoint)
    names = [
        name
        for queue in (TICKET_SYNC_QUEUE, CALLBACK_QUEUE)
        for name in (queue.local_name, queue.dlq_local_name)
    ]
    # When every queue's depth is read
    depths = {name: queue_depth(sqs, name) for name in names}
    # Then all are empty
    assert depths == dict.fromkeys(names, 0)


def test_the_stack_logs_of_the_load_are_scanned_for_secrets(
    load: LoadRun, stack_outputs: StackOutputs
) -> None:
    # Given the load, settled, through a stack logging at DEBUG
    # When its output is looked at
    lines = load.stack.output.splitlines()
    # Then the secrets check follows it, and it holds at least a line per webhook
    assert stack_outputs.tracks(load.stack)
    assert len(lines) >= len(load.answers)
