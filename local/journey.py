"""An incident's way through the stack after its webhook, one console line per step.

Each line says how long after the webhook it happened: webhook-to-ticket is the latency that a
BigPanda user waits on. The lines come from the parts that see each step: the gateway (the
webhook stored a new version), the pipe (``queued``), the demo desk (``ticket created``,
``updated``, ``resolved``, ``reopened``...) and the ticket-sync poller (failures, and for a real
desk, which the stack cannot watch, ``synced``).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from local.console import Console
from local.poller import BatchOutcome
from local.ticket_book import Change
from pandabridge.messages import SyncNudge

Invoke = Callable[[dict[str, Any]], Any]

# Ingest results that write a new version, and so reach the stream and ticket sync.
_CHANGING_RESULTS = frozenset({"created", "updated"})
_HASH_CHARS = 12


def _incident_of(record: Mapping[str, Any]) -> str | None:
    try:
        incident_id = json.loads(record["body"]).get("incident_id")
    except (ValueError, AttributeError):
        return None
    return incident_id if isinstance(incident_id, str) else None


class Journey:
    """Prints the steps; called from the gateway, pipe, poller and desk threads."""

    def __init__(self, console: Console, *, target: str | None = None) -> None:
        """``target`` names a real desk whose successful syncs get a line of their own."""
        self._console = console
        self._target = target
        self._changed = threading.Condition()
        self._received: dict[str, float] = {}
        self._synced: set[str] = set()
        self._tickets: dict[str, str] = {}

    def observe(self, invoke: Invoke) -> Invoke:
        """Wrap the ingest function to note when each new version of an incident arrived."""

        def observed(event: dict[str, Any]) -> Any:
            started = time.monotonic()
            response = invoke(event)
            self._note_webhook(response, started)
            return response

        return observed

    def _note_webhook(self, response: Any, started: float) -> None:
        try:
            answer = json.loads(response["body"])
            incident_id, result = answer["incident_id"], answer["result"]
        except (TypeError, KeyError, ValueError):
            return
        if result in _CHANGING_RESULTS:
            with self._changed:
                self._received[incident_id] = started

    def _since_webhook(self, incident_id: str) -> str:
        with self._changed:
            started = self._received.get(incident_id)
        if started is None:
            return ""
        return f"{(time.monotonic() - started) * 1000:.0f} ms after the webhook"

    def queued(self, nudge: SyncNudge) -> None:
        """The pipe put a nudge on the ticket-sync queue."""
        # The content hash tells versions apart; the version key is too long for a line.
        detail = f"incident {nudge.incident_id} ({nudge.sha256[:_HASH_CHARS]}) for ticket sync"
        self._console.ok("queued", detail, self._since_webhook(nudge.incident_id))

    def ticket_changed(self, change: Change) -> None:
        """The demo desk changed a ticket."""
        with self._changed:
            self._tickets[change.incident_id] = change.ticket_id
        detail = f"{change.kind} {change.ticket_id} for incident {change.incident_id}"
        if change.kind not in ("created", "resolved", "reopened"):
            detail += f": {change.detail}"
        self._console.ok("ticket", detail, self._since_webhook(change.incident_id))

    def batch_done(self, outcome: BatchOutcome) -> None:
        """The ticket-sync poller finished a batch."""
        for record in outcome.records:
            incident_id = _incident_of(record) or record["messageId"]
            if record["messageId"] in outcome.failed:
                attempt = record["attributes"].get("ApproximateReceiveCount", "?")
                why = outcome.error or "the function reported it failed"
                detail = f"incident {incident_id}: attempt {attempt} failed, will be retried"
                self._console.warn("sync", detail, why)
                continue
            if self._target is not None:
                detail = f"incident {incident_id} synced with {self._target}"
                self._console.ok("ticket", detail, self._since_webhook(incident_id))
            with self._changed:
                self._synced.add(incident_id)
                self._changed.notify_all()

    def ticket_of(self, incident_id: str) -> str | None:
        """The demo desk's ticket for the incident, once there is one."""
        with self._changed:
            return self._tickets.get(incident_id)

    def wait_for_sync(self, incident_id: str, timeout: float) -> bool:
        """Wait until ticket sync has handled a nudge of the incident (``False`` on timeout)."""
        with self._changed:
            return self._changed.wait_for(lambda: incident_id in self._synced, timeout)
