"""Lambda's SQS event source mapping, played locally: receive a batch, invoke, delete.

The function gets the event Lambda would build (``Records`` with the SQS system attributes),
and its answer is read with ReportBatchItemFailures semantics: the messages it lists stay on the
queue, the others are deleted, and an error or a malformed answer fails the whole batch. The
messages left behind come back when their visibility ends; a handler may shorten or extend it
itself (ticket sync sets a backoff).

One poller is one execution environment: it runs one invocation at a time, as Lambda never runs
two at once in an environment (Powertools keeps per-invocation state at module level).

It short-polls and pauses when the queue is empty, instead of long-polling: moto holds a
long-poll request for its whole wait, and the local moto server answers one request at a time,
so a waiting receive would stall every other call of the stack.
"""

from __future__ import annotations

import base64
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from botocore.exceptions import BotoCoreError, ClientError

from local.aws import LOCAL_REGION, aws_client
from local.functions import FunctionError, PayloadTooLargeError

logger = logging.getLogger(__name__)

IDLE_SECONDS: Final = 0.1
RETRY_MAX_SECONDS: Final = 2.0
# SQS hands out at most 10 messages per receive; Lambda's batching window is not played.
MAX_BATCH_SIZE: Final = 10

Invoke = Callable[[dict[str, Any]], Any]


@dataclass(frozen=True)
class EventSource:
    """What the stack's event source mapping says: which queue, and how many per batch."""

    queue_url: str
    queue_arn: str
    batch_size: int = MAX_BATCH_SIZE

    def __post_init__(self) -> None:
        if not 1 <= self.batch_size <= MAX_BATCH_SIZE:
            raise ValueError(f"batch size {self.batch_size} is not within 1..{MAX_BATCH_SIZE}")


@dataclass(frozen=True)
class BatchOutcome:
    """One invocation: the records it got, those left on the queue, and why if all were."""

    records: tuple[dict[str, Any], ...]
    failed: frozenset[str]
    error: str | None
    elapsed: float

    @property
    def succeeded(self) -> tuple[dict[str, Any], ...]:
        return tuple(r for r in self.records if r["messageId"] not in self.failed)


OnBatch = Callable[[BatchOutcome], None]


class BatchResponseError(ValueError):
    """The function's answer is one that makes Lambda fail the whole batch."""


def failed_message_ids(response: object, message_ids: Iterable[str]) -> frozenset[str]:
    """The messages a ReportBatchItemFailures answer lists as failed.

    No answer, an empty one, or no (or an empty) ``batchItemFailures`` means all succeeded;
    anything else Lambda cannot read, or an id not in the batch, raises ``BatchResponseError``.
    """
    if response is None:
        return frozenset()
    if not isinstance(response, dict):
        raise BatchResponseError(f"the answer is a {type(response).__name__}, not an object")
    items = response.get("batchItemFailures")
    if items is None:
        return frozenset()
    if not isinstance(items, list):
        raise BatchResponseError("batchItemFailures is not a list")
    known = set(message_ids)
    failed = set()
    for item in items:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in known:
            raise BatchResponseError(f"itemIdentifier {identifier!r} is not a message of the batch")
        failed.add(identifier)
    return frozenset(failed)


def _message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    """An SQS message attribute as Lambda spells it (lower camel case, binary as base64)."""
    attribute: dict[str, Any] = {
        "stringListValues": list(value.get("StringListValues", [])),
        "binaryListValues": [
            base64.b64encode(item).decode("ascii") for item in value.get("BinaryListValues", [])
        ],
        "dataType": value["DataType"],
    }
    if "StringValue" in value:
        attribute["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        attribute["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode("ascii")
    return attribute


def lambda_record(message: Mapping[str, Any], queue_arn: str) -> dict[str, Any]:
    """One received message as a record of Lambda's SQS event."""
    record: dict[str, Any] = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes", {})),
        "messageAttributes": {
            name: _message_attribute(value)
            for name, value in message.get("MessageAttributes", {}).items()
        },
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": LOCAL_REGION,
    }
    if "MD5OfMessageAttributes" in message:
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


