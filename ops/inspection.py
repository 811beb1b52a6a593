"""Everything the stack knows about one incident, and whether its ticket has caught up.

Read through the functions' own stores: the incident (``IncidentStore.get``), its archived
versions, the ticket state (``TicketStateStore.get``), and the desk events stored for it
(``DeskEventStore.recent``, the newest ``DESK_EVENTS_SHOWN``). The verdict names the first thing
an on-call engineer would act on: a ticket that is missing or behind the stored version, a
ticket in the wrong status, a step the desk refused as configured (with the setting to fix),
or a callback BigPanda is still waiting for.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from ops.archive import ArchivedVersion, list_versions
from ops.discovery import Resource, Target
from ops.errors import OpsError
from pandabridge.callbacks import after_webhook
from pandabridge.incidents import StoredIncident
from pandabridge.stores.desk_events import DeskEventRecord, DeskEventStore
from pandabridge.stores.echo import DynamoCircuitBreaker, DynamoEchoLedger
from pandabridge.stores.incidents import IncidentStore
from pandabridge.stores.tickets import TicketStateStore
from pandabridge.tickets.model import TicketStatus
from pandabridge.tickets.state import StepFailure, TicketState
from pandabridge.versioning import Part

IN_SYNC = "in sync, callback confirmed"
# The desk events shown: the newest, enough to follow a round trip, bounded for a busy ticket.
DESK_EVENTS_SHOWN = 10


@dataclass(frozen=True)
class DeskEventLine:
    """A stored desk event and how far it went, as far as the stored items tell: ``stored``
    (not queued yet), ``queued`` (for write-back), ``handled`` (write-back applied or dropped
    it; its log line says which), or ``expired`` (its item is gone, its pointer not yet)."""

    record: DeskEventRecord
    status: str

    def as_json(self) -> dict[str, Any]:
        record = self.record
        return {
            "target": record.target,
            "event_id": record.event_id,
            "kind": record.kind,
            "actor": record.actor,
            "actor_name": record.actor_name,
            "ticket_key": record.ticket_key,
            "at": record.at,
            "queued_at": record.queued_at,
            "status": self.status,
        }


@dataclass(frozen=True)
class Inspection:
    incident: StoredIncident
    bucket: str
    versions: list[ArchivedVersion]
    state: TicketState | None
    # When write-back's circuit breaker stopped mirroring this incident (a sync loop is
    # suspected); None while it mirrors, or where the stack has no write-back.
    loop_suspected_since: datetime | None = None
    # The incident's newest stored desk events, newest first.
    desk_events: tuple[DeskEventLine, ...] = ()

    @property
    def problems(self) -> list[str]:
        """What is not yet as it should be, most pressing first; empty when all is done."""
        loop = (
            [
                f"sync loop suspected: mirroring to BigPanda stopped at "
                f"{_time(self.loop_suspected_since)}; check two_way.integration_user and the "
                "desk's automation"
            ]
            if self.loop_suspected_since is not None
            else []
        )
        return loop + self._ticket_problems()

    def _ticket_problems(self) -> list[str]:
        summary = self.incident.summary
        state = self.state
        if state is None or state.ticket is None:
            if state is not None and state.create_attempted_at is not None:
                return [f"no ticket yet: creation attempted at {_time(state.create_attempted_at)}"]
            return [
                f"no ticket yet: ticket sync owes one for version {_version(summary.version.key)}"
            ]
        problems = []
        if state.synced_hash != summary.content_hash:
            problems.append(self._behind(state))
        # As ticket sync decides: resolve unless resolved, reopen only a resolved ticket (a
        # ticket found rather than created has no recorded status until it is resolved).
        if summary.resolved and state.status is not TicketStatus.RESOLVED:
            problems.append("ticket not resolved but the incident is")
        elif not summary.resolved and state.status is TicketStatus.RESOLVED:
            problems.append("ticket resolved but the incident is active again")
        problems += [_needs_attention(failure) for failure in state.step_failures.values()]
        if state.callback_confirmed_at is None:
            since = state.callback_enqueued_at or state.created_at
            queued = "queued" if state.callback_enqueued_at else "not queued yet"
            problems.append(f"callback owed since {_time(since)} ({queued})")
        return problems

    def _behind(self, state: TicketState) -> str:
        stored_key = self.incident.summary.version.key
        synced_key = state.synced_version
        if synced_key is None:
            return f"ticket behind the incident: never synced, stored {_version(stored_key)}"
        if synced_key == stored_key:
            version = _version(stored_key)
            return f"ticket behind the incident: synced other content of version {version}"
        relation = "<" if synced_key < stored_key else "differs from"
        return (
            f"ticket behind the incident: synced {_version(synced_key)} {relation} "
            f"stored {_version(stored_key)}"
        )

    @property
    def verdict(self) -> str:
        return "; ".join(self.problems) or IN_SYNC

    @property
    def callback_latency_seconds(self) -> float | None:
        """Webhook → confirmed callback, as the callback function measures it: from ingest's
        receipt of the version the callback confirmed (``None`` until confirmed)."""
        state = self.state
        if state is None or state.callback_confirmed_at is None:
            return None
        if state.callback_received_at is None:
            return None  # recorded before ticket sync kept where the latency starts
        latency = after_webhook(state.callback_received_at, state.callback_confirmed_at)
        return latency.total_seconds()

    def as_json(self) -> dict[str, Any]:
        summary = self.incident.summary
        newest = self.versions[-1] if self.versions else None
        return {
            "incident_id": summary.incident_id,
            "incident": {
                **summary.as_json(),
                "payload": {
                    "bytes": summary.payload_bytes,
                    "inline": self.incident.payload_inline,
                    "archive_key": self.incident.archive_key,
                },
            },
            "archive": {
                "bucket": self.bucket,
                "count": len(self.versions),
                "newest": None
                if newest is None
                else {
                    "content_hash": newest.content_hash,
                    "last_modified": _time(newest.last_modified),
                    "key": newest.key,
                },
            },
            "ticket": None if self.state is None else self._ticket_json(self.state),
            "loop_suspected_since": _time(self.loop_suspected_since),
            "desk_events": [line.as_json() for line in self.desk_events],
            "verdict": self.verdict,
            "in_sync": not self.problems,
        }

    def _ticket_json(self, state: TicketState) -> dict[str, Any]:
        ticket = state.ticket
        return {
            "target": state.target,
            "id": ticket.id if ticket else None,
            "key": ticket.key if ticket else None,
            "url": ticket.url if ticket else None,
            "status": state.status.value if state.status else None,
            "synced_version": version_of_key(state.synced_version),
            "synced_version_key": state.synced_version,
            "synced_hash": state.synced_hash,
            "synced_is_latest": state.synced_hash == self.incident.summary.content_hash,
            "created_at": _time(state.created_at),
            "updated_at": _time(state.updated_at),
            "resolved_at": _time(state.resolved_at),
            "create_attempted_at": _time(state.create_attempted_at),
            "link_written_at": _time(state.link_written_at),
            "callback_enqueued_at": _time(state.callback_enqueued_at),
            "callback_confirmed_at": _time(state.callback_confirmed_at),
            "webhook_to_callback_seconds": self.callback_latency_seconds,
            "needs_attention": [
                {
                    "step": failure.step,
                    "setting": failure.setting,
                    "reason": failure.reason,
                    "status": failure.status,
                    "at": _time(failure.at),
                    "attempts": failure.attempts,
                }
                for failure in state.step_failures.values()
            ],
            "previous_tickets": [
                {"id": ref.id, "key": ref.key, "url": ref.url} for ref in state.previous_tickets
            ],
        }


def _needs_attention(failure: StepFailure) -> str:
    return (
        f"step {failure.step} refused by the desk ({failure.attempts}x, last "
        f"{_time(failure.at)}): {failure.reason}; fix {failure.setting}"
    )


def inspect(target: Target, incident_id: str) -> Inspection:
    aws, resources = target.aws, target.resources
    table = resources[Resource.INCIDENTS_TABLE]
    store = IncidentStore(
        table_name=table,
        bucket_name=resources[Resource.PAYLOAD_BUCKET],
        dynamodb=aws.client("dynamodb"),
        s3=aws.client("s3"),
    )
    try:
        incident = store.get(incident_id)
    except LookupError as error:  # the item names a payload the archive has expired
        raise OpsError(str(error)) from None
    if incident is None:
        raise OpsError(f"no incident {incident_id} in table {table}")
    tickets = TicketStateStore(resources[Resource.TICKETS_TABLE], aws.client("dynamodb"))
    return Inspection(
        incident=incident,
        bucket=store.bucket_name,
        versions=list_versions(store.s3, store.bucket_name, incident_id),
        state=tickets.get(incident_id),
        loop_suspected_since=_loop_suspected_since(target, incident_id),
        desk_events=_desk_events(target, incident_id),
    )


def _control_table(target: Target) -> str | None:
    """The control table; None on a stack deployed before it."""
    try:
        return target.resources[Resource.CONTROL_TABLE]
    except OpsError:
        return None


def _loop_suspected_since(target: Target, incident_id: str) -> datetime | None:
    """When write-back's breaker opened on the incident."""
    table = _control_table(target)
    if table is None:
        return None
    return DynamoCircuitBreaker(table, target.aws.client("dynamodb")).opened_at(incident_id)


