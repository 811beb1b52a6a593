"""From the incidents table's stream to the ticket-sync queue: the EventBridge Pipe's job.

The stack gives the pipe ``FILTER_PATTERN``, ``INPUT_TEMPLATE``, ``GROUP_ID_PATH`` and
``DEDUP_ID_PATH``; the local stack, which has no Pipes, calls ``nudge_from_stream_record`` on
the same stream records. Both must agree, and a test checks that they do.
"""

from __future__ import annotations

import json
from typing import Any, Final

from pandabridge.messages import SyncNudge
from pandabridge.names import INCIDENTS_TABLE

# Only ingest writes the incidents table, and only when a delivery is created or updated, so
# every INSERT and MODIFY is a change worth syncing. REMOVE (deleting an incident) is not.
SYNC_EVENT_NAMES: Final = ("INSERT", "MODIFY")
FILTER_PATTERN: Final = {"eventName": list(SYNC_EVENT_NAMES)}

# A record the pipe cannot send after this many retries goes to the pipe's DLQ (as a pointer
# to the shard and sequence numbers) instead of blocking its shard until the record expires.
# Sends fail only if SQS is unavailable or refuses the message, which retries outlast.
MAXIMUM_RETRY_ATTEMPTS: Final = 10

_KEY = f"$.dynamodb.Keys.{INCIDENTS_TABLE.partition_key}.S"
_VERSION = "$.dynamodb.NewImage.version_key.S"
_HASH = "$.dynamodb.NewImage.content_hash.S"
# The id itself is no valid group id when it is long or holds characters SQS refuses, and a
# pipe can only copy values; ingest stores the derived group id (``pandabridge.fifo``) beside it.
GROUP_ID_ATTRIBUTE: Final = "fifo_group_id"

GROUP_ID_PATH: Final = f"$.dynamodb.NewImage.{GROUP_ID_ATTRIBUTE}.S"
# Deduplication is scoped to the message group (the incident), so the hash alone is
# "incident id plus hash" and stays within SQS's 128-character limit.
DEDUP_ID_PATH: Final = _HASH
# Pipes escape the string values they substitute, so any incident id gives valid JSON.
INPUT_TEMPLATE: Final = (
    f'{{"incident_id": "<{_KEY}>", "version": "<{_VERSION}>", "sha256": "<{_HASH}>"}}'
)


def nudge_from_stream_record(record: dict[str, Any]) -> tuple[SyncNudge, str, str] | None:
    """The message, group id and deduplication id the pipe sends for a stream record, or None
    if the filter drops it. ``KeyError`` if a path the pipe reads is missing (an item not
    written by ingest, or written before the group id was stored)."""
    if record.get("eventName") not in SYNC_EVENT_NAMES:
        return None
    image = record["dynamodb"]["NewImage"]
    incident_id = record["dynamodb"]["Keys"][INCIDENTS_TABLE.partition_key]["S"]
    nudge = SyncNudge(
        incident_id=incident_id,
        version=image["version_key"]["S"],
        sha256=image["content_hash"]["S"],
    )
    return nudge, image[GROUP_ID_ATTRIBUTE]["S"], nudge.sha256


def render_message(nudge: SyncNudge) -> str:
    return json.dumps(nudge.model_dump())
