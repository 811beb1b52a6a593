"""A stand-in for BigPanda's API on a loopback port: the outbound callback service and the
Incidents API v2 (``local.fakes.bigpanda_api``, its routes and behaviours).

The local stack points the callback function at it (``BIGPANDA_API_BASE``), so a new ticket
visibly ends with BigPanda's confirmation, without an account. It checks what BigPanda checks,
the User API key as a bearer token (401) and the body's fields (400), and answers a valid
callback as BigPanda does: 200 ``{"status": 200, "data": {}}``. Callbacks and v2 calls share
the org's rate limit, as they do at BigPanda.

Its own routes, for people and tests, need no key:

- ``GET /``: a page of the resolves, comments, tags and assignments written so far;
- ``GET /_bigpanda/callbacks[?incident_id=...]``: every callback so far, as JSON;
- ``POST /_bigpanda/fail?status=503&count=2[&retry_after=5]``: the next ``count`` callbacks
  answer ``status`` (with ``Retry-After`` if given), to watch the callback retry; ``count=0``
  ends it;
- ``POST /_fake/fail?status=429&count=2[&retry_after=5]``: the same for the next v2 calls;
- ``POST /_fake/drop?count=1``: the next deliveries (``deliver``) are shared but not sent;
- ``POST /_fake/share`` with a webhook body: share it (no delivery);
- ``POST /_fake/share-target?value=webhook.name``: the ``share_target`` of later shares;
- ``POST /_fake/rate-limits?enabled=false``: stop (or restart) enforcing the rate limits;
- ``POST /_fake/environments?id=...&name=...[&incident_tags=true]``: add an environment;
- ``POST /_fake/tags?name=...[&type=Text&active=false]``: define an incident tag;
- ``POST /_fake/users?email=...[&name=...&active=false]``: add a SCIM user;
- ``GET /_fake/writes[?kind=resolve|comment|tag|assignment]``: the writes accepted so far;
- ``GET /_fake/incidents/{id}``: an incident as shared, with its activities (newest first).

A record keeps the call's headers with every credential masked down to its last characters:
the listing is meant to be pasted into chats and bug reports.
"""

from __future__ import annotations

import hmac
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from http import HTTPStatus
from typing import Any, Final, TypeVar

from local import defaults
from local.demo.bigpanda_page import render
from local.fakes.bigpanda_api import API_PREFIX, BigPandaIncidentsApi, WriteKind
from local.loopback import FailurePlan, LoopbackService, Query, Reply, json_reply
from pandabridge.names import BIGPANDA_CALLBACK_PATH

CALLBACKS_PATH: Final = "/_bigpanda/callbacks"
FAIL_PATH: Final = "/_bigpanda/fail"
CONTROL_PREFIX: Final = "/_bigpanda/"
FAKE_PREFIX: Final = "/_fake/"
EVENT_TYPE: Final = "incident#new"  # the only event type the callback service documents
REQUIRED_FIELDS: Final = ("event_type", "incident_id", "app_key")
# Headers that carry credentials, masked in the records.
SECRET_HEADERS: Final = frozenset({"authorization", "proxy-authorization", "x-api-key", "cookie"})
# Enough to tell keys apart; a token shorter than this shows no character at all.
_MASK_TAIL_CHARS: Final = 4
_MASK_MIN_CHARS: Final = 12
# A stack left running for days keeps the newest calls only.
MAX_RECORDS: Final = 1000
_EXCERPT_CHARS: Final = 2000
T = TypeVar("T")


def mask_credential(value: str) -> str:
    """``Bearer abc…wxyz`` as ``Bearer ****wxyz``: the scheme and the last four characters."""
    scheme, _, token = value.strip().rpartition(" ")
    token = token.strip()
    tail = token[-_MASK_TAIL_CHARS:] if len(token) >= _MASK_MIN_CHARS else ""
    return f"{scheme} ****{tail}" if scheme else f"****{tail}"


@dataclass(frozen=True)
class CallRecord:
    """One call to the API as the stand-in saw it, credentials masked."""

    at: datetime
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    status: int

    @property
    def incident_id(self) -> str | None:
        value = self.body.get("incident_id") if isinstance(self.body, dict) else None
        return value if isinstance(value, str) else None

    def as_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(timespec="milliseconds"),
            "method": self.method,
            "path": self.path,
            "headers": self.headers,
            "body": self.body,
            "status": self.status,
        }


