"""What an agent does on the demo desk's page, and the event the desk sends about it.

The demo desk is an ``http`` desk: when an agent resolves or comments a ticket (the page's
buttons, ``POST /_desk/tickets/<id>/resolve`` or ``.../comment``), it changes the ticket and
posts the signed desk event of the ``http`` contract to the stack's desk-events route, as a real
desk would (README, "The http desk contract"), retrying as the desk fakes do. The event names
the agent, not our integration user, so write-back mirrors it to BigPanda.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from local.fakes.desk_webhooks import WebhookSender, http_sender

AGENT: Final = {"id": "agent-dana", "name": "Dana Levi"}


@dataclass
class TalkBack:
    """Where the desk posts its events, and the key it signs them with."""

    events_url: str
    secret: str
    _sender: WebhookSender | None = field(default=None, init=False, repr=False)

    def send(self, ticket: dict[str, Any], kind: str, comment: str | None = None) -> int:
        """Post the event of ``kind`` about ``ticket``; the route's last answer (0: none)."""
        if self._sender is None:
            self._sender = http_sender(self.events_url, self.secret)
        event: dict[str, Any] = {
            "event_id": uuid.uuid4().hex,
            "ticket_id": ticket["id"],
            "incident_id": ticket["incident_id"],
            "kind": kind,
            "actor": AGENT,
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        if comment is not None:
            event["comment"] = comment
        delivery = self._sender.deliver(event)
        self._sender.wait()
        attempts = [a for a in self._sender.sent if a.delivery_id == delivery]
        return attempts[-1].status if attempts else 0
