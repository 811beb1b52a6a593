"""The control table: small coordination items, each owner under its own ``pk`` prefix.

Every item carries ``expires_at`` (epoch seconds), so DynamoDB's TTL removes it and no owner
sweeps. This module holds the key helpers every owner uses and the rate limiter's windows
(``ratelimit#<org>``, sort key ``<kind>#<window start>``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from pandabridge.names import CONTROL_TABLE
from pandabridge.rate_limit import RATE_LIMIT_PREFIX, WINDOWS, Kind, Window, window_full

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient


def _declared(value: str | None, what: str) -> str:
    if value is None:
        raise RuntimeError(f"names.CONTROL_TABLE declares no {what}")
    return value


PK: Final = CONTROL_TABLE.partition_key
SK: Final = _declared(CONTROL_TABLE.sort_key, "sort key")
EXPIRES_AT: Final = _declared(CONTROL_TABLE.ttl_attribute, "TTL attribute")
# A window's counter outlives its window by this much, then the TTL may delete it (DynamoDB
# deletes expired items within days; a stale counter of a past window is never read again).
WINDOW_ITEM_GRACE_SECONDS: Final = 60


def control_key(pk: str, sk: str) -> dict[str, Any]:
    """The control table's key of one item, as a DynamoDB request names it."""
    return {PK: {"S": pk}, SK: {"S": sk}}


def expiry(epoch_seconds: float) -> dict[str, Any]:
    """The ``expires_at`` value for an item that may be deleted after ``epoch_seconds``."""
    return {"N": str(int(epoch_seconds))}


@dataclass
class DynamoRateLimiter:
    """``rate_limit.RateLimiter`` over the control table: one counter item per window.

    Taking a slot is one conditional ``UpdateItem`` that adds 1 unless the counter has reached
    the limit, so concurrent invocations never let more than the limit through one window.
    """

    table_name: str
    dynamodb: DynamoDBClient
    clock: Callable[[], float] = time.time

    def acquire(self, org: str, kind: Kind) -> None:
        now = self.clock()
        for window in WINDOWS[kind]:
            self._take(org, window, now)

    def _take(self, org: str, window: Window, now: float) -> None:
        start = window.start(now)
        try:
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key=control_key(f"{RATE_LIMIT_PREFIX}{org}", f"{window.kind}#{start}"),
                UpdateExpression="ADD #used :one SET #expires = :expires",
                ConditionExpression="attribute_not_exists(#used) OR #used < :limit",
                ExpressionAttributeNames={"#used": "used", "#expires": EXPIRES_AT},
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":limit": {"N": str(window.limit)},
                    ":expires": expiry(start + window.seconds + WINDOW_ITEM_GRACE_SECONDS),
                },
            )
        except self.dynamodb.exceptions.ConditionalCheckFailedException:
            raise window_full(org, window, now) from None
