"""Helpers of the ops tests: the local stack's resources on moto and the CLI's captured run."""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from local.aws import aws_client, queue_url
from local.names import INCIDENTS_TABLE, PAYLOAD_BUCKET, TICKET_SYNC_QUEUE, TICKETS_TABLE
from pandabridge.incidents import ingest
from pandabridge.parsing import parse_webhook
from pandabridge.stores.incidents import IncidentStore, archive_key
from pandabridge.stores.tickets import CallbackLedger, TicketStateStore
from pandabridge.tickets.model import TicketRef, TicketStatus
from pandabridge.tickets.state import TicketState

INCIDENT_ID = "5555370aabc20a001145d6g9"


@dataclass
class LocalStack:
    """The stack's resources on the moto server, and direct views of them."""

    endpoint: str
    clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self.clients:
            self.clients[service] = aws_client(service, self.endpoint)
        return self.clients[service]

    def queue_url(self, name: str) -> str:
        return queue_url(self.endpoint, name)

    @property
    def incidents(self) -> IncidentStore:
        return IncidentStore(
            INCIDENTS_TABLE.local_name,
            PAYLOAD_BUCKET.local_name,
            self.client("dynamodb"),
            self.client("s3"),
        )

    @property
    def tickets(self) -> TicketStateStore:
        return TicketStateStore(TICKETS_TABLE.local_name, self.client("dynamodb"))

    def store(self, payload: dict[str, Any], *, recovered: bool = False) -> str:
        """Ingest a delivery as the function does (as the reconciler does, if ``recovered``);
        returns its content hash."""
        webhook = parse_webhook(json.dumps(payload))
        ingest(webhook, self.incidents, recovered=recovered)
        return webhook.content_hash

    def archive_only(self, payload: dict[str, Any]) -> str:
        """Archive a delivery without storing it in the table (a write that was lost)."""
        webhook = parse_webhook(json.dumps(payload))
        self.client("s3").put_object(
            Bucket=PAYLOAD_BUCKET.local_name,
            Key=archive_key(webhook.incident_id, webhook.content_hash),
            Body=gzip.compress(webhook.raw),
        )
        return webhook.content_hash

    def save_ticket(self, **changes: Any) -> None:
        state = TicketState(
            incident_id=INCIDENT_ID,
            target="http",
            ticket=TicketRef(id="T-1", url="https://desk.example.com/T-1"),
            status=TicketStatus.OPEN,
            created_at=datetime.now(UTC),
            updated_at=datetime.now(UTC),
            callback_enqueued_at=datetime.now(UTC),
            # Ingest's receipt of the version the callback confirms, as ticket sync keeps it.
            callback_received_at=datetime.now(UTC),
        )
        self.tickets.save(state.but(**changes))

    def confirm_callback(self) -> None:
        CallbackLedger(TICKETS_TABLE.local_name, self.client("dynamodb")).record_confirmed(
            INCIDENT_ID, datetime.now(UTC)
        )

    def messages(self, name: str) -> list[dict[str, Any]]:
        """Every message in a queue (each group's in order), removed from it."""
        sqs = self.client("sqs")
        found: list[dict[str, Any]] = []
        while batch := sqs.receive_message(
            QueueUrl=self.queue_url(name),
            MaxNumberOfMessages=10,
            MessageSystemAttributeNames=["All"],
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", []):
            found += batch
            for message in batch:
                sqs.delete_message(
                    QueueUrl=self.queue_url(name), ReceiptHandle=message["ReceiptHandle"]
                )
        return found

    def nudges(self) -> list[dict[str, Any]]:
        return [json.loads(m["Body"]) for m in self.messages(TICKET_SYNC_QUEUE.local_name)]


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


Cli = Callable[..., Run]
