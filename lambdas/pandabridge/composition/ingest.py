"""The ingest function's collaborators: the incident store (the table and the payload bucket).

Ticket sync reads incidents through the same store, and the local stack's console reads them
back through it.
"""

from __future__ import annotations

from functools import cache

from pandabridge.aws_clients import client
from pandabridge.settings import storage_settings
from pandabridge.stores.incidents import IncidentStore


@cache
def incident_store() -> IncidentStore:
    """The store of this process, built from its settings on first use."""
    settings = storage_settings()
    return IncidentStore(
        table_name=settings.incidents_table_name,
        bucket_name=settings.payload_bucket_name,
        dynamodb=client("dynamodb"),
        s3=client("s3"),
        inline_payload_max_bytes=settings.inline_payload_max_bytes,
    )
