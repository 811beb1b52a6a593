"""The stack's EventBridge Pipe, played locally: incidents table stream to ticket-sync queue.

moto keeps the table's stream but runs no pipes. A thread reads every shard of the stream and
hands each record to ``pandabridge.handoff``, which holds the filter, group id, deduplication id
and message body that the stack gives the real pipe, so both send the same messages.

A record leaves memory only once its message is on the queue (or the filter dropped it). A
failed read or send is logged and retried with a growing pause, so a moto hiccup delays the
hand-off but loses nothing that was read. As in the stack's pipe, a record whose send still
fails after ``MAXIMUM_RETRY_ATTEMPTS`` retries (SQS refuses it) is given up, logged as an
error and counted, where the stack's pipe sends it to its DLQ: one bad record never stops its
shard.

The pipe keeps no checkpoint: it starts every shard at its oldest record (``TRIM_HORIZON``),
never at ``LATEST``. A stack that takes over a stream after another stopped or was killed
(``--aws-endpoint``) thus hands over again what the other one had sent, and also what it had
read but not sent and what was written while no stack ran. The repeats are harmless: the
queue drops a nudge whose deduplication id it saw within five minutes, and the reconciler
finds nothing left to do for any other. Starting at ``LATEST`` would lose those records.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import ValidationError

from local.aws import aws_client
from pandabridge.handoff import MAXIMUM_RETRY_ATTEMPTS, nudge_from_stream_record, render_message
from pandabridge.messages import SyncNudge

logger = logging.getLogger(__name__)

POLL_SECONDS: Final = 0.15
# New shards appear when DynamoDB splits or rolls one over; looking every pass would be waste.
SHARD_REFRESH_SECONDS: Final = 2.0
RETRY_MAX_SECONDS: Final = 2.0
RECORDS_PER_READ: Final = 100
# The iterator can no longer be used; a new one starts after the last record handed over.
_STALE_ITERATOR_ERRORS: Final = frozenset(
    {"ExpiredIteratorException", "TrimmedDataAccessException"}
)

OnQueued = Callable[[SyncNudge], None]


class StreamNotEnabledError(RuntimeError):
    """The table has no stream to follow."""


@dataclass
class _Shard:
    """Where the pipe is in one shard, and the records read from it but not yet handed over."""

    shard_id: str
    parent_id: str | None
    iterator: str | None = None
    closed: bool = False
    last_sequence: str | None = None
    pending: deque[dict[str, Any]] = field(default_factory=deque)
    # Failed sends of the first pending record, to give it up after the pipe's retries.
    send_failures: int = 0

    @property
    def done(self) -> bool:
        return self.closed and not self.pending


class StreamPipe:
    """Follows a table's stream from its oldest record and sends each nudge to a FIFO queue."""

    def __init__(
        self,
        endpoint: str,
        *,
        table_name: str,
        queue_url: str,
        poll_seconds: float = POLL_SECONDS,
        retry_max_seconds: float = RETRY_MAX_SECONDS,
        on_queued: OnQueued | None = None,
    ) -> None:
        self.table_name = table_name
        self.queue_url = queue_url
        self._poll_seconds = poll_seconds
        self._retry_max_seconds = retry_max_seconds
        self._on_queued = on_queued
        self._dynamodb = aws_client("dynamodb", endpoint)
        # An explicit endpoint: without one, botocore sends stream-ARN calls to an
        # account-based host that moto does not serve.
        self._streams = aws_client("dynamodbstreams", endpoint)
        self._sqs = aws_client("sqs", endpoint)
        self._stream_arn = ""
        self._shards: dict[str, _Shard] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._sent = 0
        self._dead_lettered = 0

    @property
    def sent(self) -> int:
        """How many messages the pipe has put on the queue."""
        with self._lock:
            return self._sent

    @property
    def dead_lettered(self) -> int:
        """How many stream records the pipe gave up on (the stack's pipe DLQ would hold them)."""
        with self._lock:
            return self._dead_lettered

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> StreamPipe:
        """Find the table's stream (a missing one stops the start-up) and follow it."""
        table = self._dynamodb.describe_table(TableName=self.table_name)["Table"]
        if not table.get("LatestStreamArn"):
            raise StreamNotEnabledError(f"table {self.table_name} has no stream")
        self._stream_arn = table["LatestStreamArn"]
        self._thread = threading.Thread(target=self._run, name="stream-pipe", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Stop after the current pass; safe to call more than once, or before ``start``."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        failures = 0
        refreshed_at = float("-inf")
        while not self._stop.is_set():
            try:
                if time.monotonic() - refreshed_at >= SHARD_REFRESH_SECONDS:
                    self._refresh_shards()
                    refreshed_at = time.monotonic()
                self._pass()
            except (BotoCoreError, ClientError) as exc:
                failures += 1
                pause = min(self._poll_seconds * 2**failures, self._retry_max_seconds)
                logger.warning("stream hand-off failed, retrying in %.1f s: %s", pause, exc)
                self._stop.wait(pause)
                continue
            except Exception:
                # Anything else is a bug; the thread carries on, or tickets would stop silently.
                failures += 1
                logger.exception("stream hand-off failed")
                self._stop.wait(self._retry_max_seconds)
                continue
            failures = 0
            self._stop.wait(self._poll_seconds)
        unsent = sum(len(shard.pending) for shard in self._shards.values())
        if unsent:
            logger.warning("stopped with %d stream records not yet queued", unsent)

    def _refresh_shards(self) -> None:
        start: dict[str, str] = {}
        while True:
            description = self._streams.describe_stream(StreamArn=self._stream_arn, **start)[
                "StreamDescription"
            ]
            for shard in description.get("Shards", []):
                if shard["ShardId"] not in self._shards:
                    self._shards[shard["ShardId"]] = _Shard(
                        shard["ShardId"], shard.get("ParentShardId")
                    )
            last = description.get("LastEvaluatedShardId")
            if not last:
                return
            start = {"ExclusiveStartShardId": last}

    def _readable(self) -> list[_Shard]:
        """Shards with work left whose parent is done: a key's records stay in order across a
        split, as they do in the real pipe."""
        return [
            shard
            for shard in self._shards.values()
            if not shard.done
            and (shard.parent_id not in self._shards or self._shards[shard.parent_id].done)
        ]

    def _pass(self) -> None:
        for shard in self._readable():
            if not shard.pending and not shard.closed:
                self._read(shard)
            while shard.pending:
                record = shard.pending[0]
                try:
                    self._hand_over(record)
                except (BotoCoreError, ClientError) as exc:
                    shard.send_failures += 1
                    if shard.send_failures <= MAXIMUM_RETRY_ATTEMPTS:
                        raise
                    self._give_up(record, f"not sent after {MAXIMUM_RETRY_ATTEMPTS} retries: {exc}")
                shard.send_failures = 0
                shard.last_sequence = record["dynamodb"]["SequenceNumber"]
                shard.pending.popleft()

    def _read(self, shard: _Shard) -> None:
        if shard.iterator is None:
            shard.iterator = self._iterator(shard)
        try:
            answer = self._streams.get_records(ShardIterator=shard.iterator, Limit=RECORDS_PER_READ)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in _STALE_ITERATOR_ERRORS:
                raise
            logger.info("shard %s: iterator no longer valid, taking a new one", shard.shard_id)
            shard.iterator = None
            return
        shard.pending.extend(answer.get("Records", []))
        shard.iterator = answer.get("NextShardIterator")
        shard.closed = shard.iterator is None

    def _iterator(self, shard: _Shard) -> str:
        position: dict[str, str] = (
            {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": shard.last_sequence}
            if shard.last_sequence
            else {"ShardIteratorType": "TRIM_HORIZON"}
        )
        answer = self._streams.get_shard_iterator(
            StreamArn=self._stream_arn, ShardId=shard.shard_id, **position
        )
        return str(answer["ShardIterator"])

    def _hand_over(self, record: dict[str, Any]) -> None:
        try:
            routed = nudge_from_stream_record(record)
        except (KeyError, TypeError, ValidationError):
            # Not written by ingest (an item put by hand, or one stored before ingest kept its
            # group id): the stack's pipe cannot fill its message either.
            self._give_up(record, "not an incident version as ingest writes it")
            return
        if routed is None:
            return
        nudge, group_id, dedup_id = routed
        self._sqs.send_message(
            QueueUrl=self.queue_url,
            MessageBody=render_message(nudge),
            MessageGroupId=group_id,
            MessageDeduplicationId=dedup_id,
        )
        with self._lock:
            self._sent += 1
        if self._on_queued is not None:
            try:
                self._on_queued(nudge)
            except Exception:
                logger.exception("the queued-message listener failed")

    def _give_up(self, record: dict[str, Any], reason: str) -> None:
        logger.error(
            "stream record %s given up (the stack's pipe sends it to its DLQ): %s",
            record["eventID"],
            reason,
        )
        with self._lock:
            self._dead_lettered += 1
