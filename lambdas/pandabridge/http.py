"""JSON over HTTPS for every outbound call (ticket targets, BigPanda), with one failure policy.

The queues do the retrying, so this client never retries or follows redirects itself
(``retries=False``); it classifies each failure once, the same way for every caller:

- 408, 429, 5xx, timeouts, refused or reset connections and TLS failures raise
  ``RetryableError`` carrying the other side's ``Retry-After`` (delta seconds or an HTTP date)
  in seconds; a 2xx whose body is not JSON is retryable too (a gateway's error page). Only a
  read timeout or a connection lost after the request was sent leaves the outcome unknown
  (``RetryableError.outcome_unknown``): the request may have taken effect. An answered status,
  a refused connection, a connect timeout or a failed TLS handshake are definite: nothing was
  done;
- any other answer that is not 2xx (other 4xx, and 3xx, since redirects are not followed)
  raises ``RejectedRequestError``; the caller turns it into a ``PermanentError`` naming the setting
  to fix (``RejectedRequestError.permanent``), because only the caller knows which setting that is.

Messages name the method, host and path (never the query, which may carry an e-mail address),
the status, and a short, single-line excerpt of the answer from which every known secret has
been removed (``HttpClient.redacting``). Header values never appear in messages. The client
does not log.

All clients share one ``urllib3.PoolManager`` so that a warm Lambda reuses its TLS connections.
Only the urllib3 API common to 1.26 and 2.x is used: the Lambda runtime's botocore may ship either.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import cache
from typing import Any, Final
from urllib.parse import quote, urlencode

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProxyError,
    SSLError,
)
from urllib3.exceptions import TimeoutError as UrllibTimeoutError
from urllib3.util import parse_url

from pandabridge.errors import PermanentError, RetryableError

# Long enough to show a target's error message, short enough for a log line and a DLQ reason.
EXCERPT_CHARS: Final = 200
# Secrets shorter than this are not redacted: replacing every "a" or "1" would garble the
# excerpt while protecting nothing.
MIN_REDACTED_CHARS: Final = 4
REDACTED: Final = "[redacted]"
# Statuses that say "later" rather than "never": request timeout and rate limiting.
RETRYABLE_STATUSES: Final = frozenset({408, 429})
# Request headers whose values are credentials: redacted from messages like known secrets.
SENSITIVE_HEADERS: Final = frozenset({"authorization", "x-signature", "x-api-key", "cookie"})
USER_AGENT: Final = "pandabridge"

_WHITESPACE = re.compile(r"\s+")
_UNPRINTABLE = re.compile(r"[^\x20-\x7e\u00a0-\uffff]")


@cache
def shared_pool() -> urllib3.PoolManager:
    """The process's connection pool, created on first use and kept for warm invocations."""
    return urllib3.PoolManager(retries=False)


@dataclass(frozen=True)
class HttpResponse:
    """A 2xx answer: its status, headers and JSON body (None when the body was empty)."""

    status: int
    data: Any
    headers: Mapping[str, str] = field(default_factory=dict)


class RejectedRequestError(Exception):
    """The other side refused the request for good (a 4xx other than 408/429, or a 3xx).

    ``details`` is the parsed JSON error body, if any, for callers that map a field name in it
    to a setting; it is never part of the message.
    """

    def __init__(self, *, where: str, status: int, excerpt: str, details: Any = None) -> None:
        self.where = where
        self.status = status
        self.excerpt = excerpt
        self.details = details
        super().__init__(str(self))

    def __str__(self) -> str:
        suffix = f": {self.excerpt}" if self.excerpt else ""
        return f"{self.where} answered {self.status}{suffix}"

    def permanent(self, *, credentials_setting: str, resource_setting: str) -> PermanentError:
        """The error for the queue: 401/403 point at the credentials, anything else at the
        resource the request named (a project, a table, a base URL)."""
        setting = credentials_setting if self.status in (401, 403) else resource_setting
        return PermanentError(str(self), setting=setting, status=self.status)


def encode_json(document: Any) -> bytes:
    """The exact bytes sent for a JSON body (compact, UTF-8), so that callers can sign them."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def basic_auth(user: str, password: str) -> str:
    """An ``Authorization`` header value for HTTP Basic authentication."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def bearer_auth(token: str) -> str:
    """An ``Authorization`` header value for a bearer token."""
    return f"Bearer {token}"


def path_segment(value: str) -> str:
    """``value`` quoted for use as one URL path segment (ids from a target are not trusted)."""
    return quote(value, safe="")


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait according to a ``Retry-After`` header, or None if absent or unreadable.

    The header is either delta seconds or an HTTP date; a date in the past means "now" (0).
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return seconds if seconds >= 0 and seconds != float("inf") else None
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