def _error(status: int, message: str) -> Reply:
    return json_reply(status, {"status": int(status), "error": message})


class BigPandaStandIn(LoopbackService):
    """BigPanda's callback service for one User API key, with its call records."""

    name = "bigpanda-stand-in"

    def __init__(
        self,
        api_key: str,
        *,
        host: str = defaults.HOST,
        port: int = 0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(host=host, port=port)
        if not api_key:
            raise ValueError("the stand-in needs a User API key to check")
        self._api_key = api_key
        self.failures = FailurePlan("BigPanda stand-in")
        # The Incidents API v2: its state, knobs (``api.failures``, ``api.share_target``, ...)
        # and the writes it accepted.
        self.api = BigPandaIncidentsApi(clock=clock)
        self._records: deque[CallRecord] = deque(maxlen=MAX_RECORDS)
        self._lock = threading.Lock()

    @property
    def api_base(self) -> str:
        """What ``BIGPANDA_API_BASE`` is set to, as ``https://api.bigpanda.io`` would be."""
        return self.url.rstrip("/")

    @property
    def callbacks_url(self) -> str:
        return f"{self.api_base}{CALLBACKS_PATH}"

    @property
    def fail_url(self) -> str:
        return f"{self.api_base}{FAIL_PATH}"

    def deliver(
        self, payload: Mapping[str, Any], send: Callable[[Mapping[str, Any]], T]
    ) -> T | None:
        """Share a webhook body as BigPanda does, then ``send`` it unless a drop is armed."""
        return self.api.deliver(payload, send)

    def records(self, incident_id: str | None = None) -> list[CallRecord]:
        """The calls so far, oldest first; only those of one incident if given."""
        with self._lock:
            records = list(self._records)
        return [r for r in records if incident_id is None or r.incident_id == incident_id]

    def answer(self, method: str, path: str, query: Query, headers: Message, body: bytes) -> Reply:
        if path == "/" and method == "GET":
            return Reply(HTTPStatus.OK, render(self.api.writes()).encode(), "text/html")
        if path == CALLBACKS_PATH and method == "GET":
            incident_id = query.get("incident_id", [None])[0]
            listing = [record.as_json() for record in self.records(incident_id)]
            return json_reply(HTTPStatus.OK, {"callbacks": listing})
        if path == FAIL_PATH and method == "POST":
            return self.failures.arm_from(query)
        if path.startswith(CONTROL_PREFIX):
            return _error(HTTPStatus.NOT_FOUND, f"no route {method} {path}")
        if path.startswith(FAKE_PREFIX):
            return self._knob(method, path.removeprefix(FAKE_PREFIX), query, body)
        document = _parse(body)
        if path.startswith(f"{API_PREFIX}/"):
            if not self._authorized(headers.get("Authorization")):
                return _error(HTTPStatus.UNAUTHORIZED, "missing or wrong bearer token")
            return self.api.answer(method, path.removeprefix(API_PREFIX), query, document)
        reply = self._api(method, path, headers, document)
        self._record(method, path, headers, body, document, reply.status)
        return reply

    def _knob(self, method: str, knob: str, query: Query, body: bytes) -> Reply:
        """The ``/_fake/...`` routes of the module docstring."""
        api = self.api

        def one(name: str, default: str = "") -> str:
            return query.get(name, [default])[0]

        def required(name: str) -> str:
            if not one(name):
                raise ValueError(f"the query parameter {name} is required")
            return one(name)

        def yes(name: str, default: str) -> bool:
            return one(name, default).lower() in ("1", "true", "yes")

        done = json_reply(HTTPStatus.OK, {"ok": True})
        if method == "GET" and knob == "writes":
            kind: WriteKind | None = one("kind") or None  # type: ignore[assignment]
            return json_reply(HTTPStatus.OK, {"writes": [w.as_json() for w in api.writes(kind)]})
        if method == "GET" and knob.startswith("incidents/"):
            incident_id = knob.removeprefix("incidents/")
            incident = api.incident(incident_id)
            if incident is None:
                return _error(HTTPStatus.NOT_FOUND, f"incident {incident_id} was never shared")
            activities = api.activities_of(incident_id)
            return json_reply(HTTPStatus.OK, {"incident": incident, "activities": activities})
        if method != "POST":
            return _error(HTTPStatus.NOT_FOUND, f"no route {method} {FAKE_PREFIX}{knob}")
        try:
            if knob == "fail":
                return api.failures.arm_from(query)
            if knob == "drop":
                api.drop_next_deliveries(int(one("count", "1")))
            elif knob == "share":
                document = _parse(body)
                if not isinstance(document, dict) or not isinstance(document.get("incident"), dict):
                    return _error(HTTPStatus.BAD_REQUEST, "the body is not a webhook body")
                return json_reply(HTTPStatus.OK, {"incident_id": api.share(document)})
            elif knob == "share-target":
                api.share_target = one("value", api.share_target)
            elif knob == "rate-limits":
                api.rate_limited = yes("enabled", "true")
            elif knob == "environments":
                api.add_environment(
                    required("id"),
                    one("name", one("id")),
                    uses_incident_tags=yes("incident_tags", "0"),
                )
            elif knob == "tags":
                tag_id = api.define_tag(
                    required("name"), tag_type=one("type", "Text"), active=yes("active", "true")
                )
                return json_reply(HTTPStatus.OK, {"id": tag_id})
            elif knob == "users":
                user_id = api.add_user(one("email"), name=one("name"), active=yes("active", "true"))
                return json_reply(HTTPStatus.OK, {"id": user_id})
            else:
                return _error(HTTPStatus.NOT_FOUND, f"no route {method} {FAKE_PREFIX}{knob}")
        except (KeyError, ValueError) as problem:
            return _error(HTTPStatus.BAD_REQUEST, f"bad knob request: {problem}")
        return done

    def _api(self, method: str, path: str, headers: Message, document: object) -> Reply:
        if path != BIGPANDA_CALLBACK_PATH or method != "POST":
            return _error(HTTPStatus.NOT_FOUND, f"no route {method} {path}")
        planned = self.failures.take()
        if planned is not None:
            return planned
        self.api.count_callback()
        if not self._authorized(headers.get("Authorization")):
            return _error(HTTPStatus.UNAUTHORIZED, "missing or wrong bearer token")
        problem = _body_problem(document)
        if problem is not None:
            return _error(HTTPStatus.BAD_REQUEST, problem)
        return json_reply(HTTPStatus.OK, {"status": 200, "data": {}})

    def _authorized(self, authorization: str | None) -> bool:
        scheme, _, token = (authorization or "").strip().partition(" ")
        # Compared in constant time, so the answer's timing tells nothing about the key.
        matches = hmac.compare_digest(token.strip().encode(), self._api_key.encode())
        return scheme.lower() == "bearer" and matches

    def _record(
        self, method: str, path: str, headers: Message, body: bytes, document: object, status: int
    ) -> None:
        shown = {
            name: mask_credential(value) if name.lower() in SECRET_HEADERS else self._cut(value)
            for name, value in headers.items()
        }
        text = body.decode("utf-8", "replace")
        # The parsed body reads best; the text shows what was not JSON, and the key, should a
        # client have put it anywhere, is cut out of both.
        kept = document if document is not None and self._api_key not in text else text
        if isinstance(kept, str):
            kept = self._cut(kept)[:_EXCERPT_CHARS]
        record = CallRecord(datetime.now(UTC), method, path, shown, kept, status)
        with self._lock:
            self._records.append(record)

    def _cut(self, text: str) -> str:
        return text.replace(self._api_key, mask_credential(self._api_key))


def _parse(body: bytes) -> object:
    """The body as JSON, or ``None`` if it is empty or not JSON."""
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def _body_problem(document: object) -> str | None:
    """Why BigPanda would refuse the callback body with a 400, if it would."""
    if not isinstance(document, dict):
        return "the body is not a JSON object"
    missing = [
        f for f in REQUIRED_FIELDS if not isinstance(document.get(f), str) or not document[f]
    ]
    if missing:
        return f"missing field(s): {', '.join(missing)}"
    if document["event_type"] != EVENT_TYPE:
        return f"event_type must be {EVENT_TYPE!r}"
    return None
