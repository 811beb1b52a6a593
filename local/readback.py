"""Reads an incident back through the store, to show what a delivery left behind."""

from __future__ import annotations

from pandabridge.names import PAYLOAD_BUCKET


def describe_stored(incident_id: str) -> str | None:
    """One line on the stored incident, or ``None`` if the store does not have it."""
    # Imported here: the store belongs to the functions' code and reads their settings, which
    # the local stack puts into the environment only once the moto server is up.
    from pandabridge.stores.incidents import get_incident

    stored = get_incident(incident_id)
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
