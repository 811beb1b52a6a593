"""A demo service desk on a loopback port: the generic ``http`` ticket contract, in memory.

It is the local stack's default ticket target, so a webhook visibly becomes a ticket without
any account anywhere. The contract routes (``/tickets...``) require the ``X-Signature`` HMAC
of ``pandabridge.tickets.generic``; the desk's own routes, for people and tests, do not:

- ``GET /``: the tickets and their history as a page that reloads itself;
- ``GET /_desk/tickets``: the same as JSON (every ticket with its comments and history);
- ``POST /_desk/fail?status=503&count=2[&retry_after=5]``: the next ``count`` contract calls
  answer ``status`` (with ``Retry-After`` if given), to watch ticket sync retry; ``count=0``
  ends it.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final
from urllib.parse import parse_qs, unquote, urlsplit

from local import defaults
from local.desk_page import render
from local.ticket_book import OnChange, TicketBook
from pandabridge.tickets.generic import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verify

logger = logging.getLogger(__name__)

MAX_BODY_BYTES: Final = 1024 * 1024
TICKETS_PATH: Final = "/tickets"
RECORDS_PATH: Final = "/_desk/tickets"
FAIL_PATH: Final = "/_desk/fail"


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


def _json(status: int, document: object, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    return Reply(int(status), json.dumps(document).encode(), headers=headers)


def _error(status: int, message: str) -> Reply:
    return _json(status, {"message": message})


class FailurePlan:
    """How many of the next contract calls fail, and how."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._status = int(HTTPStatus.SERVICE_UNAVAILABLE)
        self._remaining = 0
        self._retry_after: int | None = None

    def arm(self, status: int, count: int, retry_after: int | None = None) -> None:
        with self._lock:
            self._status, self._remaining, self._retry_after = status, count, retry_after

    def take(self) -> Reply | None:
        """The failure for this call, if one is planned."""
        with self._lock:
            if self._remaining <= 0:
                return None
            self._remaining -= 1
            remaining = self._remaining
            status, retry_after = self._status, self._retry_after
        headers = (("Retry-After", str(retry_after)),) if retry_after is not None else ()
        message = f"demo desk failing on purpose ({remaining} more to fail)"
        return _json(status, {"message": message}, headers)


class _DeskServer(ThreadingHTTPServer):
    daemon_threads = True
    desk: DemoDesk


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "demo-service-desk"
    timeout = 30
    server: _DeskServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: requests are logged once each, by ``_dispatch``."""

    def _dispatch(self) -> None:
        started = time.monotonic()
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            reply = _error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body too large")
            self.close_connection = True
        else:
            body = self.rfile.read(length) if length else b""
            reply = self.server.desk.answer(
                self.command, parts.path, parse_qs(parts.query), self.headers, body
            )
        self._write(reply)
        level = logging.DEBUG if reply.status < 300 else logging.INFO
        elapsed_ms = (time.monotonic() - started) * 1000
        logger.log(
            level, "%s %s -> %d (%.0f ms)", self.command, parts.path, reply.status, elapsed_ms
        )

    do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _dispatch  # noqa: N815

    def _write(self, reply: Reply) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(reply.body)
        self.wfile.flush()


class DemoDesk:
    """The desk: its tickets, its failure plan and its HTTP server."""

    def __init__(
        self,
        secret: str,
        *,
        host: str = defaults.HOST,
        port: int = 0,
        on_change: OnChange | None = None,
    ) -> None:
        self._secret = secret
        self._host = host
        self._port = port
        self.book = TicketBook(lambda ticket_id: f"{self.url}#{ticket_id}", on_change)
        self.failures = FailurePlan()
        self._server: _DeskServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.server_address[1] if self._server else self._port

    @property
    def url(self) -> str:
        """The desk's base URL, also ``TICKET_BASE_URL`` for ticket sync and its page."""
        return f"http://{self._host}:{self.port}/"

    def start(self) -> DemoDesk:
        """Bind the port (``OSError`` if it is taken) and serve in a background thread."""
        server = _DeskServer((self._host, self._port), _Handler)
        server.desk = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name="demo-desk",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._server = None

    def answer(
        self,
        method: str,
        path: str,
        query: Mapping[str, list[str]],
        headers: Message,
        body: bytes,
    ) -> Reply:
        """The reply to one request; the HTTP layer only reads and writes bytes."""
        if path == "/" and method == "GET":
            return Reply(HTTPStatus.OK, render(self.book.records()).encode(), "text/html")
        if path == RECORDS_PATH and method == "GET":
            return _json(HTTPStatus.OK, {"tickets": self.book.records()})
        if path == FAIL_PATH and method == "POST":
            return self._arm(query)
        if path != TICKETS_PATH and not path.startswith(f"{TICKETS_PATH}/"):
            return _error(HTTPStatus.NOT_FOUND, f"no route {path}")
        planned = self.failures.take()
        if planned is not None:
            return planned
        if not verify(body, headers.get(SIGNATURE_HEADER), self._secret):
            return _error(HTTPStatus.UNAUTHORIZED, f"missing or wrong {SIGNATURE_HEADER}")
        try:
            document = json.loads(body) if body else None
            return self._contract(method, path, query, headers, document)
        except ValueError as exc:  # a body that breaks the contract, or is not JSON
            return _error(HTTPStatus.BAD_REQUEST, str(exc))

    def _contract(
        self,
        method: str,
        path: str,
        query: Mapping[str, list[str]],
        headers: Message,
        document: object,
    ) -> Reply:
        segments = [unquote(part) for part in path.removeprefix(TICKETS_PATH).split("/")[1:]]
        if not segments and method == "GET":
            incident_id = query.get("incident_id", [None])[0]
            return _json(HTTPStatus.OK, {"tickets": self.book.find(incident_id)})
        if not segments and method == "POST":
            ticket, created = self.book.create(headers.get(IDEMPOTENCY_HEADER), document)
            return _json(HTTPStatus.CREATED if created else HTTPStatus.OK, ticket)
        if len(segments) == 1 and method == "PATCH":
            updated = self.book.update(segments[0], document)
            return self._found(updated, segments[0], HTTPStatus.OK)
        if len(segments) == 2 and segments[1] == "comments" and method == "POST":
            comment = self.book.comment(segments[0], document)
            return self._found(comment, segments[0], HTTPStatus.CREATED)
        return _error(HTTPStatus.NOT_FOUND, f"no route {method} {path}")

    @staticmethod
    def _found(document: object, ticket_id: str, status: int) -> Reply:
        if document is None:
            return _error(HTTPStatus.NOT_FOUND, f"no ticket {ticket_id}")
        return _json(status, document)

    def _arm(self, query: Mapping[str, list[str]]) -> Reply:
        try:
            status = int(query.get("status", ["503"])[0])
            count = int(query.get("count", ["1"])[0])
            retry_after = int(query["retry_after"][0]) if "retry_after" in query else None
        except ValueError:
            return _error(HTTPStatus.BAD_REQUEST, "status, count and retry_after are integers")
        if not 400 <= status <= 599 or count < 0:
            return _error(HTTPStatus.BAD_REQUEST, "status must be 4xx or 5xx, count 0 or more")
        self.failures.arm(status, count, retry_after)
        return _json(HTTPStatus.OK, {"status": status, "count": count, "retry_after": retry_after})
