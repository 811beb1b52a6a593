"""What an agent does on the demo desk's page, and the event the desk sends about it.

The demo desk is an ``http`` desk: when an agent resolves or comments a ticket (the page's
buttons, ``POST /_desk/tickets/<id>/resolve`` or ``.../comment``), it changes the ticket and
posts the signed desk event of the ``http`` contract to the stack's desk-events route, as a real
desk would (README, "The http desk contract"). The event names the agent, not our integration
user, so write-back mirrors it to BigPanda.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from pandabridge.desk_event_auth import (
    HTTP_SIGNATURE_HEADER,
    HTTP_TIMESTAMP_HEADER,
    http_signature,
)

AGENT: Final = {"id": "agent-dana", "name": "Dana Levi"}


@dataclass(frozen=True)
class TalkBack:
    """Where the desk posts its events, and the key it signs them with."""

    events_url: str
    secret: str
    timeout_seconds: float = 10.0

    def send(self, ticket: dict[str, Any], kind: str, comment: str | None = None) -> int:
        """Post the event of ``kind`` about ``ticket``; the route's answer status (0: none)."""
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
        body = json.dumps(event).encode()
        timestamp = int(time.time())
        request = urllib.request.Request(  # noqa: S310 - the local gateway's own URL
            self.events_url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                HTTP_TIMESTAMP_HEADER: str(timestamp),
                HTTP_SIGNATURE_HEADER: http_signature(body, self.secret, timestamp),
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as answer:  # noqa: S310
                return int(answer.status)
        except urllib.error.HTTPError as refused:
            return int(refused.code)
        except OSError:
            return 0
