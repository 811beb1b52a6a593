"""A local HTTP server that answers like API Gateway (REST, API key required, Lambda proxy).

It checks what the real gateway checks, in the same order and with the same answers: the
resource and method (403 "Missing Authentication Token"), the body size (413 "Request Too
Long", decided from the headers, before the body is read), the bearer token as the stack's
REQUEST authorizer decides on it (401 "Unauthorized" with ``WWW-Authenticate: Bearer`` when
the ``Authorization`` header is missing or empty, as API Gateway answers without calling the
authorizer; 403 with the explicit-deny message for any other refused header), then the API
key (403 "Forbidden"). Then it builds the proxy event, calls the function in-process and
writes its answer back.

The token check is ``pandabridge.auth.check``, the authorizer function's own, against the
tokens of the route's integration that the stack read from their secrets at start: a change of
a secret takes a restart here, where the deployed authorizer re-reads it within minutes. Like
API Gateway, the gateway caches the decision per ``Authorization`` value for the authorizer's
cache period, and the decision covers exactly the path it was made for (the authorizer's
policy names the one method ARN): the same header on another path is refused from the cache.
Header values are never logged: two of them are credentials; a refusal is logged with the
verdict's reason only.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from local import defaults
from local.functions import FunctionError, PayloadTooLargeError
from local.proxy import (
    HttpResponse,
    IncomingRequest,
    MalformedResponseError,
    build_event,
    gateway_error,
    to_http_response,
)
from pandabridge.auth import DENIED_MESSAGE, UNAUTHORIZED_MESSAGE, Verdict, authorization_header
from pandabridge.auth import check as check_bearer
from pandabridge.identity import DEFAULT_INTEGRATION
from pandabridge.names import SERVICE_NAME, Limits

logger = logging.getLogger(__name__)

Invoke = Callable[[dict[str, Any]], Any]

# API Gateway keeps an authorizer decision this long by default (the stack's
# authorizer_cache_seconds).
AUTHORIZER_CACHE_SECONDS = 300.0
# An idle keep-alive connection is closed after this long.
IDLE_TIMEOUT_SECONDS = 30.0
# After an early rejection, the rest of the body is read and dropped for at most this long,
# so that the client, still sending, gets to read the answer instead of a connection reset.
DRAIN_SECONDS = 5.0
_READ_SIZE = 64 * 1024
_MAX_CHUNK_LINE = 1024

MISSING_TOKEN = gateway_error(
    HTTPStatus.FORBIDDEN, "Missing Authentication Token", "MissingAuthenticationTokenException"
)
FORBIDDEN = gateway_error(HTTPStatus.FORBIDDEN, "Forbidden", "ForbiddenException")
# The stack's UNAUTHORIZED gateway response: API Gateway's message, and the challenge that
# RFC 6750 asks a 401 to carry, naming the scheme the sender must use.
UNAUTHORIZED = gateway_error(
    HTTPStatus.UNAUTHORIZED,
    UNAUTHORIZED_MESSAGE,
    "UnauthorizedException",
    [("WWW-Authenticate", "Bearer")],
)
# What API Gateway answers when the authorizer's policy denies the request.
DENIED = gateway_error(HTTPStatus.FORBIDDEN, DENIED_MESSAGE, "AccessDeniedException")
TOO_LONG = gateway_error(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "Request Too Long")
# What API Gateway answers when Lambda refuses the invocation payload as too large.
PAYLOAD_TOO_LONG = gateway_error(
    HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "Request Too Long", "BadRequestException"
)
BAD_REQUEST = gateway_error(HTTPStatus.BAD_REQUEST, "Bad Request", "BadRequestException")
INTERNAL_ERROR = gateway_error(
    HTTPStatus.BAD_GATEWAY, "Internal server error", "InternalServerErrorException"
)


@dataclass(frozen=True)
class Answered:
    """What the gateway answered to one request of a route, and why, for whoever reports it."""

    method: str
    path: str
    response: HttpResponse
    # The gateway's own words on it: the bytes that went in, or why it refused the request.
    note: str
    elapsed_ms: float
    # Whether the route's function was called, or the gateway refused the request itself.
    invoked: bool = False
    # Whether the sender prints the answer itself (``defaults.REPORTED_HEADER``).
    reported: bool = False


@dataclass(frozen=True)
class Route:
    """A resource and method of the API, integrated with a function (Lambda proxy)."""

    method: str
    path: str
    invoke: Invoke
    api_key_required: bool = True
    # Whether the method has the bearer-token authorizer, as POST /webhook has in the stack.
    bearer_auth: bool = True
    # The integration whose tokens the authorizer checks on this path.
    integration: str = DEFAULT_INTEGRATION
    # Told of every answer, refusals included, before it is written; the gateway's own line
    # about the request is then a debug line, since the reporter says it for a person.
    on_answer: Callable[[Answered], None] | None = None


def path_parameters(template: str, path: str) -> dict[str, str] | None:
    """The values of ``template``'s ``{name}`` segments in ``path``, or None if it does not
    match; API Gateway matches a parameter to one non-empty segment and passes it decoded."""
    wanted, given = template.strip("/").split("/"), path.strip("/").split("/")
    if len(wanted) != len(given):
        return None
    found: dict[str, str] = {}
    for part, value in zip(wanted, given, strict=True):
        if part.startswith("{") and part.endswith("}"):
            if not value:
                return None
            found[part[1:-1]] = unquote(value)
        elif part != value:
            return None
    return found


class _BadFramingError(Exception):
    """The request body's framing (Content-Length or chunks) cannot be parsed."""


