"""Write-back's echo ledger and circuit breaker, as items of the control table.

- ``ledger#<storage key>`` / ``<side>#<write>``: a write of ours on the desk or on BigPanda,
  taken (deleted) by the one echo it answers, else expired by the TTL;
- ``ledger#<storage key>`` / ``applied#<event id>``: a desk event applied, so a redelivery
  writes nothing;
- ``breaker#<storage key>`` / ``window#<n>``: mirrored writes in the n-th 10-minute window;
- ``breaker#<storage key>`` / ``open``: the breaker opened, when and after how many writes.

DynamoDB's TTL deletes expired items late (within days), so every read checks
``expires_at`` itself. Applied events are remembered as long as the desk events themselves.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from pandabridge.names import Limits
from pandabridge.stores.control import EXPIRES_AT, PK, control_key, expiry
from pandabridge.write_back import Side

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

LEDGER_PREFIX: Final = "ledger#"
BREAKER_PREFIX: Final = "breaker#"
OPEN_SK: Final = "open"


def _live(item: dict[str, Any] | None, now: float) -> bool:
    return bool(item) and float(item[EXPIRES_AT]["N"]) > now  # type: ignore[index]


def _window_sk(at: datetime) -> str:
    return f"window#{int(at.timestamp()) // Limits.LOOP_WINDOW_SECONDS}"


@dataclass
class DynamoEchoLedger:
    """``pandabridge.write_back.EchoLedger`` in the control table."""

    table_name: str
    dynamodb: DynamoDBClient
    clock: Callable[[], float] = field(default=time.time)

    def record(self, incident: str, side: Side, write: str) -> None:
        now = self.clock()
        self.dynamodb.put_item(
            TableName=self.table_name,
            Item={
                **control_key(LEDGER_PREFIX + incident, f"{side.value}#{write}"),
                EXPIRES_AT: expiry(now + Limits.ECHO_LEDGER_TTL_SECONDS),
            },
        )

    def take(self, incident: str, side: Side, write: str) -> bool:
        answer = self.dynamodb.delete_item(
            TableName=self.table_name,
            Key=control_key(LEDGER_PREFIX + incident, f"{side.value}#{write}"),
            ReturnValues="ALL_OLD",
        )
        return _live(answer.get("Attributes"), self.clock())

    def applied(self, incident: str, event_id: str) -> bool:
        item = self.dynamodb.get_item(
            TableName=self.table_name,
            Key=control_key(LEDGER_PREFIX + incident, f"applied#{event_id}"),
            ConsistentRead=True,
        ).get("Item")
        return _live(item, self.clock())

    def mark_applied(self, incident: str, event_id: str) -> None:
        now = self.clock()
        self.dynamodb.put_item(
            TableName=self.table_name,
            Item={
                **control_key(LEDGER_PREFIX + incident, f"applied#{event_id}"),
                EXPIRES_AT: expiry(now + Limits.DESK_EVENT_TTL_SECONDS),
            },
        )


@dataclass
class DynamoCircuitBreaker:
    """``pandabridge.write_back.CircuitBreaker`` in the control table: one atomic counter per
    incident and window."""

    table_name: str
    dynamodb: DynamoDBClient
    clock: Callable[[], float] = field(default=time.time)

    def opened_at(self, incident: str) -> datetime | None:
        item = self.dynamodb.get_item(
            TableName=self.table_name,
            Key=control_key(BREAKER_PREFIX + incident, OPEN_SK),
            ConsistentRead=True,
        ).get("Item")
        if not _live(item, self.clock()):
            return None
        return datetime.fromisoformat(item["opened_at"]["S"])  # type: ignore[index]

    def writes(self, incident: str, at: datetime) -> int:
        item = self.dynamodb.get_item(
            TableName=self.table_name,
            Key=control_key(BREAKER_PREFIX + incident, _window_sk(at)),
            ConsistentRead=True,
        ).get("Item")
        return int(item["writes"]["N"]) if item else 0

    def count_write(self, incident: str, at: datetime) -> int:
        window = int(at.timestamp()) // Limits.LOOP_WINDOW_SECONDS
        answer = self.dynamodb.update_item(
            TableName=self.table_name,
            Key=control_key(BREAKER_PREFIX + incident, _window_sk(at)),
            UpdateExpression="ADD writes :one SET #expires = :expires",
            ExpressionAttributeNames={"#expires": EXPIRES_AT},
            ExpressionAttributeValues={
                ":one": {"N": "1"},
                ":expires": expiry((window + 2) * Limits.LOOP_WINDOW_SECONDS),
            },
            ReturnValues="UPDATED_NEW",
        )
        return int(answer["Attributes"]["writes"]["N"])

    def open(self, incident: str, at: datetime, writes: int) -> None:
        """Open the breaker; the first opening is kept (its time is when the loop began)."""
        with contextlib.suppress(self.dynamodb.exceptions.ConditionalCheckFailedException):
            self.dynamodb.put_item(
                TableName=self.table_name,
                Item={
                    **control_key(BREAKER_PREFIX + incident, OPEN_SK),
                    "opened_at": {"S": at.astimezone(UTC).isoformat(timespec="seconds")},
                    "writes": {"N": str(writes)},
                    EXPIRES_AT: expiry(at.timestamp() + Limits.BREAKER_OPEN_SECONDS),
                },
                ConditionExpression="attribute_not_exists(#pk) OR #expires < :now",
                ExpressionAttributeNames={"#pk": PK, "#expires": EXPIRES_AT},
                ExpressionAttributeValues={":now": expiry(self.clock())},
            )

    def close(self, incident: str) -> None:
        """Let mirroring resume (an operator, after fixing the loop's cause)."""
        self.dynamodb.delete_item(
            TableName=self.table_name, Key=control_key(BREAKER_PREFIX + incident, OPEN_SK)
        )
