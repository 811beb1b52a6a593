"""A small HTTP service on a loopback port: the base of the local stand-ins for the parties
outside the stack (the demo service desk, BigPanda's API).

A service only turns a request into a ``Reply``; this module reads and writes the bytes and
logs one line per request, under the service's own module name. Header values are never
logged: some of them are credentials. A ``FailurePlan`` lets a person or a test make the next
calls fail, to watch the stack's clients retry.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Final, Self
from urllib.parse import parse_qs, urlsplit

from local import defaults

MAX_BODY_BYTES: Final = 1024 * 1024
# The limit a planned 429 reports in ``X-RateLimit-Limit`` (requests per hour, as rate-limit
# rules on a ServiceNow instance count them).
RATE_LIMIT_PER_HOUR: Final = 1000

Query = Mapping[str, list[str]]


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


def json_reply(status: int, document: object, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    return Reply(int(status), json.dumps(document).encode(), headers=headers)


def error_reply(status: int, message: str) -> Reply:
    return json_reply(status, {"message": message})


class FailurePlan:
    """How many of a service's next contract calls fail, and how."""

    def __init__(
        self,
        who: str,
        *,
        shape: Callable[[str], object] | None = None,
        rate_limit_headers: bool = False,
    ) -> None:
        """``who`` names the service in the failure's message; ``shape`` turns the message into
        the service's own error document (default ``{"message": ...}``);
        ``rate_limit_headers`` adds ``X-RateLimit-*`` headers to a planned 429."""
        self._who = who
        self._shape = shape or (lambda message: {"message": message})
        self._rate_limit_headers = rate_limit_headers
        self._lock = threading.Lock()
        self._status = int(HTTPStatus.SERVICE_UNAVAILABLE)
        self._remaining = 0
        self._retry_after: int | None = None

    def arm(self, status: int, count: int, retry_after: int | None = None) -> None:
        with self._lock:
            self._status, self._remaining, self._retry_after = status, count, retry_after

    def arm_from(self, query: Query) -> Reply:
        """Arm from a control request's ``status``, ``count`` and ``retry_after``; the reply."""
        try:
            status = int(query.get("status", ["503"])[0])
            count = int(query.get("count", ["1"])[0])
            retry_after = int(query["retry_after"][0]) if "retry_after" in query else None
        except ValueError:
            return error_reply(HTTPStatus.BAD_REQUEST, "status, count and retry_after are integers")
        if not 400 <= status <= 599 or count < 0 or (retry_after is not None and retry_after < 0):
            return error_reply(
                HTTPStatus.BAD_REQUEST,
                "status must be 4xx or 5xx, count and retry_after 0 or more",
            )
        self.arm(status, count, retry_after)
        return json_reply(
            HTTPStatus.OK, {"status": status, "count": count, "retry_after": retry_after}
        )

    def take(self) -> Reply | None:
        """The failure for this call, if one is planned."""
        with self._lock:
            if self._remaining <= 0:
                return None
            self._remaining -= 1
            remaining = self._remaining
            status, retry_after = self._status, self._retry_after
        headers = (("Retry-After", str(retry_after)),) if retry_after is not None else ()
        if self._rate_limit_headers and status == HTTPStatus.TOO_MANY_REQUESTS:
            reset = int(time.time()) + (retry_after or 1)
            headers += (
                ("X-RateLimit-Limit", str(RATE_LIMIT_PER_HOUR)),
                ("X-RateLimit-Remaining", "0"),
                ("X-RateLimit-Reset", str(reset)),
            )
        message = f"{self._who} failing on purpose ({remaining} more to fail)"
        return json_reply(status, self._shape(message), headers)


class SlowPlan:
    """How many of a service's next calls take effect and are then answered late.

    The call that a client gave up on still happened: the case of a desk that saved a comment
    but answered after the client's timeout.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seconds = 0.0
        self._remaining = 0
        self._method: str | None = None

    def arm(self, seconds: float, count: int = 1, method: str | None = None) -> None:
        """Delay the answers of the next ``count`` calls (of ``method`` only, if given)."""
        with self._lock:
            self._seconds, self._remaining, self._method = seconds, count, method

    def arm_from(self, query: Query) -> Reply:
        """Arm from a control request's ``seconds``, ``count`` and ``method``; the reply."""
        try:
            seconds = float(query.get("seconds", ["1"])[0])
            count = int(query.get("count", ["1"])[0])
        except ValueError:
            return error_reply(HTTPStatus.BAD_REQUEST, "seconds is a number, count an integer")
        if seconds < 0 or count < 0:
            return error_reply(HTTPStatus.BAD_REQUEST, "seconds and count must be 0 or more")
        method = query["method"][0].upper() if "method" in query else None
        self.arm(seconds, count, method)
        return json_reply(HTTPStatus.OK, {"seconds": seconds, "count": count, "method": method})

    def take(self, method: str) -> float:
        """The delay to add to this call's answer, once it has taken effect (0 for none)."""
        with self._lock:
            if self._remaining <= 0 or self._method not in (None, method):
                return 0.0
            self._remaining -= 1
            return self._seconds


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = defaults.LISTEN_BACKLOG
    service: LoopbackService

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up before its answer (it timed out, as a fake's slow answer
        intends) is not an error of the service; anything else is printed as before."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30
    # Headers and body go out in two writes; on a kept-alive connection Nagle's algorithm held
    # the body back until the client's delayed ACK, 40 ms on every call of the functions.
    disable_nagle_algorithm = True
    server: _Server

    def version_string(self) -> str:
        return self.server.service.name

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: requests are logged once each, by ``_dispatch``."""

    def _dispatch(self) -> None:
        started = time.monotonic()
        service = self.server.service
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            reply = error_reply(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "body too large")
            self.close_connection = True
        else:
            body = self.rfile.read(length) if length else b""
            reply = service.answer(
                self.command, parts.path, parse_qs(parts.query), self.headers, body
            )
        try:
            self._write(reply)
        except (BrokenPipeError, ConnectionResetError):
            # A client that stopped waiting (a late answer, on purpose or not): not an error.
            self.close_connection = True
        level = logging.DEBUG if reply.status < 300 else logging.INFO
        elapsed_ms = (time.monotonic() - started) * 1000
        logging.getLogger(type(service).__module__).log(
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


class LoopbackService(ABC):
    """A service's HTTP server, served from a daemon thread; subclasses answer requests."""

    # Names the serving thread and is the Server header.
    name: ClassVar[str]

    def __init__(self, *, host: str = defaults.HOST, port: int = 0) -> None:
        self._host = host
        self._port = port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self._server.server_address[1] if self._server else self._port

    @property
    def url(self) -> str:
        """The service's base URL, with a trailing slash."""
        return f"http://{self._host}:{self.port}/"

    def start(self) -> Self:
        """Bind the port (``OSError`` if it is taken) and serve; returns the service."""
        server = _Server((self._host, self._port), _Handler)
        server.service = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            name=self.name,
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and free the port; safe to call more than once, or before start."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._server = None

    @abstractmethod
    def answer(self, method: str, path: str, query: Query, headers: Message, body: bytes) -> Reply:
        """The reply to one request; the HTTP layer only reads and writes bytes."""
