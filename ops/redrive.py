"""Move a dead-letter queue's messages back to the queue they came from.

SQS's own redrive (``StartMessageMoveTask``, source = the DLQ, destination = its source queue)
does the move server-side, keeps FIFO order and group ids, and can be throttled; this module
starts it and follows ``ListMessageMoveTasks`` until it ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, TextIO

from botocore.exceptions import ClientError

from ops.discovery import Resource, Resources
from ops.progress import Progress
from pandabridge.fifo import fifo_id

QUEUES: Final = {
    "ticket-sync": (Resource.TICKET_SYNC_QUEUE_URL, Resource.TICKET_SYNC_DLQ_URL),
    "callback": (Resource.CALLBACK_QUEUE_URL, Resource.CALLBACK_DLQ_URL),
}

POLL_SECONDS: Final = 2.0
RUNNING_STATES: Final = frozenset({"RUNNING", "CANCELLING"})
# Error codes with which an SQS-compatible endpoint declines an action it does not offer.
_UNSUPPORTED_CODES: Final = frozenset(
    {
        "UnsupportedOperation",
        "AWS.SimpleQueueService.UnsupportedOperation",
        "InvalidAction",
        "NotImplemented",
        "501",
    }
)
# Client-side move: how long a received DLQ message stays hidden while it is being moved.
_MOVE_VISIBILITY_SECONDS: Final = 60
_RECEIVE_BATCH: Final = 10


@dataclass(frozen=True)
class RedriveSummary:
    moved: int
    failed: int
    status: str  # COMPLETED, FAILED, CANCELLED, or EMPTY when there was nothing to move
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("COMPLETED", "EMPTY") and self.failed == 0


def command(
    sqs: Any,
    resources: Resources,
    queue: str,
    *,
    max_per_second: int | None,
    out: TextIO,
    sleep: Callable[[float], None] = time.sleep,
    poll_seconds: float = POLL_SECONDS,
) -> int:
    """``redrive {ticket-sync|callback}``: exit status 0 if every message moved, else 1."""
    source_resource, dlq_resource = QUEUES[queue]
    summary = redrive(
        sqs,
        dlq_url=resources[dlq_resource],
        source_url=resources[source_resource],
        max_per_second=max_per_second,
        progress=Progress(out, f"redrive {queue}", unit="moved"),
        out=out,
        sleep=sleep,
        poll_seconds=poll_seconds,
    )
    line = f"moved {summary.moved}, failed {summary.failed}"
    if summary.status not in ("COMPLETED", "EMPTY"):
        line += f" (move task {summary.status}: {summary.reason or 'no reason given'})"
    out.write(line + "\n")
    return 0 if summary.ok else 1


def redrive(
    sqs: Any,
    *,
    dlq_url: str,
    source_url: str,
    max_per_second: int | None,
    progress: Progress,
    out: TextIO,
    sleep: Callable[[float], None] = time.sleep,
    poll_seconds: float = POLL_SECONDS,
) -> RedriveSummary:
    dlq = sqs.get_queue_attributes(
        QueueUrl=dlq_url,
        AttributeNames=[
            "QueueArn",
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
        ],
    )["Attributes"]
    source_arn = sqs.get_queue_attributes(QueueUrl=source_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    waiting = int(dlq.get("ApproximateNumberOfMessages", 0))
    in_flight = int(dlq.get("ApproximateNumberOfMessagesNotVisible", 0))
    out.write(f"{_name(dlq_url)} -> {_name(source_url)}: {waiting} messages waiting\n")
    if waiting == 0 and in_flight == 0:
        return RedriveSummary(0, 0, "EMPTY")
    rate = {"MaxNumberOfMessagesPerSecond": max_per_second} if max_per_second else {}
    try:
        task = sqs.start_message_move_task(
            SourceArn=dlq["QueueArn"], DestinationArn=source_arn, **rate
        )
    except ClientError as error:
        if not is_unsupported(error):
            raise
        out.write("the endpoint has no StartMessageMoveTask: moving the messages client-side\n")
        return ClientSideMove(
            sqs, dlq_url, source_url, max_per_second=max_per_second, progress=progress, sleep=sleep
        ).run(total=waiting)
    out.write(f"move task {task['TaskHandle']} started\n")
    return follow(sqs, dlq["QueueArn"], progress, sleep=sleep, poll_seconds=poll_seconds)


def follow(
    sqs: Any,
    dlq_arn: str,
    progress: Progress,
    *,
    sleep: Callable[[float], None],
    poll_seconds: float,
) -> RedriveSummary:
    """Poll the most recent move task of the DLQ until it is no longer running.

    Interrupting this only stops watching: the task goes on in SQS.
    """
    while True:
        results = sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=1)["Results"]
        if not results:
            return RedriveSummary(0, 0, "FAILED", "SQS lists no move task for the DLQ")
        task = results[0]
        moved = int(task.get("ApproximateNumberOfMessagesMoved", 0))
        total = task.get("ApproximateNumberOfMessagesToMove")
        progress.update(moved, int(total) if total is not None else None)
        status = task["Status"]
        if status not in RUNNING_STATES:
            progress.finish()
            left = max(int(total or moved) - moved, 0)
            failed = 0 if status == "COMPLETED" else left
            return RedriveSummary(moved, failed, status, task.get("FailureReason"))
        sleep(poll_seconds)


def is_unsupported(error: ClientError) -> bool:
    """Whether the endpoint declined the action as one it does not implement.

    Besides SQS-style "unsupported" codes, this takes an HTML 500 page for "not implemented":
    SQS always answers with an error document, while moto's server, which the local stack runs
    on, answers an action it lacks with its web framework's HTML error page.
    """
    response = error.response
    if response.get("Error", {}).get("Code") in _UNSUPPORTED_CODES:
        return True
    metadata = response.get("ResponseMetadata", {})
    content_type = metadata.get("HTTPHeaders", {}).get("content-type", "")
    return metadata.get("HTTPStatusCode") == 500 and content_type.startswith("text/html")


@dataclass
class ClientSideMove:
    """The redrive done by hand, for endpoints without ``StartMessageMoveTask``.

    It exists because the local stack runs on moto, which does not implement the move-task
    actions; on AWS the server-side task is always used. It keeps FIFO semantics: each message
    is sent to the source with its own message group id, and deleted from the DLQ only after
    that send succeeded. Once a message of a group fails, the group's later messages stay in
    the DLQ too, so a group is never reordered.

    The deduplication id is derived from the original message id and this receive's count:
    a crash between send and delete re-sends the message on the next run (ticket sync and the
    callback absorb duplicates), while a message redriven, dead-lettered again and redriven
    once more within SQS's five-minute deduplication window is not swallowed.
    """

    sqs: Any
    dlq_url: str
    source_url: str
    max_per_second: int | None
    progress: Progress
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def run(self, *, total: int) -> RedriveSummary:
        moved = failed = 0
        failed_groups: set[str] = set()
        seen: set[str] = set()
        next_send = self.clock()
        while batch := self._receive():
            fresh = [m for m in batch if m["MessageId"] not in seen]
            if not fresh:
                break
            for message in fresh:
                seen.add(message["MessageId"])
                group = message.get("Attributes", {}).get("MessageGroupId")
                if group is not None and group in failed_groups:
                    failed += 1
                    self.progress.note(
                        f"kept {message['MessageId']} (group {group}): behind a failed message"
                    )
                    continue
                next_send = self._pace(next_send)
                try:
                    self.sqs.send_message(**self._resend(message))
                except ClientError as error:
                    failed += 1
                    if group is not None:
                        failed_groups.add(group)
                    self.progress.note(f"failed {message['MessageId']} (group {group}): {error}")
                    continue
                self.sqs.delete_message(
                    QueueUrl=self.dlq_url, ReceiptHandle=message["ReceiptHandle"]
                )
                moved += 1
                self.progress.update(moved, max(total, moved + failed))
        self.progress.finish()
        return RedriveSummary(moved, failed, "COMPLETED" if failed == 0 else "FAILED")

    def _receive(self) -> list[dict[str, Any]]:
        answer = self.sqs.receive_message(
            QueueUrl=self.dlq_url,
            MaxNumberOfMessages=_RECEIVE_BATCH,
            WaitTimeSeconds=0,
            VisibilityTimeout=_MOVE_VISIBILITY_SECONDS,
            AttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages: list[dict[str, Any]] = answer.get("Messages", [])
        return messages

    def _resend(self, message: dict[str, Any]) -> dict[str, Any]:
        attributes = message.get("Attributes", {})
        request: dict[str, Any] = {"QueueUrl": self.source_url, "MessageBody": message["Body"]}
        if "MessageGroupId" in attributes:
            count = attributes.get("ApproximateReceiveCount", "0")
            request["MessageGroupId"] = fifo_id(attributes["MessageGroupId"])
            request["MessageDeduplicationId"] = fifo_id(f"redrive-{message['MessageId']}-{count}")
        if message.get("MessageAttributes"):
            request["MessageAttributes"] = {
                name: _attribute_to_send(value)
                for name, value in message["MessageAttributes"].items()
            }
        return request

    def _pace(self, next_send: float) -> float:
        """Wait until ``next_send`` when a rate is set; returns when the send after may go."""
        if not self.max_per_second:
            return next_send
        now = self.clock()
        if now < next_send:
            self.sleep(next_send - now)
            now = next_send
        return now + 1 / self.max_per_second


def _attribute_to_send(value: dict[str, Any]) -> dict[str, Any]:
    """A received message attribute in the shape ``SendMessage`` takes."""
    sent = {"DataType": value["DataType"]}
    for part in ("StringValue", "BinaryValue"):
        if part in value:
            sent[part] = value[part]
    return sent


def _name(queue_url: str) -> str:
    return queue_url.rstrip("/").rsplit("/", 1)[-1]
