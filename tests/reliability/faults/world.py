"""The parts of the fault tests: AWS errors on a client, a desk that misbehaves on plan, and
the checks of what became of the accepted webhooks.

``Pipeline.settle`` waits until the queues are drained and then checks, past the code under
test, that every accepted incident has exactly one ticket at its newest version and every
ticket exactly one confirmed callback, and that no message went to a DLQ; a failure names each
incident that lost or doubled something, with what was expected and what was found.
"""

from __future__ import annotations

import json
import math
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from email.message import Message
from http import HTTPStatus
from typing import Any, Final

from botocore.awsrequest import AWSPreparedRequest, AWSResponse

from local import defaults
from local.aws import MotoServer, queue_url
from local.demo.bigpanda import BigPandaStandIn
from local.demo.service_desk import TICKETS_PATH, DemoDesk
from local.demo.story import load_story
from local.loopback import Query, Reply, json_reply
from local.names import CALLBACK_QUEUE, TICKET_SYNC_QUEUE, QueueSpec
from pandabridge.models import WebhookPayload
from pandabridge.tickets.mapping import draft_for
from tests.handlers.conftest import drain_queue
from tests.local_stack.harness import StackProcess
from tests.reliability.scale import SOAK_FACTOR, scaled

# The desk's client gives up after this long in the tests that make the desk answer late.
SHORT_TICKET_TIMEOUT_SECONDS: Final = 2.0
# How long a pipeline may take to settle after its faults: several backoffs of 1..8 s each,
# and the work itself, which grows with the soak factor.
SETTLE_SECONDS: Final = 30.0 + 30.0 * SOAK_FACTOR
# Once settled, how long the outcome must stay the same.
QUIET_SECONDS: Final = 1.0
# Upper bounds of the desk's holds, so that a test gone wrong cannot hang the suite.
GATE_MAX_SECONDS: Final = 60.0
HANG_MAX_SECONDS: Final = 30.0
_STORY: Final = load_story()


# --- AWS errors, answered by botocore's own send step -------------------------------------


class _Body:
    """The raw part of an ``AWSResponse``: botocore reads a response through ``stream``."""

    def __init__(self, content: bytes) -> None:
        self._content = content

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._content


