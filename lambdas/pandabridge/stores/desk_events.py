"""Stored desk events: the control table's ``desk-event#<target>`` items, one per event.

The item is written once, with a conditional ``PutItem`` on its key; a refused write returns
the stored item (``ReturnValuesOnConditionCheckFailure``), whose ``queued_at`` tells a
redelivery that still has to be queued from one that was. Items expire after
``Limits.DESK_EVENT_TTL_SECONDS`` through the table's TTL. The ticket-sync worker reads an
event back with ``get``.

The table's keys find an event by target and id, not by incident, so each stored event also
gets a small pointer item under its incident, ``desk-event#incident#<storage key>`` /
``<time>#<target>#<event id>``, holding what ``ops inspect`` shows. One ``Query`` (newest
first, limited) then lists an incident's events without an index. Target names hold no ``#``,
so the pointers' partitions never meet a target's, and they stay inside the ``desk-event#``
prefix the desk-events function is already limited to (a ``PutItem``, no new grant).
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
INCIDENT_PREFIX: Final = f"{KEY_PREFIX}incident#"
# What a pointer copies of its event: what an operator reads about it.
POINTED: Final = ("target", "event_id", "kind", "actor", "actor_name", "ticket_key", "at")


def partition(target: str) -> str:
    return f"{KEY_PREFIX}{target}"


def incident_partition(incident_key: str) -> str:
    """The partition of the pointers to one incident's events."""
    return f"{INCIDENT_PREFIX}{incident_key}"


def _sort_time(at: str) -> str:
    """``at`` in UTC with a fixed width, so that pointers sort by when the desk acted; as it
    is when it is not ISO-8601, so that a redelivery still names the same pointer."""
    try:
        moment = datetime.fromisoformat(at)
    except ValueError:
        return at
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class DeskEventRecord:
    """One stored desk event of an incident, as its pointer and its item tell it."""

    target: str
    event_id: str
    kind: str
    actor: str
    actor_name: str
    ticket_key: str
    at: str
    stored: bool  # False once the event's own item expired
    queued_at: str | None


@dataclass
class DeskEventStore:
    """DynamoDB implementation of ``pandabridge.desk_event_intake.DeskEventRepository``."""

    table_name: str
    dynamodb: DynamoDBClient

    def save(self, event: DeskEvent) -> bool:
        now = time.time()
        fresh = self._put(event, now)
        if fresh:  # a redelivery not yet queued writes its pointer again, the same item
            self._point(event, now)
        return fresh

    def _point(self, event: DeskEvent, now: float) -> None:
        values = event.model_dump()
        item = {
            PK: incident_partition(event.incident_key),
            SK: f"{_sort_time(event.at)}#{event.target}#{event.event_id}",
            **{name: values[name] for name in POINTED},
            EXPIRES_AT: int(now) + Limits.DESK_EVENT_TTL_SECONDS,
        }
        self.dynamodb.put_item(TableName=self.table_name, Item=to_attributes(item))

    def _put(self, event: DeskEvent, now: float) -> bool:
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

    def recent(self, incident_key: str, limit: int) -> list[DeskEventRecord]:
        """The incident's last ``limit`` events, newest first, each with its queued mark."""
        pointers = self.dynamodb.query(
            TableName=self.table_name,
            KeyConditionExpression="#pk = :pk",
            ExpressionAttributeNames={"#pk": PK},
            ExpressionAttributeValues={":pk": {"S": incident_partition(incident_key)}},
            ScanIndexForward=False,
            Limit=limit,
        )["Items"]
        records = []
        for pointer in pointers:
            values = from_attributes(pointer)
            item = self.dynamodb.get_item(
                TableName=self.table_name,
                Key=control_key(partition(values["target"]), values["event_id"]),
                ProjectionExpression="#queued, #pk",
                ExpressionAttributeNames={"#queued": QUEUED_AT, "#pk": PK},
            ).get("Item")
            queued = (item or {}).get(QUEUED_AT, {}).get("S")
            records.append(
                DeskEventRecord(
                    **{name: str(values.get(name, "")) for name in POINTED},
                    stored=item is not None,
                    queued_at=queued,
                )
            )
        return records
