"""``make show ID=...`` (``.venv/bin/pandabridge-show ID``): one incident of the local stack.

Reads the incident as ticket sync does, through ``pandabridge.composition.ingest.incident_store``
pointed at the stack's moto server (``--endpoint-url``), and its ticket state from the tickets
table; prints the stored summary, the ticket state and the stored payload as indented JSON
(``--payload-only`` prints just the JSON, for ``jq``). Colour on a terminal only.

Exits 0, 1 when the stack has no such incident, 2 when no local stack answers at the endpoint.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from botocore.exceptions import BotoCoreError, ClientError

from local.aws import aws_client
from local.demo.console import Console
from local.demo.inventory import (
    CLIENT_CONFIG,
    EXIT_NOT_FOUND,
    EXIT_UNREACHABLE,
    StackUnreachableError,
    add_endpoint_argument,
    endpoint_of,
    unreachable,
    use_endpoint,
)
from local.names import PAYLOAD_BUCKET, TICKETS_TABLE
from pandabridge.composition.ingest import incident_store
from pandabridge.incidents import StoredIncident
from pandabridge.stores.tickets import TicketStateStore
from pandabridge.tickets.state import TicketState

_LABEL_WIDTH = 10


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="pandabridge-show",
        description="One incident of the running local stack: summary, ticket and payload.",
    )
    parser.add_argument("incident_id", metavar="ID", help="the BigPanda incident id")
    add_endpoint_argument(parser)
    parser.add_argument(
        "--payload-only", action="store_true", help="print only the stored payload (JSON)"
    )
    return parser.parse_args(argv)


def read(incident_id: str, endpoint: str) -> tuple[StoredIncident | None, TicketState | None]:
    """The stored incident and its ticket state (either may be ``None``)."""
    # incident_store reads the table names and the endpoint from the environment on first use.
    use_endpoint(endpoint)
    dynamodb = aws_client("dynamodb", endpoint, CLIENT_CONFIG)
    tickets = TicketStateStore(TICKETS_TABLE.local_name, dynamodb)
    try:
        return incident_store().get(incident_id), tickets.get(incident_id)
    except (BotoCoreError, ClientError) as exc:
        raise unreachable(endpoint, exc) from exc


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "-"
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _epoch(value: float | None) -> str:
    if value is None:
        return "-"
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def incident_rows(console: Console, stored: StoredIncident) -> list[tuple[str, str]]:
    summary = stored.summary
    tone = {"critical": "bad", "warning": "warn", "ok": "good"}.get(summary.status or "")
    state = "resolved" if summary.resolved else ("active" if summary.active else "not active")
    where = "inline in the item" if stored.payload_inline else "in S3 only"
    return [
        ("incident", console.tone(summary.incident_id, "bold")),
        (
            "status",
            console.join(
                console.tone(summary.status or "unknown", tone),
                f", severity {summary.severity}, {state}, {summary.alert_count} alerts",
            ),
        ),
        (
            "version",
            f"{json.dumps(summary.version.as_json())}  (updatedOn {_epoch(summary.updated_on)})",
        ),
        ("received", f"{_when(summary.received_at)}  (local time)"),
        (
            "payload",
            f"{summary.payload_bytes:,} bytes, {where}, sha256 {summary.content_hash[:12]}",
        ),
        ("archive", f"s3://{PAYLOAD_BUCKET.local_name}/{stored.archive_key}"),
    ]


def ticket_rows(console: Console, state: TicketState | None) -> list[tuple[str, str]]:
    if state is None:
        return [("ticket", console.tone("none yet", "warn"))]
    if state.ticket is None:
        return [("ticket", console.tone("being created", "warn"))]
    ticket = state.ticket
    status = state.status.value if state.status else "?"
    link = f"  ({ticket.url})" if ticket.url else ""
    tone = "good" if status == "resolved" else None
    rows = [
        ("ticket", console.join(f"{ticket.key or ticket.id} ", console.tone(status, tone), link)),
        ("changes", f"created {_when(state.created_at)}, last updated {_when(state.updated_at)}"),
        ("comments", f"{len(state.comment_hashes)} from BigPanda"),
        ("assignee", state.assignee or "-"),
    ]
    if state.callback_confirmed_at is not None:
        callback = console.tone(f"confirmed {_when(state.callback_confirmed_at)}", "good")
    elif state.callback_enqueued_at is not None:
        callback = console.tone(f"queued {_when(state.callback_enqueued_at)}", "warn")
    else:
        callback = "-"
    rows.append(("callback", callback))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        endpoint = endpoint_of(args)
        stored, state = read(args.incident_id, endpoint)
    except StackUnreachableError as exc:
        Console(sys.stderr).print(str(exc))
        return EXIT_UNREACHABLE
    except LookupError as exc:  # the item names an archived payload that has expired
        Console(sys.stderr).print(str(exc))
        return EXIT_NOT_FOUND
    if stored is None:
        Console(sys.stderr).print(f"no incident {args.incident_id} at {endpoint}")
        return EXIT_NOT_FOUND
    payload = json.dumps(stored.payload, indent=2, ensure_ascii=False)
    if args.payload_only:
        Console().print(*payload.split("\n"))
        return 0
    console = Console()
    lines = [
        console.join(console.tone(label.ljust(_LABEL_WIDTH), "bold"), value)
        for label, value in [*incident_rows(console, stored), *ticket_rows(console, state)]
    ]
    # The payload keeps its indentation's newlines; a string in it is shown escaped.
    lines += ["", console.tone("stored payload", "bold"), *payload.split("\n")]
    console.print(*lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
