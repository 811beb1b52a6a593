"""The tickets table as a desk event sees it: an incident's ticket, and a ticket's incident.

Reads only: ``GetItem`` of the attributes that identify the ticket, and a ``Query`` of the
index by ticket id (``names.TICKETS_BY_TICKET_ID``), which projects the same attributes.
Implements ``pandabridge.desk_event_incidents.TicketDirectory``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from pandabridge.desk_event_incidents import TicketRecord
from pandabridge.names import TICKETS_BY_TICKET_ID, TICKETS_TABLE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KEY: Final = TICKETS_TABLE.partition_key
TICKET_ID: Final = TICKETS_BY_TICKET_ID.partition_key
_ATTRIBUTES: Final = (KEY, TICKET_ID, *TICKETS_BY_TICKET_ID.projected)
# Tickets of one desk share no id; a handful covers the same id on two desks.
_QUERY_LIMIT: Final = 10


@dataclass
class TicketDirectoryStore:
    table_name: str
    dynamodb: DynamoDBClient

    def by_incident(self, incident_key: str) -> TicketRecord | None:
        item = self.dynamodb.get_item(
            TableName=self.table_name,
            Key={KEY: {"S": incident_key}},
            ProjectionExpression=", ".join(f"#{n}" for n in range(len(_ATTRIBUTES))),
            ExpressionAttributeNames={f"#{n}": name for n, name in enumerate(_ATTRIBUTES)},
            ConsistentRead=True,
        ).get("Item")
        return _record(item) if item else None

    def by_ticket_id(self, ticket_id: str) -> list[TicketRecord]:
        items = self.dynamodb.query(
            TableName=self.table_name,
            IndexName=TICKETS_BY_TICKET_ID.name,
            KeyConditionExpression="#id = :id",
            ExpressionAttributeNames={"#id": TICKET_ID},
            ExpressionAttributeValues={":id": {"S": ticket_id}},
            Limit=_QUERY_LIMIT,
        ).get("Items", [])
        return [record for item in items if (record := _record(item)) is not None]


def _record(item: dict[str, Any]) -> TicketRecord | None:
    ticket_id = item.get(TICKET_ID, {}).get("S")
    if ticket_id is None:  # the create has not been answered yet
        return None
    return TicketRecord(
        incident_key=item[KEY]["S"],
        target=item.get("target", {}).get("S", ""),
        ticket_id=ticket_id,
        ticket_key=item.get("ticket_key", {}).get("S"),
    )
