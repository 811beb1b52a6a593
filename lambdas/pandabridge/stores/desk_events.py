"""Stored desk events: the control table's ``desk-event#<target>`` items, one per event.

The item is written once, with a conditional ``PutItem`` on its key; a refused write returns
the stored item (``ReturnValuesOnConditionCheckFailure``), whose ``queued_at`` tells a
redelivery that still has to be queued from one that was. Items expire after
``Limits.DESK_EVENT_TTL_SECONDS`` through the table's TTL. The ticket-sync worker reads an
event back with ``get``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from pandabridge.desk_events import DeskEvent
from pandabridge.names import Limits
from pandabridge.stores.control import EXPIRES_AT, PK, SK, control_key
from pandabridge.stores.dynamo import from_attributes, to_attributes

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# The partition of a target's events; the stack limits the function's writes to it.
KEY_PREFIX: Final = "desk-event#"
QUEUED_AT: Final = "queued_at"


def partition(target: str) -> str:
    return f"{KEY_PREFIX}{target}"


@dataclass
class DeskEventStore:
    """DynamoDB implementation of ``pandabridge.desk_event_intake.DeskEventRepository``."""

    table_name: str
    dynamodb: DynamoDBClient

    def save(self, event: DeskEvent) -> bool:
        now = time.time()
        item = {
            PK: partition(event.target),
            SK: event.event_id,
            **{name: value for name, value in event.model_dump().items() if value is not None},
            "stored_at": datetime.fromtimestamp(now, UTC).isoformat(),
            EXPIRES_AT: int(now) + Limits.DESK_EVENT_TTL_SECONDS,
        }
        try:
            self.dynamodb.put_item(
                TableName=self.table_name,
                Item=to_attributes(item),
                ConditionExpression="attribute_not_exists(#pk)",
                ExpressionAttributeNames={"#pk": PK},
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self.dynamodb.exceptions.ConditionalCheckFailedException as refused:
            stored = refused.response.get("Item", {})
            return QUEUED_AT not in stored
        return True

    def mark_queued(self, event: DeskEvent) -> None:
        self.dynamodb.update_item(
            TableName=self.table_name,
            Key=control_key(partition(event.target), event.event_id),
            UpdateExpression="SET #queued = :at",
            ConditionExpression="attribute_exists(#pk)",
            ExpressionAttributeNames={"#queued": QUEUED_AT, "#pk": PK},
            ExpressionAttributeValues={":at": {"S": datetime.now(UTC).isoformat()}},
        )

    def get(self, target: str, event_id: str) -> DeskEvent | None:
        """The stored event, or None once it expired (or was never stored)."""
        item = self.dynamodb.get_item(
            TableName=self.table_name,
            Key=control_key(partition(target), event_id),
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            return None
        values: dict[str, Any] = from_attributes(item)
        return DeskEvent.model_validate(
            {name: values[name] for name in DeskEvent.model_fields if name in values}
        )
