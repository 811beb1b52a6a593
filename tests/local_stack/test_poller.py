"""The queue poller against a moto server: Lambda's SQS event and ReportBatchItemFailures.

The function here records what it gets and answers what the test sets; the stack tests run the
real ticket-sync handler behind the same poller.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest

from local.aws import LOCAL_REGION, MotoServer, queue_arn
from local.functions import invoke
from local.poller import BatchOutcome, EventSource, QueuePoller
from tests.local_stack.harness import aws_client

WAIT_SECONDS = 5.0
# Short, so that failed messages come back within the test.
VISIBILITY_SECONDS = 1

Respond = Callable[[dict[str, Any]], Any]


class Recorder:
    """A function that records its events, answers what the test sets, and notes overlaps."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.respond: Respond = lambda _event: None
        self.overlapped = False
        self._running = threading.Lock()

    def __call__(self, event: dict[str, Any], _context: Any) -> Any:
        if not self._running.acquire(blocking=False):
            self.overlapped = True
            self._running.acquire()
        try:
            self.events.append(event)
            time.sleep(0.01)
            return self.respond(event)
        finally:
            self._running.release()

    @property
    def bodies(self) -> list[list[str]]:
        """The message bodies of each invocation."""
        return [[record["body"] for record in event["Records"]] for event in self.events]


@pytest.fixture
def sqs(moto: MotoServer) -> Any:
    """SQS on the module's moto server; each test makes queues of its own."""
    return aws_client("sqs", moto.endpoint)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def make_queue(sqs: Any, *, fifo: bool) -> EventSource:
    name = f"poller-{uuid.uuid4().hex[:8]}" + (".fifo" if fifo else "")
    attributes = {"VisibilityTimeout": str(VISIBILITY_SECONDS)}
    if fifo:
        attributes["FifoQueue"] = "true"
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    return EventSource(queue_url=url, queue_arn=queue_arn(name), batch_size=10)


@pytest.fixture
def source(sqs: Any) -> EventSource:
    """A standard queue of the test's own."""
    return make_queue(sqs, fifo=False)


@pytest.fixture
def make_poller(moto: MotoServer, recorder: Recorder) -> Iterator[Callable[..., QueuePoller]]:
    """Builds pollers that feed a queue to the recorder; stops the started ones after."""
    built: list[QueuePoller] = []

    def make(source: EventSource, **options: Any) -> QueuePoller:
        poller = QueuePoller(
            "recorder",
            partial(invoke, recorder, function_name="recorder"),
            source,
            endpoint=moto.endpoint,
            **options,
        )
        built.append(poller)
        return poller

    yield make
    for poller in built:
        poller.stop()


def send(sqs: Any, source: EventSource, *bodies: str) -> list[str]:
    """Send the bodies in order; returns their message ids."""
    return [
        sqs.send_message(QueueUrl=source.queue_url, MessageBody=body)["MessageId"]
        for body in bodies
    ]