def _declared_length(headers: Message) -> int | None:
    """The Content-Length of a request that is not chunked, ``None`` if it has none."""
    if "chunked" in headers.get("Transfer-Encoding", "").lower():
        return None
    raw = headers.get("Content-Length")
    if raw is None:
        return None
    if not raw.strip().isdigit():
        raise _BadFramingError("Content-Length is not a number")
    return int(raw)


class _Body:
    """The request body as framed on the wire, read at most once and never past a limit."""

    def __init__(self, handler: BaseHTTPRequestHandler) -> None:
        self._rfile = handler.rfile
        self._connection: socket.socket = handler.connection
        chunked = "chunked" in handler.headers.get("Transfer-Encoding", "").lower()
        self.length = _declared_length(handler.headers)
        self._chunks: Iterator[bytes] | None = self._read_chunks() if chunked else None
        self.consumed = not chunked and not self.length

    def read(self, limit: int) -> bytes | None:
        """The whole body, or ``None`` (and the rest left unread) once it is over ``limit``."""
        if self._chunks is None:
            data = self._rfile.read(self.length) if self.length else b""
            if len(data) != (self.length or 0):
                raise ConnectionError("the client closed the connection mid-body")
            self.consumed = True
            return data
        parts: list[bytes] = []
        total = 0
        for chunk in self._chunks:
            total += len(chunk)
            if total > limit:
                return None
            parts.append(chunk)
        self.consumed = True
        return b"".join(parts)

    def discard(self, seconds: float) -> None:
        """Read and drop what is left of the body, for at most ``seconds``."""
        if self.consumed:
            return
        deadline = time.monotonic() + seconds
        self._connection.settimeout(seconds)
        try:
            if self._chunks is not None:
                for _ in self._chunks:
                    if time.monotonic() > deadline:
                        return
                return
            remaining = self.length or 0
            while remaining > 0 and time.monotonic() < deadline:
                data = self._rfile.read1(min(_READ_SIZE, remaining))
                if not data:
                    return
                remaining -= len(data)
        except (OSError, _BadFramingError):
            return

    def _read_chunks(self) -> Iterator[bytes]:
        """The chunked body in pieces of at most ``_READ_SIZE``, whatever size a chunk claims."""
        while True:
            line = self._rfile.readline(_MAX_CHUNK_LINE)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BadFramingError("malformed chunk size") from None
            if size == 0:
                while self._rfile.readline(_MAX_CHUNK_LINE) not in (b"\r\n", b"\n", b""):
                    pass
                return
            while size > 0:
                data = self._rfile.read(min(_READ_SIZE, size))
                if not data:
                    raise ConnectionError("the client closed the connection mid-chunk")
                size -= len(data)
                yield data
            self._rfile.readline(_MAX_CHUNK_LINE)


