"""``make status`` (``.venv/bin/pandabridge-status``): the local stack's incidents, one a line.

Reads the incidents and tickets tables from the stack's moto server (``--endpoint-url``, by
default the running stack's) and prints, oldest receipt first: the incident id, its status, its
version (``updatedOn``), when its latest version was received, its ticket and the ticket's
status, and whether BigPanda has confirmed the ticket (the callback) and how long after the
webhook. Colour on a terminal only.

Exits 0, or 2 when no local stack answers at the endpoint.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from local.demo.console import Cell, Console
from local.demo.inventory import (
    EXIT_UNREACHABLE,
    IncidentRow,
    StackUnreachableError,
    add_endpoint_argument,
    endpoint_of,
    read_incidents,
)

HEADERS = ("INCIDENT", "STATUS", "VERSION (updatedOn)", "RECEIVED", "TICKET", "CALLBACK")
_STATUS_TONES = {"critical": "bad", "warning": "warn", "unknown": "warn", "ok": "good"}
NONE = "-"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="pandabridge-status",
        description="The incidents of the running local stack, their tickets and callbacks.",
    )
    add_endpoint_argument(parser)
    return parser.parse_args(argv)


def _status(row: IncidentRow) -> Cell:
    status = row.status or "unknown"
    text = f"{status}, resolved" if row.resolved and status != "ok" else status
    return text, "good" if row.resolved else _STATUS_TONES.get(status)


def _version(row: IncidentRow) -> str:
    if row.updated_on is None:
        return NONE
    return datetime.fromtimestamp(row.updated_on, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def _received(row: IncidentRow) -> str:
    return row.received_at.astimezone().strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _ticket(row: IncidentRow) -> Cell:
    ticket = row.ticket
    if ticket is None:
        return NONE, None
    if ticket.ticket_id is None:
        return "being created", "warn"
    status = ticket.status or "?"
    return f"{ticket.ticket_id} {status}", "good" if status == "resolved" else None


def _callback(row: IncidentRow) -> Cell:
    ticket = row.ticket
    millis = row.callback_ms()
    if millis is not None:
        return f"confirmed, {millis:.0f} ms after the webhook", "good"
    if ticket is not None and ticket.callback_confirmed_at is not None:
        return "confirmed", "good"
    if ticket is not None and ticket.callback_enqueued_at is not None:
        return "queued, not confirmed", "warn"
    return NONE, None


def render(console: Console, rows: Sequence[IncidentRow], endpoint: str) -> None:
    if not rows:
        console.print(f"no incidents yet at {endpoint}")
        return
    console.table(
        HEADERS,
        [
            [
                row.incident_id,
                _status(row),
                _version(row),
                _received(row),
                _ticket(row),
                _callback(row),
            ]
            for row in rows
        ],
    )
    tickets = sum(1 for row in rows if row.ticket and row.ticket.ticket_id)
    confirmed = sum(1 for row in rows if row.ticket and row.ticket.callback_confirmed_at)
    summary = f"{len(rows)} incidents, {tickets} tickets, {confirmed} callbacks confirmed"
    console.print(console.tone(f"{summary}  (moto at {endpoint})", "dim"))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        endpoint = endpoint_of(args)
        rows = read_incidents(endpoint)
    except StackUnreachableError as exc:
        Console(sys.stderr).print(str(exc))
        return EXIT_UNREACHABLE
    render(Console(), rows, endpoint)
    return 0


if __name__ == "__main__":
    sys.exit(main())
