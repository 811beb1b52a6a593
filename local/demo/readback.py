"""Reads back through the stores what the functions left behind, for the console."""

from __future__ import annotations

from datetime import datetime

from local.aws import aws_client
from local.names import PAYLOAD_BUCKET, TICKETS_TABLE
from pandabridge.stores.tickets import TicketStateStore


def describe_stored(incident_id: str) -> str | None:
    """One line on the stored incident, or ``None`` if the store does not have it."""
    # Imported here: the store belongs to the functions' code and reads their settings, which
    # the local stack puts into the environment only once the moto server is up.
    from pandabridge.composition.ingest import incident_store

    stored = incident_store().get(incident_id)
    if stored is None:
        return None
    summary = stored.summary
    where = "inline in the item" if stored.payload_inline else "in S3 only"
    return ", ".join(
        [
            f"status {summary.status}",
            f"severity {summary.severity}",
            "active" if summary.active else "not active",
            f"{summary.alert_count} alerts",
            f"payload {summary.payload_bytes:,} bytes ({where})",
            f"archived at s3://{PAYLOAD_BUCKET.local_name}/{stored.archive_key}",
        ]
    )


def stored_receipt(incident_id: str) -> datetime | None:
    """When ingest received the incident's stored (latest) version, ``None`` if not stored."""
    from pandabridge.composition.ingest import incident_store  # as in ``describe_stored``

    stored = incident_store().get(incident_id)
    return stored.summary.received_at if stored else None


class CallbackConfirmations:
    """When the callback function recorded BigPanda's confirmation of each incident's ticket,
    read from the tickets table as the function wrote it."""

    def __init__(self, endpoint: str) -> None:
        self._store = TicketStateStore(TICKETS_TABLE.local_name, aws_client("dynamodb", endpoint))

    def confirmed_at(self, incident_id: str) -> datetime | None:
        state = self._store.get(incident_id)
        return state.callback_confirmed_at if state else None
