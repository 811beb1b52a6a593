"""SQS calls the consumers make themselves: sending on, postponing, and dead-lettering.

Lambda's event source mapping deletes what succeeded and returns what failed after the
queue's visibility timeout (6x the function timeout). The consumers shorten that to their
backoff, and send a message that can never succeed straight to the DLQ instead of letting it
fail ``maxReceiveCount`` times against a system that will refuse it each time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from pandabridge.fifo import fifo_id
from pandabridge.messages import CallbackRequest, DeskEventNudge

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

# SQS message attribute values are limited; a reason is one readable line.
_MAX_REASON_CHARS: Final = 512


@dataclass
class CallbackQueue:
    """The callback queue, as ticket sync sends to it: one message per incident.

    The deduplication id is the incident id, so the sends of two syncs that both found the
    callback owed (a retry after a crash, a redrive racing the original) collapse into one
    message within SQS's five-minute window; after it, the callback function's own record of
    the confirmation stops a second call.
    """

    queue_url: str
    sqs: SQSClient

    def send(self, request: CallbackRequest) -> None:
        key = fifo_id(request.incident_id)
        self.sqs.send_message(
            QueueUrl=self.queue_url,
            MessageBody=request.model_dump_json(),
            MessageGroupId=key,
            MessageDeduplicationId=key,
        )


@dataclass
class QueueControl:
    """Visibility changes and dead-lettering for the queue an event came from."""

    sqs: SQSClient
    _urls: dict[str, str] = field(default_factory=dict)
    _max_receive_counts: dict[str, int | None] = field(default_factory=dict)

    def max_receive_count(self, queue_arn: str) -> int | None:
        """The queue's redrive ``maxReceiveCount`` (None without a DLQ); cached."""
        if queue_arn not in self._max_receive_counts:
            attributes = self.sqs.get_queue_attributes(
                QueueUrl=self.queue_url(queue_arn), AttributeNames=["RedrivePolicy"]
            ).get("Attributes", {})
            policy = json.loads(attributes.get("RedrivePolicy", "{}"))
            count = policy.get("maxReceiveCount")
            self._max_receive_counts[queue_arn] = int(count) if count is not None else None
        return self._max_receive_counts[queue_arn]

    def send_again(self, queue_arn: str, record: dict[str, Any]) -> None:
        """Put a fresh copy of a received message at the end of its group: its receive count
        starts again, while the caller reports the old one processed. FIFO queues have no
        per-message delay, so the copy is due at once; its consumer postpones it again."""
        attributes = record.get("attributes", {})
        fifo: dict[str, Any] = {}
        if "MessageGroupId" in attributes:
            fifo = {
                "MessageGroupId": attributes["MessageGroupId"],
                # A redelivery of the same old message makes the same copy, deduplicated.
                "MessageDeduplicationId": fifo_id(f"{record['messageId']}/again"),
            }
        self.sqs.send_message(
            QueueUrl=self.queue_url(queue_arn), MessageBody=record["body"], **fifo
        )

    def postpone(self, queue_arn: str, delays: Iterable[tuple[str, int]]) -> None:
        """Make each (receipt handle, seconds) message visible again after its delay."""
        entries = [
            {"Id": str(n), "ReceiptHandle": handle, "VisibilityTimeout": seconds}
            for n, (handle, seconds) in enumerate(delays)
        ]
        url = self.queue_url(queue_arn)
        for start in range(0, len(entries), 10):  # the API takes 10 entries per call
            self.sqs.change_message_visibility_batch(
                QueueUrl=url, Entries=entries[start : start + 10]
            )

    def dead_letter(self, dlq_url: str, record: dict[str, Any], reason: str) -> None:
        """Copy a message to the DLQ with the reason; the caller then reports it processed."""
        attributes = record.get("attributes", {})
        fifo: dict[str, Any] = {}
        if "MessageGroupId" in attributes:
            fifo = {
                "MessageGroupId": fifo_id(attributes["MessageGroupId"]),
                # A redelivered copy of the same message is deduplicated by the DLQ.
                "MessageDeduplicationId": fifo_id(record["messageId"]),
            }
        self.sqs.send_message(
            QueueUrl=dlq_url,
            MessageBody=record["body"],
            MessageAttributes={
                "reason": {"DataType": "String", "StringValue": reason[:_MAX_REASON_CHARS]}
            },
            **fifo,
        )

    def queue_url(self, queue_arn: str) -> str:
        """The URL of the queue an event came from (events carry only its ARN); cached."""
        if queue_arn not in self._urls:
            _, _, _, _, account, name = queue_arn.split(":", 5)
            answer = self.sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)
            self._urls[queue_arn] = answer["QueueUrl"]
        return self._urls[queue_arn]


@dataclass
class DeskEventQueue:
    """The ticket-sync queue, as the desk-events function sends to it: each event in its
    incident's message group, behind BigPanda's versions of that incident.

    The deduplication id is a digest of the target and the event id, so two sends of one event
    (a redelivery whose queueing was not recorded) collapse into one message within SQS's
    five-minute window.
    """

    queue_url: str
    sqs: SQSClient

    def send(self, nudge: DeskEventNudge) -> None:
        dedupe = hashlib.sha256(f"{nudge.target}\n{nudge.event_id}".encode()).hexdigest()
        self.sqs.send_message(
            QueueUrl=self.queue_url,
            MessageBody=nudge.model_dump_json(),
            MessageGroupId=fifo_id(nudge.incident_id),
            MessageDeduplicationId=dedupe,
        )
