"""What a running local stack holds, read from its moto server: the incidents and their tickets.

For ``make status`` and ``make show``, which run beside the stack and talk to it only through
its moto endpoint (``--endpoint-url``, by default the one the running stack recorded in its
state file), as the ``aws`` CLI would.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from local import state
from local.aws import aws_client, client_environment, function_environment
from local.names import INCIDENTS_TABLE, TICKETS_TABLE
from pandabridge.callbacks import after_webhook
from pandabridge.stores.dynamo import from_attributes
from pandabridge.stores.tickets import CALLBACK_CONFIRMED_AT

# A stack that is not running should be said so at once, not after botocore's retries.
CLIENT_CONFIG: Final = Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10)
EXIT_NOT_FOUND: Final = 1
EXIT_UNREACHABLE: Final = 2


class StackUnreachableError(Exception):
    """No moto server answers at the endpoint, or it holds no local stack's tables."""


def add_endpoint_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--endpoint-url",
        help="the local stack's moto server (default: the running stack's, from its state file)",
    )


def endpoint_of(args: argparse.Namespace) -> str:
    """``--endpoint-url``, or the running stack's; :class:`StackUnreachableError` if none runs."""
    if args.endpoint_url:
        return str(args.endpoint_url)
    try:
        return state.read().aws_endpoint
    except state.NoRunningStackError as error:
        raise StackUnreachableError(f"{error}, or pass --endpoint-url") from None


def use_endpoint(endpoint: str) -> None:
    """Point this process's boto3 and the functions' stores at the moto server, as the stack
    points its functions."""
    os.environ.update(client_environment(endpoint))
    os.environ.update(function_environment(endpoint))


def unreachable(endpoint: str, error: Exception) -> StackUnreachableError:
    if isinstance(error, ClientError) and "ResourceNotFound" in str(error):
        why = f"it has no table {INCIDENTS_TABLE.local_name}"
    else:
        why = f"{type(error).__name__}: {error}"
    return StackUnreachableError(f"no local stack at {endpoint} ({why}); is `make run` running?")


@dataclass(frozen=True)
class TicketRow:
    """An incident's ticket state as ticket sync and the callback function recorded it."""

    ticket_id: str | None
    status: str | None
    created_at: datetime | None
    callback_enqueued_at: datetime | None
    callback_received_at: datetime | None
    callback_confirmed_at: datetime | None

    @classmethod
    def of(cls, item: dict[str, Any]) -> TicketRow:
        return cls(
            ticket_id=item.get("ticket_key") or item.get("ticket_id"),
            status=item.get("status"),
            created_at=_time(item.get("created_at")),
            callback_enqueued_at=_time(item.get("callback_enqueued_at")),
            callback_received_at=_time(item.get("callback_received_at")),
            callback_confirmed_at=_time(item.get(CALLBACK_CONFIRMED_AT)),
        )


@dataclass(frozen=True)
class IncidentRow:
    """One incident's stored summary (its latest version) and its ticket, if any."""

    incident_id: str
    status: str | None
    severity: str | None
    active: bool | None
    resolved: bool
    alert_count: int
    updated_on: float | None
    version: list[Any]
    received_at: datetime
    ticket: TicketRow | None

    @classmethod
    def of(cls, item: dict[str, Any], ticket: TicketRow | None) -> IncidentRow:
        updated_on = item.get("updated_on")
        return cls(
            incident_id=item[INCIDENTS_TABLE.partition_key],
            status=item.get("status"),
            severity=item.get("severity"),
            active=item.get("active"),
            resolved=bool(item.get("resolved")),
            alert_count=int(item.get("alert_count", 0)),
            updated_on=float(updated_on) if updated_on is not None else None,
            version=[_plain(part) for part in item.get("version", [])],
            received_at=datetime.fromisoformat(item["received_at"]),
            ticket=ticket,
        )

    def callback_ms(self) -> float | None:
        """Milliseconds from the webhook to BigPanda's confirmation, as the callback function
        measures them (``pandabridge.callbacks.after_webhook``); ``None`` until confirmed."""
        ticket = self.ticket
        if ticket is None or ticket.callback_confirmed_at is None:
            return None
        if ticket.callback_received_at is None:
            return None  # recorded before ticket sync kept where the latency starts
        latency = after_webhook(ticket.callback_received_at, ticket.callback_confirmed_at)
        return latency.total_seconds() * 1000


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _plain(value: Any) -> Any:
    """A DynamoDB number as the int or float it was."""
    if value is None or isinstance(value, bool | str):
        return value
    number = float(value)
    return int(number) if number.is_integer() else number


def _scan(dynamodb: Any, table: str) -> Iterator[dict[str, Any]]:
    for page in dynamodb.get_paginator("scan").paginate(TableName=table, ConsistentRead=True):
        for item in page.get("Items", []):
            yield from_attributes(item)


def read_incidents(endpoint: str) -> list[IncidentRow]:
    """Every stored incident with its ticket, oldest receipt first.

    Raises ``StackUnreachableError`` when no local stack answers at ``endpoint``.
    """
    dynamodb = aws_client("dynamodb", endpoint, CLIENT_CONFIG)
    try:
        tickets = {
            item[TICKETS_TABLE.partition_key]: TicketRow.of(item)
            for item in _scan(dynamodb, TICKETS_TABLE.local_name)
        }
        rows = [
            IncidentRow.of(item, tickets.get(item[INCIDENTS_TABLE.partition_key]))
            for item in _scan(dynamodb, INCIDENTS_TABLE.local_name)
        ]
    except (BotoCoreError, ClientError) as exc:
        raise unreachable(endpoint, exc) from exc
    return sorted(rows, key=lambda row: (row.received_at, row.incident_id))
