"""An incident's archived versions in the payload bucket, listed and read back as received.

The keys come from ``pandabridge.stores.incidents.archive_key``: the folder of an incident is
that key without its last segment, and a listed key is kept only if the store would have
written it, so the layout is defined in one place.
"""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pandabridge.stores.incidents import archive_key


@dataclass(frozen=True)
class ArchivedVersion:
    key: str
    content_hash: str
    last_modified: datetime
    compressed_bytes: int


def incident_prefix(incident_id: str) -> str:
    """The key prefix under which every version of one incident is archived."""
    sample = archive_key(incident_id, "")
    return sample[: sample.rindex("/") + 1]


def list_versions(s3: Any, bucket: str, incident_id: str) -> list[ArchivedVersion]:
    """Every archived version of the incident, oldest first (by the object's LastModified)."""
    prefix = incident_prefix(incident_id)
    suffix = archive_key(incident_id, "")[len(prefix) :]
    versions = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            content_hash = obj["Key"][len(prefix) :].removesuffix(suffix)
            if archive_key(incident_id, content_hash) != obj["Key"]:
                continue  # not a version the store wrote (a deeper key, another suffix)
            versions.append(
                ArchivedVersion(obj["Key"], content_hash, obj["LastModified"], obj["Size"])
            )
    return sorted(versions, key=lambda v: (v.last_modified, v.key))


def read_raw(s3: Any, bucket: str, key: str) -> bytes:
    """The body exactly as it was received.

    ``IncidentStore.archived_payload`` returns the parsed document; a replay needs the bytes,
    since the stored size and the archived object are of the bytes as received.
    """
    body: bytes = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    return gzip.decompress(body)
