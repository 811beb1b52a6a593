"""Confirming a created ticket to BigPanda once, and measuring how long users waited for it.

The confirmation is recorded on the ticket state after BigPanda accepted it, with a write that
succeeds only once; a message delivered again after that finds it recorded and calls nobody.
The callback queue is FIFO per incident, so one incident's messages are never handled at once.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from pandabridge.identity import IncidentKey
from pandabridge.messages import CallbackRequest


class ConfirmationLedger(Protocol):
    def confirmed_at(self, incident_id: str) -> datetime | None: ...

    def record_confirmed(self, incident_id: str, at: datetime) -> bool:
        """Record the confirmation; False if one was already recorded."""
        ...


class TicketConfirmations(Protocol):
    def confirm_ticket(self, incident_id: str) -> None: ...


def after_webhook(received_at: datetime, moment: datetime) -> timedelta:
    """How long after the webhook ``moment`` came: from ingest's receipt of the version that
    caused it (``CallbackRequest.received_at`` for a callback). The one latency definition, so
    that the callback's metric, the local journey, ``make status`` and ``ops inspect`` report
    one figure for one callback. A time without a zone is taken as UTC."""
    return _utc(moment) - _utc(received_at)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True)
class CallbackOutcome:
    sent: bool
    # Ingest receipt of the version that created the ticket → BigPanda's acceptance.
    latency: timedelta | None = None


@dataclass
class Confirmer:
    """``integrations``: the deployment's integrations besides default, to tell BigPanda's own
    incident id from the storage key the request carries (``pandabridge.identity``)."""

    ledger: ConfirmationLedger
    bigpanda: TicketConfirmations
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    integrations: Collection[str] = ()

    def confirm(self, request: CallbackRequest) -> CallbackOutcome:
        if self.ledger.confirmed_at(request.incident_id) is not None:
            return CallbackOutcome(sent=False)
        key = IncidentKey.parse(request.incident_id, self.integrations)
        self.bigpanda.confirm_ticket(key.incident_id)
        confirmed = self.clock()
        self.ledger.record_confirmed(request.incident_id, confirmed)
        received = datetime.fromisoformat(request.received_at)
        return CallbackOutcome(sent=True, latency=after_webhook(received, confirmed))