class QueuePoller:
    """Feeds one queue to one function, batch by batch, in a thread of its own."""

    def __init__(
        self,
        name: str,
        invoke: Invoke,
        source: EventSource,
        *,
        endpoint: str,
        idle_seconds: float = IDLE_SECONDS,
        on_batch: OnBatch | None = None,
    ) -> None:
        self.name = name
        self.source = source
        self._invoke = invoke
        self._idle_seconds = idle_seconds
        self._on_batch = on_batch
        self._sqs = aws_client("sqs", endpoint)
        self._environment = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> QueuePoller:
        self._thread = threading.Thread(target=self._run, name=f"poller-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 3.0) -> None:
        """Stop after the invocation in flight; safe to call more than once, or before start."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning("%s: an invocation is still running at shutdown", self.name)

    def poll_once(self) -> BatchOutcome | None:
        """Receive one batch and invoke the function with it; ``None`` if the queue is empty."""
        with self._environment:
            messages = self._sqs.receive_message(
                QueueUrl=self.source.queue_url,
                MaxNumberOfMessages=self.source.batch_size,
                WaitTimeSeconds=0,
                AttributeNames=["All"],
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                return None
            records = tuple(lambda_record(message, self.source.queue_arn) for message in messages)
            outcome = self._invoke_with(records)
            self._delete(outcome.succeeded)
        self._log(outcome)
        if self._on_batch is not None:
            try:
                self._on_batch(outcome)
            except Exception:
                logger.exception("%s: the batch listener failed", self.name)
        return outcome

    def _invoke_with(self, records: tuple[dict[str, Any], ...]) -> BatchOutcome:
        ids = [record["messageId"] for record in records]
        started = time.monotonic()
        error: str | None = None
        try:
            failed = failed_message_ids(self._invoke({"Records": list(records)}), ids)
        except (FunctionError, PayloadTooLargeError) as exc:
            # The first line only: the traceback has been logged where the function failed.
            reason = str(exc.__cause__ or exc).strip().splitlines() or [type(exc).__name__]
            error = f"the function failed: {reason[0]}"
        except BatchResponseError as exc:
            error = f"malformed batch response: {exc}"
        except Exception as exc:
            # Whatever fails the invocation fails the whole batch, as in Lambda.
            logger.exception("%s: the invocation failed", self.name)
            error = f"the invocation failed: {type(exc).__name__}"
        if error is not None:
            failed = frozenset(ids)
        return BatchOutcome(records, failed, error, time.monotonic() - started)

    def _delete(self, records: tuple[dict[str, Any], ...]) -> None:
        for start in range(0, len(records), MAX_BATCH_SIZE):
            chunk = records[start : start + MAX_BATCH_SIZE]
            entries = [
                {"Id": str(index), "ReceiptHandle": record["receiptHandle"]}
                for index, record in enumerate(chunk)
            ]
            answer = self._sqs.delete_message_batch(QueueUrl=self.source.queue_url, Entries=entries)
            for failure in answer.get("Failed", []):
                # The message comes back after its visibility and is processed again.
                logger.warning("%s: could not delete a message: %s", self.name, failure)

    def _log(self, outcome: BatchOutcome) -> None:
        elapsed_ms = outcome.elapsed * 1000
        count = len(outcome.records)
        if outcome.error is not None:
            logger.warning(
                "%s: the whole batch of %d failed (%.0f ms): %s",
                self.name,
                count,
                elapsed_ms,
                outcome.error,
            )
        else:
            logger.info(
                "%s: %d in, %d failed (%.0f ms)", self.name, count, len(outcome.failed), elapsed_ms
            )

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                outcome = self.poll_once()
            except (BotoCoreError, ClientError) as exc:
                failures += 1
                pause = min(self._idle_seconds * 2**failures, RETRY_MAX_SECONDS)
                logger.warning("%s: polling failed, retrying in %.1f s: %s", self.name, pause, exc)
                self._stop.wait(pause)
                continue
            failures = 0
            if outcome is None:
                self._stop.wait(self._idle_seconds)