def _desk_events(target: Target, incident_id: str) -> tuple[DeskEventLine, ...]:
    """The incident's newest desk events, each with how far it went."""
    table = _control_table(target)
    if table is None:
        return ()
    dynamodb = target.aws.client("dynamodb")
    ledger = DynamoEchoLedger(table, dynamodb)
    lines = []
    for record in DeskEventStore(table, dynamodb).recent(incident_id, DESK_EVENTS_SHOWN):
        if ledger.applied(incident_id, record.event_id):
            status = "handled"
        elif not record.stored:
            status = "expired"
        else:
            status = "queued" if record.queued_at else "stored"
        lines.append(DeskEventLine(record, status))
    return tuple(lines)


def command(target: Target, incident_id: str, *, as_json: bool, out: TextIO) -> int:
    """``inspect INCIDENT_ID``: exit status 0 when the incident exists (whatever its verdict)."""
    found = inspect(target, incident_id)
    if as_json:
        out.write(json.dumps(found.as_json(), indent=2) + "\n")
    else:
        out.write(render(found) + "\n")
    return 0


def render(found: Inspection) -> str:
    """The human-readable table."""
    data = found.as_json()
    incident, archive, ticket = data["incident"], data["archive"], data["ticket"]
    payload = incident["payload"]
    where = (
        "inline in the item"
        if payload["inline"]
        else f"in S3 only: s3://{archive['bucket']}/{payload['archive_key']}"
    )
    active = {True: "active", False: "not active", None: "active unknown"}[incident["active"]]
    rows: list[tuple[str, str]] = [
        ("incident", data["incident_id"]),
        (
            "  integration",
            f"{incident['integration']} (BigPanda id {incident['bigpanda_incident_id']})",
        ),
        ("  version", json.dumps(incident["version"])),
        ("  hash", incident["content_hash"]),
        ("  status", f"{incident['status']} (severity {incident['severity']}), {active}"),
        ("  alerts", str(incident["alert_count"])),
        ("  received at", incident["received_at"]),
        ("  payload", f"{payload['bytes']:,} bytes, {where}"),
    ]
    if incident["recovered"]:
        rows.append(("  recovered", "yes: a missed delivery found by the reconciler"))
    newest = archive["newest"]
    rows.append(
        (
            "archive",
            f"{archive['count']} versions, newest {newest['last_modified']} "
            f"({newest['content_hash'][:12]})"
            if newest
            else "no archived versions",
        )
    )
    if ticket is None:
        rows.append(("ticket", "none"))
    else:
        rows += _ticket_rows(ticket)
    rows += _desk_event_rows(data["desk_events"])
    rows.append(("verdict", data["verdict"]))
    width = max(len(label) for label, _ in rows) + 2
    return "\n".join(f"{label:<{width}}{value}" for label, value in rows)


