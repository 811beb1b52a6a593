"""The ingest decision: what a delivery changes about the stored incident.

Free of AWS: a repository (``pandabridge.stores.incidents``) performs the single conditional
write, and this module names its outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from pandabridge.fifo import fifo_id
from pandabridge.identity import DEFAULT_INTEGRATION, IncidentKey
from pandabridge.parsing import ParsedWebhook
from pandabridge.versioning import Version


class IngestResult(StrEnum):
    CREATED = "created"  # the first delivery of this incident id
    UPDATED = "updated"  # a newer version, or the same version with other content
    DUPLICATE = "duplicate"  # the stored content again; nothing changed
    STALE = "stale"  # older than what is stored; the stored state is unchanged

    @property
    def stored(self) -> bool:
        """Whether this delivery became the incident's stored state."""
        return self in (IngestResult.CREATED, IngestResult.UPDATED)


@dataclass(frozen=True)
class IncidentSummary:
    """The attributes kept beside the payload, for queries, dashboards and ticket sync.

    ``incident_id`` is the storage key (``pandabridge.identity``): BigPanda's id for the
    integration ``default``, ``<integration>#<id>`` for any other."""

    incident_id: str
    version: Version
    content_hash: str
    status: str | None
    severity: str | None
    active: bool | None
    flapping: bool | None
    resolved: bool
    alert_count: int
    environment_id: str | None
    started_on: int | float | None
    updated_on: int | float | None
    received_at: datetime
    payload_bytes: int
    integration: str = DEFAULT_INTEGRATION
    # Found by the reconciler in BigPanda's API, not delivered by the webhook (a missed
    # delivery, see ``pandabridge.reconcile``).
    recovered: bool = False

    @classmethod
    def of(
        cls,
        webhook: ParsedWebhook,
        received_at: datetime,
        integration: str = DEFAULT_INTEGRATION,
        *,
        recovered: bool = False,
    ) -> IncidentSummary:
        incident = webhook.payload.incident
        metadata = webhook.payload.metadata
        return cls(
            incident_id=IncidentKey(integration, incident.id).storage_key,
            integration=integration,
            version=webhook.version,
            content_hash=webhook.content_hash,
            status=incident.status,
            severity=incident.severity,
            active=incident.active,
            flapping=incident.flapping,
            resolved=incident.is_resolved,
            alert_count=len(incident.alerts or ()),
            environment_id=metadata.environment_id if metadata else None,
            started_on=incident.startedOn,
            updated_on=incident.updatedOn,
            received_at=received_at,
            payload_bytes=len(webhook.raw),
            recovered=recovered,
        )

    @property
    def key(self) -> IncidentKey:
        return IncidentKey(self.integration, self.bigpanda_incident_id)

    @property
    def bigpanda_incident_id(self) -> str:
        """BigPanda's own id of the incident, as the webhook body carries it."""
        if self.integration == DEFAULT_INTEGRATION:
            return self.incident_id
        return self.incident_id.removeprefix(IncidentKey(self.integration, "").storage_key)

    @property
    def fifo_group_id(self) -> str:
        """The incident's SQS message group. Stored as an attribute because the pipe can only
        copy a value from the stream record, not derive one."""
        return fifo_id(self.incident_id)

    def as_json(self) -> dict[str, Any]:
        """The summary as JSON values: the incidents table's attributes and ``ops inspect``'s
        output are both made from this one mapping."""
        return {
            "incident_id": self.incident_id,
            "integration": self.integration,
            "bigpanda_incident_id": self.bigpanda_incident_id,
            "fifo_group_id": self.fifo_group_id,
            "version": self.version.as_json(),
            "version_key": self.version.key,
            "content_hash": self.content_hash,
            "status": self.status,
            "severity": self.severity,
            "active": self.active,
            "flapping": self.flapping,
            "resolved": self.resolved,
            "alert_count": self.alert_count,
            "environment_id": self.environment_id,
            "started_on": self.started_on,
            "updated_on": self.updated_on,
            "received_at": self.received_at.isoformat(timespec="milliseconds"),
            "payload_bytes": self.payload_bytes,
            "recovered": self.recovered,
        }


@dataclass(frozen=True)
class StoredIncident:
    """The latest accepted version of an incident, payload included."""

    summary: IncidentSummary
    payload: dict[str, Any]
    archive_key: str
    payload_inline: bool

    @property
    def incident_id(self) -> str:
        return self.summary.incident_id


@dataclass(frozen=True)
class SaveOutcome:
    """What the conditional write did, and the version stored after it."""

    result: IngestResult
    stored_version: Version


class IncidentRepository(Protocol):
    def save_if_newer(self, summary: IncidentSummary, raw: bytes) -> SaveOutcome:
        """Archive ``raw`` and store it as the latest version in one conditional write."""
        ...

    def get(self, incident_id: str) -> StoredIncident | None: ...


@dataclass(frozen=True)
class IngestOutcome:
    incident_id: str
    result: IngestResult
    version: Version
    stored_version: Version

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "incident_id": self.incident_id,
            "result": self.result.value,
            "version": self.version.as_json(),
        }
        if self.result is IngestResult.STALE:
            body["stored_version"] = self.stored_version.as_json()
        return body


def ingest(
    webhook: ParsedWebhook,
    repository: IncidentRepository,
    received_at: datetime | None = None,
    *,
    integration: str = DEFAULT_INTEGRATION,
    recovered: bool = False,
) -> IngestOutcome:
    """Store the delivery of ``integration`` unless the stored incident is newer or identical;
    ``recovered`` marks a version the reconciler found instead of the webhook."""
    summary = IncidentSummary.of(
        webhook, received_at or datetime.now(UTC), integration, recovered=recovered
    )
    saved = repository.save_if_newer(summary, webhook.raw)
    return IngestOutcome(webhook.incident_id, saved.result, webhook.version, saved.stored_version)


def outcome_of_write(
    *, written: bool, replaced: bool, stored_hash: str | None, content_hash: str
) -> IngestResult:
    """Name the result of ``put_item`` with the condition "absent, or older, or same version
    with other content": a refused write was a duplicate if the stored hash matches."""
    if written:
        return IngestResult.UPDATED if replaced else IngestResult.CREATED
    return IngestResult.DUPLICATE if stored_hash == content_hash else IngestResult.STALE
