"""The incidents table and the payload bucket: the only code that stores or reads incidents.

Each accepted delivery is first archived to S3 (gzip, keyed by incident id and content hash),
then written to the table in ONE conditional ``PutItem``:

    attribute_not_exists(incident_id)
    OR version_key < :new_version_key
    OR (version_key = :new_version_key AND content_hash <> :new_hash)

DynamoDB evaluates the condition and the write atomically, so concurrent deliveries of one
incident cannot both see "absent" (no read-then-write race). The refused write returns the stored
item (``ReturnValuesOnConditionCheckFailure``), which tells a duplicate from a stale delivery.

The archive object is written once and never replaced (S3's ``If-None-Match: *``): bodies whose
bytes differ but whose canonical JSON is the same share a key, and the first one received is the
one kept. A refused write (412) means "already archived", not an error.

The item keeps the gzip payload inline when it is small, else only the archive key: incidents of
thousands of alerts exceed DynamoDB's 400 KB item limit many times over.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import quote

from botocore.exceptions import ClientError

from pandabridge.identity import DEFAULT_INTEGRATION
from pandabridge.incidents import (
    IncidentSummary,
    SaveOutcome,
    StoredIncident,
    outcome_of_write,
)
from pandabridge.names import INCIDENTS_TABLE, PAYLOAD_BUCKET, Limits
from pandabridge.stores.dynamo import from_attributes, to_attributes
from pandabridge.versioning import Part, Version

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client

KEY: Final = INCIDENTS_TABLE.partition_key

_PUT_CONDITION: Final = "attribute_not_exists(#id) OR #vk < :vk OR (#vk = :vk AND #hash <> :hash)"
# S3's answer to a conditional write whose object exists; 409 when another write of the same
# key is in progress, which is retried until one of them has finished.
_ALREADY_ARCHIVED: Final = "PreconditionFailed"
_CONCURRENT_WRITE: Final = "ConditionalRequestConflict"
_ARCHIVE_ATTEMPTS: Final = 3
# Path tools read these segments as "here" and "up": ``aws s3 sync`` and ``cp --recursive`` skip
# keys that hold them.
_DOT_SEGMENTS: Final = frozenset({".", ".."})


def archive_key(incident_id: str, content_hash: str) -> str:
    """Where a version's raw body is archived; the id is escaped so any id is one path segment,
    and the dots of the ids "." and ".." too (``quote`` leaves dots, and any other id's key as
    it always was)."""
    segment = quote(incident_id, safe="")
    if segment in _DOT_SEGMENTS:
        segment = segment.replace(".", "%2E")
    return f"{PAYLOAD_BUCKET.key_prefix}{segment}/{content_hash}.json.gz"


@dataclass
class IncidentStore:
    """DynamoDB + S3 implementation of ``pandabridge.incidents.IncidentRepository``."""

    table_name: str
    bucket_name: str
    dynamodb: DynamoDBClient
    s3: S3Client
    inline_payload_max_bytes: int = Limits.INLINE_PAYLOAD_MAX_BYTES

    def save_if_newer(self, summary: IncidentSummary, raw: bytes) -> SaveOutcome:
        compressed = gzip.compress(raw, compresslevel=Limits.GZIP_LEVEL, mtime=0)
        key = archive_key(summary.incident_id, summary.content_hash)
        self._archive(key, compressed)
        item = _summary_item(summary) | {"archive_key": key}
        if len(compressed) <= self.inline_payload_max_bytes:
            item["payload"] = compressed
        try:
            response = self.dynamodb.put_item(
                TableName=self.table_name,
                Item=to_attributes(item),
                ConditionExpression=_PUT_CONDITION,
                ExpressionAttributeNames={
                    "#id": KEY,
                    "#vk": "version_key",
                    "#hash": "content_hash",
                },
                ExpressionAttributeValues=to_attributes(
                    {":vk": summary.version.key, ":hash": summary.content_hash}
                ),
                ReturnValues="ALL_OLD",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self.dynamodb.exceptions.ConditionalCheckFailedException as refused:
            stored = from_attributes(refused.response.get("Item", {}))
            result = outcome_of_write(
                written=False,
                replaced=True,
                stored_hash=stored.get("content_hash"),
                content_hash=summary.content_hash,
            )
            return SaveOutcome(result, _version(stored.get("version")))
        result = outcome_of_write(
            written=True,
            replaced=bool(response.get("Attributes")),
            stored_hash=None,
            content_hash=summary.content_hash,
        )
        return SaveOutcome(result, summary.version)

    def _archive(self, key: str, compressed: bytes) -> None:
        """Write the archive object unless it exists: what was archived is never replaced."""
        for attempt in range(1, _ARCHIVE_ATTEMPTS + 1):
            try:
                self.s3.put_object(
                    Bucket=self.bucket_name,
                    Key=key,
                    Body=compressed,
                    ContentType="application/json",
                    ContentEncoding="gzip",
                    IfNoneMatch="*",
                )
                return
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code")
                if code == _ALREADY_ARCHIVED:
                    return
                if code != _CONCURRENT_WRITE or attempt == _ARCHIVE_ATTEMPTS:
                    raise

    def get(self, incident_id: str) -> StoredIncident | None:
        response = self.dynamodb.get_item(
            TableName=self.table_name,
            Key=to_attributes({KEY: incident_id}),
            ConsistentRead=True,
        )
        if "Item" not in response:
            return None
        item = from_attributes(response["Item"])
        inline = "payload" in item
        compressed = bytes(item["payload"]) if inline else self._archived(item["archive_key"])
        if compressed is None:
            raise LookupError(
                f"the payload of incident {incident_id} is no longer archived "
                f"(s3://{self.bucket_name}/{item['archive_key']})"
            )
        return StoredIncident(
            summary=_summary_from_item(item),
            payload=json.loads(gzip.decompress(compressed)),
            archive_key=item["archive_key"],
            payload_inline=inline,
        )

    def stored_version(self, incident_id: str) -> Version | None:
        """The stored version alone (no payload read), or None for an incident never stored:
        what the reconciler compares BigPanda's ``changed_at`` with."""
        response = self.dynamodb.get_item(
            TableName=self.table_name,
            Key=to_attributes({KEY: incident_id}),
            ProjectionExpression="#version",
            ExpressionAttributeNames={"#version": "version"},
            ConsistentRead=True,
        )
        if "Item" not in response:
            return None
        return _version(from_attributes(response["Item"]).get("version"))

    def archived_payload(self, incident_id: str, content_hash: str) -> dict[str, Any] | None:
        """One archived version's payload, or None once the archive expired it."""
        compressed = self._archived(archive_key(incident_id, content_hash))
        return json.loads(gzip.decompress(compressed)) if compressed is not None else None

    def _archived(self, key: str) -> bytes | None:
        try:
            obj = self.s3.get_object(Bucket=self.bucket_name, Key=key)
        except self.s3.exceptions.NoSuchKey:
            return None
        body: bytes = obj["Body"].read()
        return body