class _GatewayServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = defaults.LISTEN_BACKLOG
    gateway: LocalGateway


class _RequestHandler(BaseHTTPRequestHandler):
    """One connection; API Gateway's checks, then the function call."""

    protocol_version = "HTTP/1.1"
    server_version = "local-apigateway"
    timeout = IDLE_TIMEOUT_SECONDS
    # Headers and body are two writes: without this, Nagle's algorithm holds the body of an
    # answer on a kept-alive connection until the client's delayed ACK (40 ms).
    disable_nagle_algorithm = True
    server: _GatewayServer

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: the request line can carry query values; requests are logged by path."""

    def handle_expect_100(self) -> bool:
        # Answer before the client sends the body, like API Gateway with `Expect: 100-continue`.
        rejection, route, reason = self._check()
        if rejection is None:
            return super().handle_expect_100()
        self._report(rejection, route, time.monotonic(), f"{reason}, before the body")
        self._write(rejection, request_id=str(uuid.uuid4()), close=True)
        return False

    def _dispatch(self) -> None:
        started = time.monotonic()
        with self.server.gateway.tracking():
            try:
                self._serve(started)
            except (ConnectionError, TimeoutError) as exc:
                logger.debug("%s %s: connection lost: %s", self.command, self._path, exc)
                self.close_connection = True

    # http.server dispatches on these names; every method goes through API Gateway's checks.
    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _dispatch  # noqa: N815

    @property
    def _path(self) -> str:
        return urlsplit(self.path).path

    def _check(self) -> tuple[HttpResponse | None, Route | None, str]:
        """API Gateway's checks that need only the request line and headers, in its order;
        the refusal (``None`` if none), the route, and what a log line may say about it."""
        gateway = self.server.gateway
        route = gateway.route_for(self.command, self._path)
        if route is None:
            return MISSING_TOKEN, None, "no such resource or method"
        try:
            length = _declared_length(self.headers)
        except _BadFramingError:
            return BAD_REQUEST, route, "bad Content-Length"
        if length is not None and length > Limits.API_GATEWAY_MAX_BODY_BYTES:
            return TOO_LONG, route, "body over the limit"
        if route.bearer_auth:
            refusal, verdict = gateway.authorize(self.headers.items(), route)
            if refusal is not None:
                return refusal, route, verdict.value
        if route.api_key_required and not gateway.key_matches(
            self.headers.get(defaults.API_KEY_HEADER)
        ):
            return FORBIDDEN, route, "no or wrong API key"
        return None, route, ""

    def _serve(self, started: float) -> None:
        request_id = str(uuid.uuid4())
        if self.command == "GET" and self._path == defaults.HEALTH_PATH:
            self._write(self.server.gateway.health_response(), request_id=request_id)
            return
        try:
            body = _Body(self)
        except _BadFramingError:
            self._reject(BAD_REQUEST, None, request_id, started, "bad body framing")
            return
        rejection, route, reason = self._check()
        if rejection is not None or route is None:
            self._reject(rejection or MISSING_TOKEN, body, request_id, started, reason, route)
            return
        try:
            data = body.read(Limits.API_GATEWAY_MAX_BODY_BYTES)
        except _BadFramingError:
            self._reject(BAD_REQUEST, body, request_id, started, "bad chunk framing", route)
            return
        if data is None:
            self._reject(TOO_LONG, body, request_id, started, "body over the limit", route)
            return
        response, note = self._call(route, data, request_id)
        self._report(response, route, started, note, invoked=True)
        self._write(response, request_id=request_id)

    def _call(self, route: Route, body: bytes, request_id: str) -> tuple[HttpResponse, str]:
        gateway = self.server.gateway
        request = IncomingRequest(
            method=self.command,
            resource=route.path,
            path=self._path,
            query=urlsplit(self.path).query,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
            port=self.server.server_address[1],
            api_key=gateway.api_key if route.api_key_required else None,
            api_key_id=gateway.api_key_id if route.api_key_required else None,
            path_parameters=path_parameters(route.path, self._path) or None,
        )
        event = build_event(
            request, stage=gateway.stage, request_id=request_id, received_at=time.time()
        )
        try:
            return to_http_response(route.invoke(event)), f"{len(body)} bytes in"
        except PayloadTooLargeError:
            return PAYLOAD_TOO_LONG, "invocation payload over Lambda's limit"
        except FunctionError:
            return INTERNAL_ERROR, "function error"
        except MalformedResponseError as exc:
            logger.error("Execution failed due to configuration error: %s", exc)
            return INTERNAL_ERROR, "malformed proxy response"
        except Exception:
            # A failing integration never takes the gateway down: API Gateway answers 502.
            logger.exception("integration of %s %s failed", route.method, route.path)
            return INTERNAL_ERROR, "integration error"

    def _reject(
        self,
        response: HttpResponse,
        body: _Body | None,
        request_id: str,
        started: float,
        note: str,
        route: Route | None = None,
    ) -> None:
        unread = body is None or not body.consumed
        self._report(response, route, started, note)
        self._write(response, request_id=request_id, close=unread)
        if body is not None:
            body.discard(DRAIN_SECONDS)

    def _write(self, response: HttpResponse, *, request_id: str, close: bool = False) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("x-amzn-RequestId", request_id)
        self.send_header("x-amz-apigw-id", hashlib.sha256(request_id.encode()).hexdigest()[:16])
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)
        self.wfile.flush()

    def _report(
        self,
        response: HttpResponse,
        route: Route | None,
        started: float,
        note: str,
        *,
        invoked: bool = False,
    ) -> None:
        elapsed_ms = (time.monotonic() - started) * 1000
        reporter = route.on_answer if route is not None else None
        level = logging.INFO if reporter is None else logging.DEBUG
        logger.log(
            level,
            "%s %s -> %d, %s (%.0f ms)",
            self.command,
            self._path,
            response.status,
            note,
            elapsed_ms,
        )
        if reporter is not None:
            reported = defaults.REPORTED_HEADER in self.headers
            reporter(
                Answered(self.command, self._path, response, note, elapsed_ms, invoked, reported)
            )


class LocalGateway:
    """The local API: routes to in-process functions on a loopback port, in a daemon thread."""

    def __init__(
        self,
        routes: Sequence[Route],
        api_key: str,
        *,
        bearer_tokens: Sequence[str] | Mapping[str, Sequence[str]],
        authorizer_cache_seconds: float = AUTHORIZER_CACHE_SECONDS,
        host: str = defaults.HOST,
        port: int = 0,
        stage: str = defaults.STAGE,
        health: Mapping[str, str] | None = None,
    ) -> None:
        self.api_key = api_key
        # API Gateway puts the key's id, not only its value, into the request context.
        self.api_key_id = hashlib.sha256(api_key.encode()).hexdigest()[:10]
        self.stage = stage
        # The valid tokens of each integration, as ``pandabridge.auth.valid_tokens`` read them
        # from its secret; none refuses every request to its routes, as a broken secret does.
        if not isinstance(bearer_tokens, Mapping):
            bearer_tokens = {DEFAULT_INTEGRATION: bearer_tokens}
        self._bearer_tokens = {name: tuple(tokens) for name, tokens in bearer_tokens.items()}
        # API Gateway's cache of the authorizer's decisions: header value -> (verdict, path,
        # expiry); the policy names one path, so the cached decision holds for that one only.
        self._cache_seconds = authorizer_cache_seconds
        self._decisions: dict[str, tuple[Verdict, str, float]] = {}
        self._decisions_lock = threading.Lock()
        self._routes = {(route.method, route.path): route for route in routes}
        self._health = dict(health or {})
        self._host = host
        self._port = port
        self._server: _GatewayServer | None = None
        self._thread: threading.Thread | None = None
        self._inflight = 0
        self._idle = threading.Condition()

    @property
    def port(self) -> int:
        return self._server.server_address[1] if self._server else self._port

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def route_for(self, method: str, path: str) -> Route | None:
        """The route of a resource path; ``{name}`` in a route's path matches one segment."""
        exact = self._routes.get((method, path))
        if exact is not None:
            return exact
        return next(
            (
                route
                for (verb, _), route in self._routes.items()
                if verb == method and path_parameters(route.path, path) is not None
            ),
            None,
        )

    def key_matches(self, given: str | None) -> bool:
        return given is not None and hmac.compare_digest(given.encode(), self.api_key.encode())

    def authorize(
        self, headers: Iterable[tuple[str, str]], route: Route | None = None
    ) -> tuple[HttpResponse | None, Verdict]:
        """The stack's authorizer and API Gateway around it: ``None`` for an allowed request,
        else the gateway's answer; and the verdict, for the log line.

        The check sees the headers as the authorizer's event carries them: one value per
        name, the last one sent. A header that is missing or empty is API Gateway's own 401
        (it does not call the authorizer without its identity source); any other refusal is
        the authorizer's Deny, which API Gateway answers with 403. A decision cached for the
        header on another path is no Allow for this one: 403 without asking again.
        """
        single = dict(headers)
        value = authorization_header(single)
        if value is None or not value.strip():
            return UNAUTHORIZED, Verdict.MISSING
        path = route.path if route is not None else ""
        integration = route.integration if route is not None else DEFAULT_INTEGRATION
        cached = self._cached_decision(value)
        if cached is not None:
            verdict, decided_for = cached
            if verdict.allowed and decided_for == path:
                return None, verdict
            return DENIED, Verdict.UNKNOWN if verdict.allowed else verdict
        verdict = check_bearer(single, self._bearer_tokens.get(integration, ()))
        self._cache_decision(value, verdict, path)
        if verdict.allowed:
            return None, verdict
        if verdict is Verdict.MISSING:
            return UNAUTHORIZED, Verdict.MISSING
        return DENIED, verdict

    def _cached_decision(self, header: str) -> tuple[Verdict, str] | None:
        with self._decisions_lock:
            found = self._decisions.get(header)
            if found is None or found[2] <= time.monotonic():
                self._decisions.pop(header, None)
                return None
            return found[0], found[1]

    def _cache_decision(self, header: str, verdict: Verdict, path: str) -> None:
        if self._cache_seconds <= 0:
            return
        with self._decisions_lock:
            self._decisions[header] = (verdict, path, time.monotonic() + self._cache_seconds)

    def health_response(self) -> HttpResponse:
        body = {"status": "ok", "service": SERVICE_NAME, **self._health}
        return HttpResponse(
            int(HTTPStatus.OK), [("Content-Type", "application/json")], json.dumps(body).encode()
        )

    @contextmanager
    def tracking(self) -> Iterator[None]:
        """Count a request in flight, so that ``stop`` can let it finish."""
        with self._idle:
            self._inflight += 1
        try:
            yield
        finally:
            with self._idle:
                self._inflight -= 1
                self._idle.notify_all()

    def start(self) -> LocalGateway:
        """Bind the port (``OSError`` if it is taken) and serve in a background thread."""
        server = _GatewayServer((self._host, self._port), _RequestHandler)
        server.gateway = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="local-gateway"
        )
        self._thread.start()
        return self

    def stop(self, grace_seconds: float = 2.0) -> None:
        """Stop accepting, give requests in flight up to ``grace_seconds``, close the port."""
        if self._server is None:
            return
        self._server.shutdown()
        with self._idle:
            self._idle.wait_for(lambda: self._inflight == 0, timeout=grace_seconds)
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=grace_seconds)
        self._server = None
