"""A small HTTP client for the local gateway: post a webhook, probe a running stack.

``http.client`` rather than ``urllib``: every status comes back as an answer (no exception
for 4xx), and a large body can be streamed from a file.
"""

from __future__ import annotations

import http.client
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from local import defaults
from pandabridge.auth import SCHEME
from pandabridge.names import AUTHORIZATION_HEADER, SERVICE_NAME

PROBE_TIMEOUT_SECONDS = 1.0
REQUEST_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class Answer:
    """A response, read whole, with the time it took."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    elapsed: float

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        """The body parsed as JSON, or ``None`` if it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None

    def summary(self) -> str:
        """One line: the ingest outcome, or the error message and its details."""
        answer = self.json()
        if not isinstance(answer, dict):
            return self.body[:200].decode("utf-8", "replace") or "(empty body)"
        if self.ok and "result" in answer:
            version = json.dumps(answer.get("version"))
            return f"{answer['result']} incident {answer.get('incident_id')} version {version}"
        text = str(answer.get("message", json.dumps(answer)))
        errors = answer.get("errors")
        if isinstance(errors, list) and errors:
            text += " [" + "; ".join(_error_text(error) for error in errors) + "]"
        return text


def _error_text(error: object) -> str:
    if not isinstance(error, dict):
        return str(error)
    loc = error.get("loc")
    where = ".".join(map(str, loc)) if isinstance(loc, list) else str(loc or "")
    return f"{where}: {error.get('msg')}" if where else str(error.get("msg"))


def request(
    method: str,
    url: str,
    *,
    body: bytes | BinaryIO | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = REQUEST_TIMEOUT_SECONDS,
) -> Answer:
    """Send one request to ``url`` and read the whole answer (``OSError`` if unreachable)."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"not an http:// URL: {url}")
    target = parts.path or "/"
    if parts.query:
        target += f"?{parts.query}"
    headers = dict(headers or {})
    if hasattr(body, "fileno") and not any(name.lower() == "content-length" for name in headers):
        # http.client would send a file chunked; a real client sends its known length.
        headers["Content-Length"] = str(os.fstat(body.fileno()).st_size)
    started = time.monotonic()
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request(method, target, body=body, headers=headers)
        response = connection.getresponse()
        data = response.read()
        return Answer(
            response.status,
            dict(response.getheaders()),
            data,
            time.monotonic() - started,
        )
    finally:
        connection.close()


@dataclass(frozen=True)
class Credentials:
    """The two static headers BigPanda sends with every delivery: the API key and the bearer
    token. ``None`` leaves a header out, to see the gateway refuse the request. Neither value
    is in the ``repr``, so that a printed or logged object shows no credential."""

    api_key: str | None = field(default=defaults.API_KEY, repr=False)
    bearer_token: str | None = field(default=defaults.BEARER_TOKEN, repr=False)

    def headers(self) -> dict[str, str]:
        """``x-api-key`` and ``Authorization: Bearer <token>``, each unless it is ``None``."""
        headers = {}
        if self.api_key is not None:
            headers[defaults.API_KEY_HEADER] = self.api_key
        if self.bearer_token is not None:
            headers[AUTHORIZATION_HEADER] = authorization(self.bearer_token)
        return headers


def authorization(token: str) -> str:
    """The ``Authorization`` header value that carries ``token``, as BigPanda is set up to
    send it (the scheme is case-insensitive; this is its usual spelling)."""
    return f"{SCHEME.capitalize()} {token}"


def post_webhook(
    url: str, credentials: Credentials, body: bytes | BinaryIO, *, reported: bool = False
) -> Answer:
    """POST ``body`` as BigPanda does: JSON, with the API key and the bearer token.
    ``reported``: the caller prints the answer on the stack's own console (the sample, the
    story), so that stack's journey does not."""
    headers = {"Content-Type": "application/json", **credentials.headers()}
    if reported:
        headers[defaults.REPORTED_HEADER] = "1"
    return request("POST", url, body=body, headers=headers)


def probe_stack(base_url: str) -> dict[str, Any] | None:
    """The health answer of a local stack at ``base_url``; ``None`` if none is listening.

    Raises ``ConnectionError`` when the port answers but not as a local stack, so that the
    caller can say the port is taken instead of starting a second server on it.
    """
    taken = ConnectionError(f"{base_url} is in use by something that is not a local stack")
    try:
        answer = request("GET", f"{base_url}{defaults.HEALTH_PATH}", timeout=PROBE_TIMEOUT_SECONDS)
    except ConnectionRefusedError:
        return None
    except (OSError, http.client.HTTPException) as exc:
        raise taken from exc
    health = answer.json()
    if (
        answer.status != http.client.OK
        or not isinstance(health, dict)
        or health.get("service") != SERVICE_NAME
    ):
        raise taken
    return health
