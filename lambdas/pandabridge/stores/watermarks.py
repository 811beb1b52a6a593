"""The reconciler's items in the control table, all under ``watermark#<integration>``:

- per environment, the end of the last search window handled in full
  (``pandabridge.reconcile.Watermarks``): sort key ``<environment>``, ``until`` (epoch s);
- per incident whose activities showed no share to us, the ``changed_at`` they were read at
  (``pandabridge.reconcile.ShareVerdicts``): sort key ``not-shared#<incident id>``, expiring
  after ``VERDICT_TTL_SECONDS`` (long after any window that could hold that change).

The watermark's write The write
is conditional on moving forward, so two runs that overlap (a slow run and the next one) never
move a watermark back over a window only the slower one had searched. A watermark expires
after ``WATERMARK_TTL_SECONDS`` without a run: the reconciler then starts afresh from one
period back, rather than searching weeks of BigPanda's history at once.
"""

from __future__ import annotations

import time
from contextlib import suppress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from pandabridge.stores.control import EXPIRES_AT, control_key, expiry

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

WATERMARK_PREFIX: Final = "watermark#"
WATERMARK_TTL_SECONDS: Final = 7 * 24 * 3600
VERDICT_PREFIX: Final = "not-shared#"
VERDICT_TTL_SECONDS: Final = 24 * 3600


@dataclass
class WatermarkStore:
    table_name: str
    dynamodb: DynamoDBClient

    def get(self, integration: str, environment: str) -> int | None:
        response = self.dynamodb.get_item(
            TableName=self.table_name,
            Key=control_key(f"{WATERMARK_PREFIX}{integration}", environment),
            ConsistentRead=True,
        )
        item = response.get("Item")
        if item is None or "until" not in item:
            return None
        return int(item["until"]["N"])

    def not_shared_at(self, integration: str, incident_id: str) -> int | float | None:
        response = self.dynamodb.get_item(
            TableName=self.table_name,
            Key=control_key(f"{WATERMARK_PREFIX}{integration}", f"{VERDICT_PREFIX}{incident_id}"),
        )
        item = response.get("Item")
        if item is None or "changed_at" not in item:
            return None
        return _number(item["changed_at"]["N"])

    def remember_not_shared(
        self, integration: str, incident_id: str, changed_at: int | float | None
    ) -> None:
        if changed_at is None:
            return
        self.dynamodb.put_item(
            TableName=self.table_name,
            Item={
                **control_key(f"{WATERMARK_PREFIX}{integration}", f"{VERDICT_PREFIX}{incident_id}"),
                "changed_at": {"N": repr(changed_at)},
                EXPIRES_AT: expiry(time.time() + VERDICT_TTL_SECONDS),
            },
        )

    def advance(self, integration: str, environment: str, until: int) -> None:
        # A later run got there first when the condition fails: the watermark stays.
        with suppress(self.dynamodb.exceptions.ConditionalCheckFailedException):
            self.dynamodb.put_item(
                TableName=self.table_name,
                Item={
                    **control_key(f"{WATERMARK_PREFIX}{integration}", environment),
                    "until": {"N": str(int(until))},
                    EXPIRES_AT: expiry(until + WATERMARK_TTL_SECONDS),
                },
                ConditionExpression="attribute_not_exists(#until) OR #until < :until",
                ExpressionAttributeNames={"#until": "until"},
                ExpressionAttributeValues={":until": {"N": str(int(until))}},
            )


def _number(text: str) -> int | float:
    return float(text) if any(c in text for c in ".eE") else int(text)