@dataclass
class InjectedError:
    """A ``before-send`` hook: answers the first ``times`` attempts of an operation with an
    AWS error instead of sending them, lets later ones through, and counts every attempt, so
    that what retries them is botocore's own retry handler."""

    status: int
    body: bytes
    headers: dict[str, str]
    times: float = math.inf
    attempts: int = 0

    def __call__(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse | None:
        self.attempts += 1
        if self.attempts > self.times:
            return None
        return AWSResponse(request.url, self.status, self.headers, _Body(self.body))


def dynamodb_error(code: str, *, times: float = math.inf) -> InjectedError:
    """DynamoDB's JSON error answer for ``code``, with the 400 status it throttles with."""
    body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": code})
    headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-RequestId": "injected"}
    return InjectedError(HTTPStatus.BAD_REQUEST, body.encode(), headers, times)


def s3_error(status: int, code: str, *, times: float = math.inf) -> InjectedError:
    """S3's XML error answer for ``code``."""
    body = f"<Error><Code>{code}</Code><Message>{code}</Message></Error>".encode()
    headers = {"Content-Type": "application/xml", "x-amz-request-id": "injected"}
    return InjectedError(status, body, headers, times)


def attempts_only() -> InjectedError:
    """A hook that lets every attempt through and only counts them."""
    return InjectedError(HTTPStatus.OK, b"", {}, times=0)


# --- a desk that misbehaves on plan -------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """How the desk misbehaves on one contract call."""

    # Answer this status (with Retry-After, if given) instead of doing the call.
    status: int | None = None
    retry_after: int | None = None
    # Do the call, then answer this late: past the client's timeout, the outcome unseen.
    late_seconds: float = 0.0

    @classmethod
    def error(cls, status: int, *, retry_after: int | None = None) -> Fault:
        return cls(status=status, retry_after=retry_after)

    @classmethod
    def timeout(cls) -> Fault:
        return cls(late_seconds=SHORT_TICKET_TIMEOUT_SECONDS + 1.0)


class FaultyDesk(DemoDesk):
    """The local stack's demo desk (the local stack's secret), with planned faults.

    Besides ``Fault`` s served one per contract call in turn, it can hold every contract call
    at a closed gate, and hang on its n-th create after doing it (the ticket exists, the caller
    has no answer) until released: the moment to kill the process that waits for the answer.
    """

    def __init__(self) -> None:
        super().__init__(defaults.DESK_SECRET)
        self._lock = threading.Lock()
        self._planned: deque[Fault] = deque()
        self.served: list[Fault] = []
        self._gate = threading.Event()
        self._gate.set()
        self._hang_on_create: int | None = None
        self._creates = 0
        self.hanging = threading.Event()
        self._released = threading.Event()

    def plan(self, *faults: Fault) -> None:
        with self._lock:
            self._planned.extend(faults)

    def close_gate(self) -> None:
        self._gate.clear()

    def open_gate(self) -> None:
        self._gate.set()

    def hang_on_create(self, number: int) -> None:
        with self._lock:
            self._hang_on_create = number

    def release(self) -> None:
        self._released.set()

    def answer(self, method: str, path: str, query: Query, headers: Message, body: bytes) -> Reply:
        if path != TICKETS_PATH and not path.startswith(f"{TICKETS_PATH}/"):
            return super().answer(method, path, query, headers, body)
        self._gate.wait(GATE_MAX_SECONDS)
        fault = self._take()
        if fault is not None and fault.status is not None:
            extra = (("Retry-After", str(fault.retry_after)),) if fault.retry_after else ()
            return json_reply(fault.status, {"message": "failing on purpose"}, extra)
        reply = super().answer(method, path, query, headers, body)
        if fault is not None:
            time.sleep(fault.late_seconds)
        if method == "POST" and path == TICKETS_PATH and self._hangs_now():
            self.hanging.set()
            self._released.wait(HANG_MAX_SECONDS)
        return reply

    def _take(self) -> Fault | None:
        with self._lock:
            if not self._planned:
                return None
            fault = self._planned.popleft()
            self.served.append(fault)
            return fault

    def _hangs_now(self) -> bool:
        with self._lock:
            self._creates += 1
            return self._creates == self._hang_on_create


# --- what outlives a stack, and the invariants --------------------------------------------


@dataclass
class World:
    """What outlives a stack: AWS on the moto server, the service desk, BigPanda's API."""

    moto: MotoServer
    desk: FaultyDesk
    bigpanda: BigPandaStandIn
    sqs: Any

    def depth(self, queue: str) -> int:
        """Messages on a queue, waiting, delayed or being handled."""
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=queue_url(self.moto.endpoint, queue),
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        return sum(int(value) for value in attributes.values())

    def in_flight(self, queue: str) -> int:
        """Messages of a queue received and neither deleted nor visible again yet."""
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=queue_url(self.moto.endpoint, queue),
            AttributeNames=["ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def dead_letters(self, spec: QueueSpec) -> list[str]:
        """The bodies on a queue's DLQ, left there."""
        messages = self.sqs.receive_message(
            QueueUrl=queue_url(self.moto.endpoint, spec.dlq_local_name),
            MaxNumberOfMessages=10,
            VisibilityTimeout=0,
        ).get("Messages", [])
        return [message["Body"] for message in messages]


def incident_ids(count: int) -> list[str]:
    """``count`` new incident ids, times the soak factor."""
    return [f"faults-{uuid.uuid4().hex[:12]}" for _ in range(scaled(count))]


def stories(incidents: Sequence[str], steps: int = len(_STORY)) -> dict[str, list[bytes]]:
    """For each incident, the first ``steps`` webhooks of the incident story
    (``events/story/``: created, updated, commented, assigned, resolved, reopened)."""
    result = {}
    for incident_id in incidents:
        bodies = []
        for step in _STORY[:steps]:
            payload = json.loads(step.body)
            payload["incident"]["id"] = incident_id
            bodies.append(json.dumps(payload).encode())
        result[incident_id] = bodies
    return result


StartStack = Callable[..., StackProcess]


class _StackPolls:
    """The consumer that ``drain_queue`` runs: the stack's own pollers consume the queues,
    so there is nothing to run here, only the depth to watch."""

    @staticmethod
    def poll_once() -> None:
        return None


@dataclass
class Pipeline:
    """The webhooks accepted so far, and the checks of what became of them."""

    world: World
    newest: dict[str, bytes] = field(default_factory=dict)

    def accepted(self, incident_id: str, body: bytes) -> None:
        """Record a version that was stored; an incident's last one is its newest."""
        self.newest[incident_id] = body

    def post(self, stack: StackProcess, versions: dict[str, list[bytes]]) -> None:
        """Post every incident's versions as BigPanda shares several incidents at once: the
        incidents interleaved, each one's versions in order. Each must be stored."""
        for index in range(max(len(bodies) for bodies in versions.values())):
            for incident_id, bodies in versions.items():
                if index >= len(bodies):
                    continue
                answer = stack.post_webhook(bodies[index])
                assert answer.status == 200, (
                    f"incident {incident_id} version {index + 1} was not accepted: "
                    f"HTTP {answer.status} {answer.body[:300]!r}"
                )
                result = answer.json()["result"]
                assert result in ("created", "updated"), (
                    f"incident {incident_id} version {index + 1} was not stored: {result}"
                )
                self.accepted(incident_id, bodies[index])

    def pending(self) -> int:
        """Work queued or in flight for ticket sync and the callback."""
        queues = (TICKET_SYNC_QUEUE, CALLBACK_QUEUE)
        return sum(self.world.depth(spec.local_name) for spec in queues)

    def settle(self, timeout: float = SETTLE_SECONDS) -> None:
        """Wait until the queues are drained and nothing is lost or doubled; fail with every
        problem left, each naming its incident, if that does not happen within ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            drained = self._drained(deadline)
            # The queues can read empty before the pipe has handed over the last records.
            problems = self.problems()
            if not drained and (pending := self.pending()):
                problems.append(f"{pending} message(s) still queued after {timeout:.0f} s")
            if not problems:
                # A late duplicate (a nudge handed over again, say) would show within this.
                time.sleep(QUIET_SECONDS)
                problems = self.problems()
                if not problems and not self.pending():
                    break
            if time.monotonic() >= deadline:
                break
            time.sleep(0.25)
        for spec in (TICKET_SYNC_QUEUE, CALLBACK_QUEUE):
            problems += [
                f"{spec.dlq_local_name}: {body[:300]}" for body in self.world.dead_letters(spec)
            ]
        assert not problems, "lost or doubled:\n  " + "\n  ".join(problems)

    def _drained(self, deadline: float) -> bool:
        try:
            drain_queue(_StackPolls(), self.pending, max(deadline - time.monotonic(), 0.0))
        except AssertionError:
            return False
        return True

    def problems(self) -> list[str]:
        """What was lost or doubled, one line per incident and kind; empty when all is well."""
        tickets_of: dict[str, list[dict[str, Any]]] = {}
        for record in self.world.desk.book.records():
            tickets_of.setdefault(record["incident_id"], []).append(record)
        found = [
            f"incident {incident_id}: has a ticket but no webhook of it was accepted"
            for incident_id in sorted(tickets_of.keys() - self.newest.keys())
        ]
        for incident_id, body in self.newest.items():
            tickets = tickets_of.get(incident_id, [])
            if len(tickets) == 1:
                found += _behind(incident_id, tickets[0], body)
            else:
                ids = ", ".join(ticket["id"] for ticket in tickets) or "none"
                found.append(
                    f"incident {incident_id}: expected exactly 1 ticket, found {len(tickets)} "
                    f"({ids})"
                )
        for incident_id in sorted(tickets_of):
            calls = self.world.bigpanda.records(incident_id)
            confirmed = [call for call in calls if call.status == HTTPStatus.OK]
            if len(confirmed) != 1:
                found.append(
                    f"incident {incident_id}: expected exactly 1 confirmed callback, found "
                    f"{len(confirmed)} (BigPanda answered {[call.status for call in calls]})"
                )
        for spec in (TICKET_SYNC_QUEUE, CALLBACK_QUEUE):
            if depth := self.world.depth(spec.dlq_local_name):
                found.append(f"{spec.dlq_local_name} holds {depth} message(s)")
        return found


def _behind(incident_id: str, ticket: dict[str, Any], newest: bytes) -> list[str]:
    """How the ticket differs from the draft of the incident's newest version, by field."""
    draft = draft_for(WebhookPayload.model_validate(json.loads(newest)), priority_tag=None)
    expected = {
        "title": draft.title,
        "description": draft.description,
        "priority": draft.priority,
        "status": draft.status.value,
    }
    return [
        f"incident {incident_id}: ticket {ticket['id']} is not at the newest version: {name} "
        f"{_difference(ticket.get(name), value)}"
        for name, value in expected.items()
        if ticket.get(name) != value
    ]


def _difference(found: object, expected: object) -> str:
    """Found and expected, from where two long texts first differ."""
    if isinstance(found, str) and isinstance(expected, str):
        at = next(
            (i for i, (a, b) in enumerate(zip(found, expected, strict=False)) if a != b),
            min(len(found), len(expected)),
        )
        start = max(0, at - 20)
        if start:
            return (
                f"from character {at} is {found[start : start + 60]!r}..., "
                f"expected {expected[start : start + 60]!r}..."
            )
    return f"is {_excerpt(found)}, expected {_excerpt(expected)}"


def _excerpt(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."
