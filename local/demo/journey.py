"""An incident's way through the stack after its webhook, one console line per step.

Every delivery gets one line, whoever sent it (the sample, the story, ``make send``, curl):
what ingest made of it (created, updated, duplicate, stale, with the incident and version), or
the status and reason of a refusal, by the gateway or by ingest.

Each later line says how long after the webhook it happened, in the one definition that the
callback function, ``make status`` and ``ops inspect`` use too
(``pandabridge.callbacks.after_webhook``): from ingest's stored receipt of the version. The
lines come from the parts that see each step: the gateway (each delivery, its answer), the
pipe (``queued``), the demo desk
(``ticket created``, ``updated``, ``resolved``, ``reopened``...), the ticket-sync poller
(failures, and for a real desk, which the stack cannot watch, ``synced``) and the callback
poller (``callback confirmed``, failures).

The last line is the latency that BigPanda users feel: BigPanda holds an incident's updates
until the callback confirms its ticket; it runs to the recorded confirmation. A ``queued``
line waits (briefly) for the delivery line of a request still in ingest, so that the lines
come in the order of the events.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from local.client import Answer
from local.demo.console import Console
from local.demo.ticket_book import Change
from local.gateway import Answered
from local.poller import BatchOutcome
from pandabridge.callbacks import after_webhook
from pandabridge.messages import TICKET_SYNC_MESSAGE, CallbackRequest, DeskEventNudge, SyncNudge

Invoke = Callable[[dict[str, Any]], Any]
# When the callback function recorded an incident's confirmation (``None``: it has not).
ConfirmedAt = Callable[[str], datetime | None]
# Ingest's stored receipt of an incident's latest version (``None``: not stored).
ReceivedAt = Callable[[str], datetime | None]

# Ingest results that write a new version, and so reach the stream and ticket sync.
_CHANGING_RESULTS = frozenset({"created", "updated"})
_HASH_CHARS = 12
_WAIT_SLICE_SECONDS = 0.2
# How long a ``queued`` line waits for the delivery line of a request still in ingest.
_ORDER_WAIT_SECONDS = 0.5


def _callback_of(record: Mapping[str, Any]) -> CallbackRequest | None:
    try:
        return CallbackRequest.model_validate_json(record["body"])
    except ValueError:
        return None


def _after_webhook(received_at: datetime, moment: datetime, *, recovered: bool = False) -> str:
    """How long after ingest's receipt: of the webhook, or of the reconciler's recovery of a
    delivery that never came."""
    since = "the recovery" if recovered else "the webhook"
    return f"{after_webhook(received_at, moment).total_seconds() * 1000:.0f} ms after {since}"


def _nudge_of(record: Mapping[str, Any]) -> SyncNudge | None:
    try:
        return SyncNudge.model_validate_json(record["body"])
    except ValueError:
        return None


def _desk_event_of(record: Mapping[str, Any]) -> DeskEventNudge | None:
    try:
        message = TICKET_SYNC_MESSAGE.validate_json(record["body"])
    except ValueError:
        return None
    return message if isinstance(message, DeskEventNudge) else None


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
        self._received: dict[str, datetime] = {}
        # Requests in ingest whose delivery line is not printed yet.
        self._in_ingest = 0
        self._synced: set[str] = set()
        # (incident id, content hash) of every version that ticket sync has handled.
        self._synced_versions: set[tuple[str, str]] = set()
        self._tickets: dict[str, str] = {}
        self._changes: dict[str, list[str]] = {}
        # Callbacks handled for good (confirmed, or refused and dead-lettered), and confirmed.
        self._settled: set[str] = set()
        self._confirmed: set[str] = set()
        # Incidents the reconciler stored: their lines are timed from the recovery.
        self._recovered: set[str] = set()

    def observe(self, invoke: Invoke, received_at: ReceivedAt) -> Invoke:
        """Wrap the ingest function to note ingest's stored receipt of each new version, which
        ``received_at`` reads back, for the lines that say how long after the webhook."""

        def observed(event: dict[str, Any]) -> Any:
            with self._changed:
                self._in_ingest += 1
            response = invoke(event)
            self._note_webhook(response, received_at)
            return response

        return observed

    def _note_webhook(self, response: Any, received_at: ReceivedAt) -> None:
        try:
            answer = json.loads(response["body"])
            incident_id, result = answer["incident_id"], answer["result"]
        except (TypeError, KeyError, ValueError):
            return
        if result in _CHANGING_RESULTS:
            received = received_at(incident_id)
            with self._changed:
                if received is not None:
                    self._received[incident_id] = received

    def delivered(self, answered: Answered) -> None:
        """The gateway answered a delivery: one line with ingest's result, or the refusal
        (unless the sender, the sample or the story of this process, prints it)."""
        if not answered.reported:
            self._print_delivery(answered)
        with self._changed:
            if answered.invoked and self._in_ingest:
                self._in_ingest -= 1
            self._changed.notify_all()

    def _print_delivery(self, answered: Answered) -> None:
        response = answered.response
        answer = Answer(response.status, dict(response.headers), response.body, 0.0)
        took = f"{answered.elapsed_ms:.0f} ms"
        if answer.ok:
            self._console.ok("webhook", answer.summary(), f"HTTP {answer.status}, {took}")
            return
        show = self._console.warn if answer.status < 500 else self._console.fail
        show("webhook", f"HTTP {answer.status}: {answer.summary()}", f"{answered.note}, {took}")

    def _since_webhook(self, incident_id: str) -> str:
        with self._changed:
            received = self._received.get(incident_id)
            recovered = incident_id in self._recovered
        if received is None:
            return ""
        return _after_webhook(received, datetime.now(UTC), recovered=recovered)

    def queued(self, nudge: SyncNudge) -> None:
        """The pipe put a nudge on the ticket-sync queue."""
        # After the delivery line of the version: the stream can be faster than the gateway.
        self._wait(lambda: self._in_ingest == 0, _ORDER_WAIT_SECONDS, None)
        # The content hash tells versions apart; the version key is too long for a line.
        detail = f"incident {nudge.incident_id} ({nudge.sha256[:_HASH_CHARS]}) for ticket sync"
        self._console.ok("queued", detail, self._since_webhook(nudge.incident_id))

    def ticket_changed(self, change: Change) -> None:
        """The demo desk changed a ticket."""
        with self._changed:
            self._tickets[change.incident_id] = change.ticket_id
            self._changes.setdefault(change.incident_id, []).append(change.kind)
        detail = f"{change.kind} {change.ticket_id} for incident {change.incident_id}"
        if change.kind not in ("created", "resolved", "reopened"):
            detail += f": {change.detail}"
        self._console.ok("ticket", detail, self._since_webhook(change.incident_id))

    def batch_done(self, outcome: BatchOutcome) -> None:
        """The ticket-sync poller finished a batch."""
        for record in outcome.records:
            incident_id = _incident_of(record) or record["messageId"]
            if record["messageId"] in outcome.failed:
                self._will_retry("sync", incident_id, record, outcome)
                continue
            desk_event = _desk_event_of(record)
            if desk_event is not None:
                # The desk talked back: write-back applied the event to BigPanda (or dropped it
                # as an echo; the stand-in's /_fake/writes lists what BigPanda received).
                detail = f"desk event {desk_event.event_id} of incident {incident_id} applied"
                self._console.ok("bigpanda", detail, f"from {desk_event.target}")
                continue
            if self._target is not None:
                detail = f"incident {incident_id} synced with {self._target}"
                self._console.ok("ticket", detail, self._since_webhook(incident_id))
            nudge = _nudge_of(record)
            with self._changed:
                self._synced.add(incident_id)
                if nudge is not None:
                    self._synced_versions.add((nudge.incident_id, nudge.sha256))
                self._changed.notify_all()

    def callback_done(self, outcome: BatchOutcome, confirmed_at: ConfirmedAt) -> None:
        """The callback poller finished a batch; ``confirmed_at`` reads the tickets table."""
        for record in outcome.records:
            request = _callback_of(record)
            if record["messageId"] in outcome.failed:
                incident_id = request.incident_id if request else record["messageId"]
                self._will_retry("callback", incident_id, record, outcome)
            elif request is None:
                detail = f"message {record['messageId']} is not a callback request"
                self._console.warn("callback", detail, "moved to the callback DLQ, see above")
            else:
                self._called_back(request, confirmed_at)

    def _called_back(self, request: CallbackRequest, confirmed_at: ConfirmedAt) -> None:
        incident_id = request.incident_id
        with self._changed:
            if incident_id in self._confirmed:
                return  # a redelivery, which the function drops: reported already
        confirmed = confirmed_at(incident_id)
        with self._changed:
            recovered = incident_id in self._recovered
        if confirmed is None:
            detail = f"incident {incident_id} not confirmed: BigPanda refused it"
            self._console.warn("callback", detail, "moved to the callback DLQ, see above")
        else:
            try:
                received = datetime.fromisoformat(request.received_at)
                note = _after_webhook(received, confirmed, recovered=recovered)
            except ValueError:
                note = ""
            self._console.ok("callback", f"confirmed for incident {incident_id}", note)
        with self._changed:
            self._settled.add(incident_id)
            if confirmed is not None:
                self._confirmed.add(incident_id)
            self._changed.notify_all()

    def _will_retry(
        self, label: str, incident_id: str, record: Mapping[str, Any], outcome: BatchOutcome
    ) -> None:
        attempt = record["attributes"].get("ApproximateReceiveCount", "?")
        why = outcome.error or "the function reported it failed"
        detail = f"incident {incident_id}: attempt {attempt} failed, will be retried"
        self._console.warn(label, detail, why)

    def reconciled(self, report: Mapping[str, Any], received_at: ReceivedAt) -> None:
        """A reconciler run finished: a line for each missed delivery it recovered (whose
        ticket and callback lines then follow, timed from the recovery), and one if BigPanda
        stopped it."""
        for incident_id in report.get("recovered", ()):
            received = received_at(incident_id)
            with self._changed:
                self._recovered.add(incident_id)
                if received is not None:
                    self._received[incident_id] = received
            detail = f"incident {incident_id}: a missed delivery, found in BigPanda and stored"
            self._console.ok("reconciler", detail, "recovered")
        if report.get("stopped"):
            self._console.warn(
                "reconciler", f"run stopped: {report['stopped']}", "next run resumes"
            )

    def ticket_of(self, incident_id: str) -> str | None:
        """The demo desk's ticket for the incident, once there is one."""
        with self._changed:
            return self._tickets.get(incident_id)

    def changes_of(self, incident_id: str) -> list[str]:
        """What the demo desk did to the incident's ticket so far, in order (``created``,
        ``updated``, ``commented``, ``assigned``, ``resolved``, ``reopened``)."""
        with self._changed:
            return list(self._changes.get(incident_id, ()))

    def callback_confirmed(self, incident_id: str) -> bool:
        with self._changed:
            return incident_id in self._confirmed

    def wait_for_sync(
        self, incident_id: str, timeout: float, stop: threading.Event | None = None
    ) -> bool:
        """Wait until ticket sync has handled a nudge of the incident (``False`` on timeout,
        or as soon as ``stop`` is set)."""
        return self._wait(lambda: incident_id in self._synced, timeout, stop)

    def wait_for_version(
        self,
        incident_id: str,
        content_hash: str,
        timeout: float,
        stop: threading.Event | None = None,
    ) -> bool:
        """Wait until ticket sync has handled the nudge of this very version of the incident."""
        return self._wait(
            lambda: (incident_id, content_hash) in self._synced_versions, timeout, stop
        )

    def wait_for_callback(
        self, incident_id: str, timeout: float, stop: threading.Event | None = None
    ) -> bool:
        """Wait until the callback poller has confirmed the incident's ticket to BigPanda, or
        seen BigPanda refuse it for good (``False`` on timeout, or once ``stop`` is set)."""
        return self._wait(lambda: incident_id in self._settled, timeout, stop)

    def _wait(self, done: Callable[[], bool], timeout: float, stop: threading.Event | None) -> bool:
        # In slices: a signal handler that sets ``stop`` does not wake a condition wait.
        deadline = time.monotonic() + timeout
        with self._changed:
            while not done():
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (stop is not None and stop.is_set()):
                    return False
                self._changed.wait(min(remaining, _WAIT_SLICE_SECONDS))
            return True
