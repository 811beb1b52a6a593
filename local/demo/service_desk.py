"""A demo service desk on a loopback port: the generic ``http`` ticket contract, in memory.

It is the local stack's default ticket target, so a webhook visibly becomes a ticket without
any account anywhere. The contract routes (``/tickets...``) require the ``X-Signature`` HMAC
of ``pandabridge.tickets.generic``; the desk's own routes, for people and tests, do not:

- ``GET /``: the tickets and their history as a page that reloads itself;
- ``GET /_desk/tickets``: the same as JSON (every ticket with its comments and history);
- ``POST /_desk/fail?status=503&count=2[&retry_after=5]``: the next ``count`` contract calls
  answer ``status`` (with ``Retry-After`` if given), to watch ticket sync retry; ``count=0``
  ends it;
- ``POST /_desk/slow?seconds=2&count=1[&method=POST]``: the next ``count`` contract calls take
  effect, then are answered ``seconds`` late (a client that gave up still changed the desk);
- ``POST /_desk/tickets/<id>/resolve`` and ``.../comment`` (form field or JSON ``text``): an
  agent resolves or comments the ticket (the page's buttons); with ``talk_back`` set, the desk
  posts the signed desk event about it (``local.demo.agent``). A form is answered with the
  page again (303), JSON with the ticket and the events route's answer.

A comment with an ``Idempotency-Key`` the ticket has seen is not added again (200 with the
first one), and keys that are not printable ASCII are refused (400).
"""

from __future__ import annotations

import json
import time
from email.message import Message
from http import HTTPStatus
from typing import Final
from urllib.parse import parse_qs, unquote

from local import defaults
from local.demo.agent import TalkBack
from local.demo.desk_page import render
from local.demo.ticket_book import OnChange, TicketBook
from local.loopback import (
    FailurePlan,
    LoopbackService,
    Query,
    Reply,
    SlowPlan,
    error_reply,
    json_reply,
)
from pandabridge.tickets.generic import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verify

TICKETS_PATH: Final = "/tickets"
RECORDS_PATH: Final = "/_desk/tickets"
FAIL_PATH: Final = "/_desk/fail"
SLOW_PATH: Final = "/_desk/slow"


class DemoDesk(LoopbackService):
    """The desk: its tickets, its failure plan and its HTTP server."""

    name = "demo-service-desk"

    def __init__(
        self,
        secret: str,
        *,
        host: str = defaults.HOST,
        port: int = 0,
        on_change: OnChange | None = None,
    ) -> None:
        super().__init__(host=host, port=port)
        self._secret = secret
        self.book = TicketBook(lambda ticket_id: f"{self.url}#{ticket_id}", on_change)
        self.failures = FailurePlan("demo desk")
        self.slowness = SlowPlan()
        # Where the desk posts events about what its agents do, once the stack says.
        self.talk_back: TalkBack | None = None

    def answer(self, method: str, path: str, query: Query, headers: Message, body: bytes) -> Reply:
        """The reply to one request; the HTTP layer only reads and writes bytes."""
        if path == "/" and method == "GET":
            page = render(self.book.records(), actions=self.talk_back is not None)
            return Reply(HTTPStatus.OK, page.encode(), "text/html")
        if method == "POST" and path.startswith(f"{RECORDS_PATH}/"):
            return self._agent(path, headers, body)
        if path == RECORDS_PATH and method == "GET":
            return json_reply(HTTPStatus.OK, {"tickets": self.book.records()})
        if path == FAIL_PATH and method == "POST":
            return self.failures.arm_from(query)
        if path == SLOW_PATH and method == "POST":
            return self.slowness.arm_from(query)
        if path != TICKETS_PATH and not path.startswith(f"{TICKETS_PATH}/"):
            return error_reply(HTTPStatus.NOT_FOUND, f"no route {path}")
        planned = self.failures.take()
        if planned is not None:
            return planned
        if not verify(body, headers.get(SIGNATURE_HEADER), self._secret):
            return error_reply(HTTPStatus.UNAUTHORIZED, f"missing or wrong {SIGNATURE_HEADER}")
        try:
            document = json.loads(body) if body else None
            reply = self._contract(method, path, query, headers, document)
        except ValueError as exc:  # a body that breaks the contract, or is not JSON
            return error_reply(HTTPStatus.BAD_REQUEST, str(exc))
        if reply.status < 300:
            time.sleep(self.slowness.take(method))
        return reply

    def _contract(
        self,
        method: str,
        path: str,
        query: Query,
        headers: Message,
        document: object,
    ) -> Reply:
        segments = [unquote(part) for part in path.removeprefix(TICKETS_PATH).split("/")[1:]]
        if not segments and method == "GET":
            incident_id = query.get("incident_id", [None])[0]
            return json_reply(HTTPStatus.OK, {"tickets": self.book.find(incident_id)})
        if not segments and method == "POST":
            ticket, created = self.book.create(headers.get(IDEMPOTENCY_HEADER), document)
            return json_reply(HTTPStatus.CREATED if created else HTTPStatus.OK, ticket)
        if len(segments) == 1 and method == "PATCH":
            updated = self.book.update(segments[0], document)
            return self._found(updated, segments[0], HTTPStatus.OK)
        if len(segments) == 2 and segments[1] == "comments" and method == "POST":
            added = self.book.comment(segments[0], document, headers.get(IDEMPOTENCY_HEADER))
            if added is None:
                return self._found(None, segments[0], HTTPStatus.CREATED)
            comment, new = added
            return json_reply(HTTPStatus.CREATED if new else HTTPStatus.OK, comment)
        return error_reply(HTTPStatus.NOT_FOUND, f"no route {method} {path}")

    def _agent(self, path: str, headers: Message, body: bytes) -> Reply:
        """An agent's resolve or comment on the page, then the desk event about it."""
        ticket_id, _, action = unquote(path.removeprefix(f"{RECORDS_PATH}/")).partition("/")
        form = "json" not in (headers.get("Content-Type") or "")
        try:
            if form:
                text = parse_qs(body.decode()).get("text", [""])[0]
            else:
                text = str((json.loads(body or b"{}") or {}).get("text") or "")
        except (ValueError, AttributeError):
            return error_reply(HTTPStatus.BAD_REQUEST, "expected a form or a JSON object")
        if action == "resolve":
            ticket = self.book.update(ticket_id, {"status": "resolved"})
            kind, comment = "resolved", None
        elif action == "comment" and text.strip():
            added = self.book.comment(ticket_id, {"body": text.strip()})
            ticket = self.book.find_one(ticket_id) if added else None
            kind, comment = "commented", text.strip()
        else:
            return error_reply(HTTPStatus.BAD_REQUEST, "resolve, or comment with a text")
        if ticket is None:
            return error_reply(HTTPStatus.NOT_FOUND, f"no ticket {ticket_id}")
        sent = self.talk_back.send(ticket, kind, comment) if self.talk_back else None
        if form:
            return Reply(HTTPStatus.SEE_OTHER, b"", "text/plain", (("Location", "/"),))
        return json_reply(HTTPStatus.OK, {"ticket": ticket, "event_status": sent})

    @staticmethod
    def _found(document: object, ticket_id: str, status: int) -> Reply:
        if document is None:
            return error_reply(HTTPStatus.NOT_FOUND, f"no ticket {ticket_id}")
        return json_reply(status, document)