def depth(sqs: Any, source: EventSource) -> int:
    """Messages on the queue, visible or in flight."""
    attributes = sqs.get_queue_attributes(
        QueueUrl=source.queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def poll_until_delivered(poller: QueuePoller) -> BatchOutcome:
    """Poll until a batch arrives (after a visibility timeout, for instance)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while (outcome := poller.poll_once()) is None:
        assert time.monotonic() < deadline, "no batch arrived"
        time.sleep(0.05)
    return outcome


def fail(message_id: str) -> Respond:
    return lambda _event: {"batchItemFailures": [{"itemIdentifier": message_id}]}


def test_a_fifo_batch_arrives_as_lambdas_sqs_event(
    sqs: Any, make_poller: Callable[..., QueuePoller], recorder: Recorder
) -> None:
    # Given a FIFO message with a group, a deduplication id and a message attribute
    source = make_queue(sqs, fifo=True)
    sent = sqs.send_message(
        QueueUrl=source.queue_url,
        MessageBody='{"incident_id": "inc-1"}',
        MessageGroupId="inc-1",
        MessageDeduplicationId="hash-1",
        MessageAttributes={"origin": {"DataType": "String", "StringValue": "pipe"}},
    )
    # When the poller delivers it
    make_poller(source).poll_once()
    # Then the function gets one record shaped as Lambda's SQS event record
    (record,) = recorder.events[0]["Records"]
    assert record["messageId"] == sent["MessageId"]
    assert record["body"] == '{"incident_id": "inc-1"}'
    assert record["md5OfBody"] == sent["MD5OfMessageBody"]
    assert record["receiptHandle"]
    assert (record["eventSource"], record["eventSourceARN"], record["awsRegion"]) == (
        "aws:sqs",
        source.queue_arn,
        LOCAL_REGION,
    )
    attributes = record["attributes"]
    assert (attributes["MessageGroupId"], attributes["MessageDeduplicationId"]) == (
        "inc-1",
        "hash-1",
    )
    assert attributes["ApproximateReceiveCount"] == "1"
    for name in ("SequenceNumber", "SentTimestamp", "ApproximateFirstReceiveTimestamp"):
        assert attributes[name]
    assert record["messageAttributes"] == {
        "origin": {
            "stringValue": "pipe",
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": "String",
        }
    }


def test_a_batch_the_function_reports_no_failures_for_is_deleted(
    sqs: Any, source: EventSource, make_poller: Callable[..., QueuePoller], recorder: Recorder
) -> None:
    # Given two messages
    send(sqs, source, "a", "b")
    # When the function takes them in one batch and reports no failures
    outcome = make_poller(source).poll_once()
    # Then both were delivered together and are gone from the queue
    assert recorder.bodies == [["a", "b"]]
    assert outcome is not None
    assert outcome.failed == frozenset()
    assert depth(sqs, source) == 0


def test_a_reported_failure_stays_and_comes_back_after_its_visibility(
    sqs: Any, source: EventSource, make_poller: Callable[..., QueuePoller], recorder: Recorder
) -> None:
    # Given two messages, of which the function reports the first as failed
    first, _second = send(sqs, source, "a", "b")
    recorder.respond = fail(first)
    poller = make_poller(source)
    poller.poll_once()
    # When its visibility ends and the queue is polled again
    recorder.respond = lambda _event: None
    again = poll_until_delivered(poller)
    # Then only the failed message came back, received a second time
    assert recorder.bodies == [["a", "b"], ["a"]]
    assert again.records[0]["attributes"]["ApproximateReceiveCount"] == "2"
    assert depth(sqs, source) == 0


@pytest.mark.parametrize(
    "respond",
    [
        pytest.param(lambda _event: 1 / 0, id="exception"),
        pytest.param(fail("not-in-the-batch"), id="unknown itemIdentifier"),
        pytest.param(lambda _event: {"batchItemFailures": [{"itemIdentifier": ""}]}, id="empty"),
        pytest.param(lambda _event: "ok", id="not an object"),
    ],
)
def test_an_error_or_a_malformed_answer_fails_the_whole_batch(
    sqs: Any,
    source: EventSource,
    make_poller: Callable[..., QueuePoller],
    recorder: Recorder,
    respond: Respond,
) -> None:
    # Given two messages and a function that fails the way Lambda reads as "all failed"
    send(sqs, source, "a", "b")
    recorder.respond = respond
    poller = make_poller(source)
    # When the batch is delivered
    outcome = poller.poll_once()
    # Then both messages count as failed and stay on the queue, to come back later
    assert outcome is not None
    assert outcome.error is not None
    assert outcome.failed == {record["messageId"] for record in outcome.records}
    assert depth(sqs, source) == 2


def test_the_batch_size_caps_the_records_per_invocation(
    sqs: Any, make_poller: Callable[..., QueuePoller], recorder: Recorder
) -> None:
    # Given three messages and an event source with batches of two
    source = make_queue(sqs, fifo=False)
    small = EventSource(source.queue_url, source.queue_arn, batch_size=2)
    send(sqs, source, "a", "b", "c")
    # When one batch is delivered
    make_poller(small).poll_once()
    # Then the function got two records
    assert [len(bodies) for bodies in recorder.bodies] == [2]


def test_a_running_poller_invokes_one_batch_at_a_time_and_stops_promptly(
    sqs: Any, make_poller: Callable[..., QueuePoller], recorder: Recorder
) -> None:
    # Given a running poller with batches of one, and three messages
    source = make_queue(sqs, fifo=False)
    one = EventSource(source.queue_url, source.queue_arn, batch_size=1)
    poller = make_poller(one, idle_seconds=0.02).start()
    send(sqs, source, "a", "b", "c")
    deadline = time.monotonic() + WAIT_SECONDS
    while depth(sqs, source) and time.monotonic() < deadline:
        time.sleep(0.05)
    # When it is stopped
    started = time.monotonic()
    poller.stop()
    # Then it handled all three, never two at once, and its thread ended at once
    assert sorted(body for bodies in recorder.bodies for body in bodies) == ["a", "b", "c"]
    assert not recorder.overlapped
    assert time.monotonic() - started < 1
    assert not poller.running