def _summary_item(summary: IncidentSummary) -> dict[str, Any]:
    """The summary as item attributes; DynamoDB has no use for nulls, so an absent field is
    no attribute."""
    item = {name: value for name, value in summary.as_json().items() if value is not None}
    item[KEY] = item.pop("incident_id")
    if not summary.recovered:
        del item["recovered"]  # only a recovered version carries the mark
    return item


def _summary_from_item(item: dict[str, Any]) -> IncidentSummary:
    return IncidentSummary(
        incident_id=item[KEY],
        version=_version(item.get("version")),
        content_hash=item["content_hash"],
        status=item.get("status"),
        severity=item.get("severity"),
        active=item.get("active"),
        flapping=item.get("flapping"),
        resolved=bool(item.get("resolved")),
        alert_count=int(item.get("alert_count", 0)),
        environment_id=item.get("environment_id"),
        started_on=_number(item.get("started_on")),
        updated_on=_number(item.get("updated_on")),
        received_at=datetime.fromisoformat(item["received_at"]).astimezone(UTC),
        payload_bytes=int(item.get("payload_bytes", 0)),
        # Items written before integrations existed carry neither attribute: the default's.
        integration=item.get("integration", DEFAULT_INTEGRATION),
        recovered=bool(item.get("recovered")),
    )


def _version(parts: list[Any] | None) -> Version:
    return Version(*(_number(p) for p in (parts or (None, None, None))))


def _number(value: Any) -> Part:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value
