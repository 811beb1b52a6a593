"""Which incident a desk event is about: from the ticket's correlation, else the tickets table.

Our tickets carry their incident: Jira issues the label ``mapping.correlation_label(id)``,
ServiceNow incidents ``correlation_id``, ``http`` tickets the ``incident_id`` they were created
with. When the event shows it and it reads back as an incident id (a digest form does not), the
tickets table confirms it: that incident's ticket must be the event's ticket. When the event
does not show it (Jira's comment events carry no labels) or it is a digest, the tickets table's
index by ticket id (``names.TICKETS_BY_TICKET_ID``) finds the incident.

A ticket found neither way is not ours (or no longer is): its events are ignored, never stored.
Domain code: the tickets table is behind ``TicketDirectory``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from pandabridge.desk_events import DeskChange
from pandabridge.tickets.mapping import LABEL_PREFIX, correlation_label


@dataclass(frozen=True)
class TicketRecord:
    """What the tickets table says about one incident's ticket."""

    incident_key: str
    target: str
    ticket_id: str
    ticket_key: str | None


class TicketDirectory(Protocol):
    def by_incident(self, incident_key: str) -> TicketRecord | None: ...

    def by_ticket_id(self, ticket_id: str) -> Sequence[TicketRecord]: ...


def correlated_incidents(correlations: Sequence[str]) -> list[str]:
    """The incident ids that the ticket's correlations name: a Jira label ``bigpanda-<id>``
    that ``correlation_label`` gives back for that id, or any other value as it is."""
    found: list[str] = []
    for value in correlations:
        if value.startswith(LABEL_PREFIX):
            candidate = value[len(LABEL_PREFIX) :]
            if candidate and correlation_label(candidate) == value:
                found.append(candidate)
        elif value:
            found.append(value)
    return list(dict.fromkeys(found))


def find_incident(
    change: DeskChange, directory: TicketDirectory, *, target_names: Sequence[str]
) -> str | None:
    """The storage key of the incident whose ticket ``change`` is about, or None.

    ``target_names`` are the names the tickets table may record for this target (its name in
    the configuration and its kind).
    """
    for candidate in correlated_incidents(change.correlations):
        record = directory.by_incident(candidate)
        if record is not None and _same_ticket(record, change):
            return record.incident_key
    incidents = {
        record.incident_key
        for record in directory.by_ticket_id(change.ticket_id)
        if _same_ticket(record, change) and (not record.target or record.target in target_names)
    }
    return incidents.pop() if len(incidents) == 1 else None


def _same_ticket(record: TicketRecord, change: DeskChange) -> bool:
    if record.ticket_id != change.ticket_id:
        return False
    return record.ticket_key is None or record.ticket_key == change.ticket_key