class HttpClient:
    """Sends JSON requests and turns every failure into ``RetryableError`` or
    ``RejectedRequestError`` (see the module docstring).

    ``timeout_seconds`` bounds each read; ``connect_timeout_seconds`` (default: the same)
    bounds establishing the connection.
    """

    def __init__(
        self,
        *,
        timeout_seconds: float,
        connect_timeout_seconds: float | None = None,
        pool: urllib3.PoolManager | None = None,
        redact: Iterable[str] = (),
    ) -> None:
        self.timeout_seconds = timeout_seconds
        self.connect_timeout_seconds = connect_timeout_seconds or timeout_seconds
        self._timeout = urllib3.Timeout(connect=self.connect_timeout_seconds, read=timeout_seconds)
        self._pool = pool or shared_pool()
        self._secrets = tuple(
            sorted({s for s in redact if len(s) >= MIN_REDACTED_CHARS}, key=len, reverse=True)
        )

    def redacting(self, *secrets: str) -> HttpClient:
        """A client on the same pool that also removes ``secrets`` from every message."""
        return HttpClient(
            timeout_seconds=self.timeout_seconds,
            connect_timeout_seconds=self.connect_timeout_seconds,
            pool=self._pool,
            redact=(*self._secrets, *secrets),
        )

    def request(
        self,
        method: str,
        url: str,
        *,
        query: Mapping[str, str] | None = None,
        json_body: Any = None,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        """Send one request; ``json_body`` is encoded with ``encode_json``, ``body`` is sent
        as is (for callers that sign the exact bytes). Returns the 2xx answer."""
        if json_body is not None and body is not None:
            raise ValueError("pass json_body or body, not both")
        data = encode_json(json_body) if json_body is not None else body
        sent_headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        if data is not None:
            sent_headers["Content-Type"] = "application/json"
        sent_headers.update(headers or {})
        secrets = _header_secrets(sent_headers)
        full_url = f"{url}?{urlencode(query, quote_via=quote)}" if query else url
        where = _where(method, url)
        try:
            response = self._pool.request(
                method,
                full_url,
                body=data,
                headers=sent_headers,
                timeout=self._timeout,
                retries=False,
                redirect=False,
            )
        except (NewConnectionError, ConnectTimeoutError, SSLError, ProxyError) as exc:
            # The request never left: the connection (or its TLS handshake) failed first.
            raise RetryableError(f"{where}: could not connect ({type(exc).__name__})") from None
        except UrllibTimeoutError:
            raise RetryableError(
                f"{where}: timed out after {self.timeout_seconds:g} s", outcome_unknown=True
            ) from None
        except HTTPError as exc:
            raise RetryableError(
                f"{where}: failed ({type(exc).__name__})", outcome_unknown=True
            ) from None
        return self._classify(where, response.status, response.headers, response.data, secrets)

    def _classify(
        self,
        where: str,
        status: int,
        headers: Mapping[str, str],
        raw: bytes | None,
        secrets: Iterable[str],
    ) -> HttpResponse:
        """The 2xx answer with its JSON parsed, or the error that the status calls for."""
        raw = raw or b""
        if status in RETRYABLE_STATUSES or status >= 500:
            excerpt = self._excerpt(raw, secrets)
            raise RetryableError(
                f"{where} answered {status}" + (f": {excerpt}" if excerpt else ""),
                retry_after=parse_retry_after(headers.get("Retry-After")),
                status=status,
            )
        if not 200 <= status < 300:
            raise RejectedRequestError(
                where=where,
                status=status,
                excerpt=self._excerpt(raw, secrets),
                details=_json_or_none(raw),
            )
        if not raw.strip():
            return HttpResponse(status, None, headers)
        try:
            return HttpResponse(status, json.loads(raw), headers)
        except ValueError:
            kind = headers.get("Content-Type") or "no content type"
            raise RetryableError(
                f"{where} answered {status} with a body that is not JSON ({kind}): "
                f"{self._excerpt(raw, secrets)}"
            ) from None

    def _excerpt(self, raw: bytes, extra_secrets: Iterable[str]) -> str:
        """A short, single-line, printable piece of an answer, with known secrets removed."""
        text = raw.decode("utf-8", errors="replace")
        for secret in sorted({*self._secrets, *extra_secrets}, key=len, reverse=True):
            text = text.replace(secret, REDACTED)
        text = _UNPRINTABLE.sub("?", _WHITESPACE.sub(" ", text)).strip()
        return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


def _where(method: str, url: str) -> str:
    """Method, host and path of a request: enough to locate it, without query or user info."""
    parts = parse_url(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{method.upper()} {parts.host}{port}{parts.path or '/'}"


def _header_secrets(headers: Mapping[str, str]) -> set[str]:
    """The credential values of sensitive headers: whole, and without their scheme
    ("Basic ", "Bearer ", "sha256="), since an echo may show either."""
    secrets = set()
    for name, value in headers.items():
        if name.lower() in SENSITIVE_HEADERS:
            credential = value.split()[-1] if value.split() else value
            secrets |= {value, credential, credential.split("=", 1)[-1]}
    return {s for s in secrets if len(s) >= MIN_REDACTED_CHARS}


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw.strip() else None
    except ValueError:
        return None
