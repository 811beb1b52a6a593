"""Helpers of the adapters' tests on the desk stand-ins (fixtures are in conftest.py)."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from fakes_support import SNOW_PASSWORD, SNOW_USER

from local.fakes.servicenow import ServiceNowFake
from pandabridge.http import HttpClient
from pandabridge.tickets.model import TicketDraft, TicketRef, TicketStatus
from pandabridge.tickets.servicenow import ServiceNowTarget

# Short enough for a late answer to time out quickly, ample for a loopback call.
CLIENT_TIMEOUT_SECONDS = 0.3
LATE_SECONDS = 0.6


def ticket_draft(
    incident_id: str = "incident-1", priority: str = "P3", **extra_fields: Any
) -> TicketDraft:
    return TicketDraft(
        incident_id=incident_id,
        title="BigPanda Incident: P3 - db-1 - Active",
        description="Disk full on db-1",
        priority=priority,
        status=TicketStatus.OPEN,
        extra_fields=MappingProxyType(extra_fields),
    )


def servicenow_on(fake: ServiceNowFake, client: HttpClient, **options: Any) -> ServiceNowTarget:
    """The adapter on ``fake`` with Basic credentials and the given options."""
    return ServiceNowTarget(
        fake.url.rstrip("/"), http=client, username=SNOW_USER, password=SNOW_PASSWORD, **options
    )


def incident_row(fake: ServiceNowFake, ref: TicketRef) -> dict[str, str]:
    (row,) = [r for r in fake.tables.rows("incident") if r["sys_id"] == ref.id]
    return row