STATUS_WORDS = {
    "stored": "stored, not queued yet",
    "queued": "queued for write-back",
    "handled": "handled by write-back (applied or dropped)",
    "expired": "expired",
}


def _desk_event_rows(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    if not events:
        return [("desk events", "none stored")]
    bound = f", the last {DESK_EVENTS_SHOWN}" if len(events) >= DESK_EVENTS_SHOWN else ""
    return [
        ("desk events", f"{len(events)} shown, newest first{bound}"),
        *(
            (
                "  event",
                f"{event['at']} {event['kind']} by {event['actor_name'] or event['actor']} on "
                f"{event['ticket_key']} ({event['target']}): {STATUS_WORDS[event['status']]}",
            )
            for event in events
        ),
    ]


def _ticket_rows(ticket: dict[str, Any]) -> list[tuple[str, str]]:
    ref = " ".join(str(part) for part in (ticket["key"] or ticket["id"], ticket["url"]) if part)
    latest = "= latest" if ticket["synced_is_latest"] else "!= latest"
    synced = (
        f"{json.dumps(ticket['synced_version'])} ({(ticket['synced_hash'] or '')[:12]}) {latest}"
        if ticket["synced_version_key"]
        else f"never {latest}"
    )
    callback = (
        f"enqueued {ticket['callback_enqueued_at'] or '-'}, "
        f"confirmed {ticket['callback_confirmed_at'] or '-'}"
    )
    if ticket["webhook_to_callback_seconds"] is not None:
        millis = ticket["webhook_to_callback_seconds"] * 1000
        callback += f" ({millis:.0f} ms after the webhook)"
    return [
        ("ticket", f"{ref or '(none yet)'} in target {ticket['target']}"),
        ("  status", ticket["status"] or "-"),
        ("  synced", synced),
        ("  created", ticket["created_at"] or "-"),
        ("  updated", ticket["updated_at"] or "-"),
        ("  resolved", ticket["resolved_at"] or "-"),
        ("  callback", callback),
        *(
            ("  previous", " ".join(str(p) for p in (old["key"] or old["id"], old["url"]) if p))
            for old in ticket["previous_tickets"]
        ),
        *(
            (
                "  attention",
                f"{item['step']}: fix {item['setting']} ({item['attempts']}x, last "
                f"{item['at']}): {item['reason']}",
            )
            for item in ticket["needs_attention"]
        ),
    ]


def version_of_key(key: str | None) -> list[Part] | None:
    """A stored version key read back as the version it encodes, for display.

    ``Version.key`` writes each part as fixed-width integer milliseconds plus one (0 for a
    missing part); this reads that back. A key it cannot read gives None.
    """
    if key is None:
        return None
    parts: list[Part] = []
    for text in key.split("."):
        if not text.isdigit():
            return None
        millis = int(text) - 1
        if millis < 0:
            parts.append(None)
        else:
            parts.append(millis // 1000 if millis % 1000 == 0 else millis / 1000)
    return parts


def _version(key: str) -> str:
    parts = version_of_key(key)
    return json.dumps(parts) if parts is not None else key


def _time(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="milliseconds") if moment else None
