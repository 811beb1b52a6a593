"""Who may post desk events: each desk kind proves itself its own way, all checked here.

- Jira Cloud (an admin webhook with a secret): ``X-Hub-Signature: sha256=<hex HMAC-SHA256 of
  the raw body>``, keyed with the webhook's secret.
- ServiceNow (the business rule of ``desks/servicenow/``): ``Authorization: Bearer <token>``.
- ``http`` desks: ``X-PandaBridge-Timestamp: <epoch seconds>`` and
  ``X-PandaBridge-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">``; a
  timestamp more than ``Limits.SIGNED_EVENT_TOLERANCE_SECONDS`` away from now is refused, so
  a captured request cannot be replayed later.

The secret of a target is the Secrets Manager secret that ``two_way.events_secret`` names,
``{"secret": "..."}``. Every comparison is ``hmac.compare_digest`` of fixed-length digests.
Pure functions: no AWS, and nothing here puts a secret or a signature in a message.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any, Final

from pandabridge.auth import bearer_token
from pandabridge.names import Limits
from pandabridge.settings import TargetKind

JIRA_SIGNATURE_HEADER: Final = "X-Hub-Signature"
HTTP_SIGNATURE_HEADER: Final = "X-PandaBridge-Signature"
HTTP_TIMESTAMP_HEADER: Final = "X-PandaBridge-Timestamp"
SIGNATURE_SCHEME: Final = "sha256="
SECRET_KEY: Final = "secret"  # noqa: S105 - the key name in the secret


class Verdict(enum.Enum):
    """The outcome of checking one event; the value is what a log line and the answer may
    say about it. Missing credentials answer 401, wrong or stale ones 403."""

    ALLOWED = "allowed"
    MISSING = "no signature or token"
    FORGED = "the signature or token does not match the target's events secret"
    STALE = "the signed timestamp is missing, malformed or more than 5 minutes from now"

    @property
    def status(self) -> int:
        return 401 if self is Verdict.MISSING else 403


class EventsSecretError(ValueError):
    """The events secret is not ``{"secret": "<text>"}``; the message never holds the value."""


def events_secret(value: str | Mapping[str, Any]) -> str:
    """The shared secret held by the events secret's value (its JSON text, or that parsed)."""
    document: Any = value
    if isinstance(value, str):
        try:
            document = json.loads(value)
        except ValueError:
            raise EventsSecretError("the events secret is not JSON") from None
    secret = document.get(SECRET_KEY) if isinstance(document, Mapping) else None
    if not isinstance(secret, str) or len(secret) < Limits.BEARER_TOKEN_MIN_LENGTH:
        raise EventsSecretError(
            f'the events secret is not {{"{SECRET_KEY}": "<at least '
            f'{Limits.BEARER_TOKEN_MIN_LENGTH} characters>"}}'
        )
    return secret


def jira_signature(body: bytes, secret: str) -> str:
    """The ``X-Hub-Signature`` value Jira sends with ``body``."""
    return SIGNATURE_SCHEME + _hmac(secret, body)


def http_signature(body: bytes, secret: str, timestamp: int) -> str:
    """The ``X-PandaBridge-Signature`` value of a signed ``http`` event sent at ``timestamp``."""
    return SIGNATURE_SCHEME + _hmac(secret, f"{timestamp}.".encode() + body)


def check(
    kind: TargetKind,
    body: bytes,
    headers: Mapping[str, Any] | None,
    secret: str,
    *,
    now: float,
) -> Verdict:
    """The verdict on one event posted to a target of ``kind`` with ``secret``."""
    values = {str(name).lower(): value for name, value in (headers or {}).items()}
    if kind == "jira":
        return _signed(values.get(JIRA_SIGNATURE_HEADER.lower()), jira_signature(body, secret))
    if kind == "servicenow":
        if not values.get("authorization"):
            return Verdict.MISSING
        token = bearer_token(headers) or ""
        return Verdict.ALLOWED if _same(token, secret) else Verdict.FORGED
    signature = values.get(HTTP_SIGNATURE_HEADER.lower())
    if not signature:
        return Verdict.MISSING
    timestamp = _timestamp(values.get(HTTP_TIMESTAMP_HEADER.lower()))
    if timestamp is None or abs(now - timestamp) > Limits.SIGNED_EVENT_TOLERANCE_SECONDS:
        return Verdict.STALE
    return _signed(signature, http_signature(body, secret, timestamp))


def _signed(given: Any, expected: str) -> Verdict:
    if not isinstance(given, str) or not given.strip():
        return Verdict.MISSING
    return Verdict.ALLOWED if _same(given.strip(), expected) else Verdict.FORGED


def _same(given: str, expected: str) -> bool:
    """Equal, in time independent of where they differ and of their lengths."""
    return hmac.compare_digest(_digest(given), _digest(expected))


def _timestamp(value: Any) -> int | None:
    if not isinstance(value, str) or not value.strip().isdigit():
        return None
    return int(value.strip())


def _hmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()
