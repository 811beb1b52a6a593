"""Write-back's echo ledger and circuit breaker, as items of the control table.

- ``ledger#<storage key>`` / ``<side>#<write>``: a write of ours on the desk or on BigPanda,
  taken (deleted) by the one echo it answers, else expired by the TTL;
- ``ledger#<storage key>`` / ``applied#<event id>``: a desk event applied, so a redelivery
  writes nothing;
- ``breaker#<storage key>`` / ``window#<n>``: mirrored writes in the n-th 10-minute window;
- ``breaker#<storage key>`` / ``open``: the breaker opened, when and after how many writes.

DynamoDB's TTL deletes expired items late (within days), so every read checks
``expires_at`` itself.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from pandabridge.names import Limits
from pandabridge.write_back import Side

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

LEDGER_PREFIX: Final = "ledger#"
BREAKER_PREFIX: Final = "breaker#"
OPEN_SK: Final = "open"


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _live(item: dict[str, Any] | None, now: float) -> bool:
    return bool(item) and float(item["expires_at"]["N"]) > now  # type: ignore[index]


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
                **_key(LEDGER_PREFIX + incident, f"{side.value}#{write}"),
                "expires_at": {"N": str(int(now + Limits.ECHO_LEDGER_TTL_SECONDS))},
            },
        )

    def take(self, incident: str, side: Side, write: str) -> bool:
        answer = self.dynamodb.delete_item(
            TableName=self.table_name,
            Key=_key(LEDGER_PREFIX + incident, f"{side.value}#{write}"),
            ReturnValues="ALL_OLD",
        )
        return _live(answer.get("Attributes"), self.clock())

    def applied(self, incident: str, event_id: str) -> bool:
        item = self.dynamodb.get_item(
            TableName=self.table_name,
            Key=_key(LEDGER_PREFIX + incident, f"applied#{event_id}"),
            ConsistentRead=True,
        ).get("Item")
        return _live(item, self.clock())

    def mark_applied(self, incident: str, event_id: str) -> None:
        now = self.clock()
        self.dynamodb.put_item(
            TableName=self.table_name,
            Item={
                **_key(LEDGER_PREFIX + incident, f"applied#{event_id}"),
                "expires_at": {"N": str(int(now + Limits.APPLIED_EVENT_TTL_SECONDS))},
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
            Key=_key(BREAKER_PREFIX + incident, OPEN_SK),
            ConsistentRead=True,
        ).get("Item")
        if not _live(item, self.clock()):
            return None
        return datetime.fromisoformat(item["opened_at"]["S"])  # type: ignore[index]

    def count_write(self, incident: str, at: datetime) -> int:
        window = int(at.timestamp()) // Limits.LOOP_WINDOW_SECONDS
        answer = self.dynamodb.update_item(
            TableName=self.table_name,
            Key=_key(BREAKER_PREFIX + incident, f"window#{window}"),
            UpdateExpression="ADD writes :one SET expires_at = :expires",
            ExpressionAttributeValues={
                ":one": {"N": "1"},
                ":expires": {"N": str((window + 2) * Limits.LOOP_WINDOW_SECONDS)},
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
                    **_key(BREAKER_PREFIX + incident, OPEN_SK),
                    "opened_at": {"S": at.astimezone(UTC).isoformat(timespec="seconds")},
                    "writes": {"N": str(writes)},
                    "expires_at": {"N": str(int(at.timestamp() + Limits.BREAKER_OPEN_SECONDS))},
                },
                ConditionExpression="attribute_not_exists(pk) OR expires_at < :now",
                ExpressionAttributeValues={":now": {"N": str(int(self.clock()))}},
            )

    def close(self, incident: str) -> None:
        """Let mirroring resume (an operator, after fixing the loop's cause)."""
        self.dynamodb.delete_item(
            TableName=self.table_name, Key=_key(BREAKER_PREFIX + incident, OPEN_SK)
        )
