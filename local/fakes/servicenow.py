"""A ServiceNow instance's Table API on a loopback port, stateful and in memory, written from
ServiceNow's Table API documentation rather than from our adapter.

Routes (``{table}`` is ``incident``, ``sys_user``, ``sys_user_group``, ``sys_journal_field``
or ``sys_choice``; the tables and their rules are in ``servicenow_tables``):

- ``GET/POST /api/now/table/{table}``, ``GET/PATCH/PUT/DELETE /api/now/table/{table}/{sys_id}``:
  every answer is ``{"result": ...}``; a create answers 201 with ``Location``; a refusal
  answers ``{"error": {"message", "detail"}, "status": "failure"}``. Query parameters:
  ``sysparm_query`` (see ``encoded_query``), plain ``field=value`` pairs, ``sysparm_fields``
  (unknown fields ignored), ``sysparm_limit``, ``sysparm_offset``, ``sysparm_display_value``
  (``true``/``false``/``all``), ``sysparm_exclude_reference_link`` and
  ``sysparm_input_display_value=true`` (reference fields then take a display value: a user's
  or a group's name, an incident's number).
- Authentication: HTTP Basic with the configured user, or a bearer token; 401 otherwise.

Knobs, for tests (``fake.tables``, ``fake.failures``, ``fake.slowness``) and people (no
authentication): ``POST /_fake/fail?status=429&count=2&retry_after=1`` (a 429 also carries
``X-RateLimit-*``), ``POST /_fake/slow?seconds=2&count=1&method=PATCH`` (the call takes effect,
then its answer waits), ``POST /_fake/auto_close?seconds=5`` (no ``seconds``: close every
Resolved incident now), ``POST /_fake/users`` and ``/_fake/groups`` with a JSON record,
``GET /_fake/requests`` and ``GET /_fake/tables/{table}``.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from email.message import Message
from http import HTTPStatus
from typing import Any, Final
from urllib.parse import unquote

from local import defaults
from local.fakes.desk_webhooks import WebhookSender, bearer_sender, servicenow_rule_body
from local.fakes.servicenow_tables import (
    CURRENT_CLOSE_CODES,
    Table,
    TableError,
    Tables,
)
from local.loopback import FailurePlan, LoopbackService, Query, Reply, SlowPlan, json_reply

API_PREFIX: Final = "/api/now/table/"
CONTROL_PREFIX: Final = "/_fake/"
DEFAULT_LIMIT: Final = 10_000


@dataclass(frozen=True)
class Received:
    """One request as the fake received it, for assertions."""

    method: str
    path: str
    query: Mapping[str, list[str]]
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def error_document(message: str, detail: str | None = None) -> dict[str, Any]:
    """ServiceNow's error shape."""
    return {"error": {"message": message, "detail": detail}, "status": "failure"}


class ServiceNowFake(LoopbackService):
    """The instance: its tables, its fault knobs, the requests it received."""

    name = "servicenow-fake"

    def __init__(
        self,
        *,
        username: str = "pandabridge",
        password: str = "",
        token: str | None = None,
        close_codes: Sequence[str] = CURRENT_CLOSE_CODES,
        auto_close_seconds: float | None = None,
        host: str = defaults.HOST,
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self._username, self._password, self._token = username, password, token
        self.tables = Tables(
            api_user=username, close_codes=close_codes, auto_close_seconds=auto_close_seconds
        )
        self.failures = FailurePlan(
            "ServiceNow fake",
            shape=lambda message: error_document("Too many requests", message),
            rate_limit_headers=True,
        )
        self.slowness = SlowPlan()
        self._lock = threading.Lock()
        self._received: list[Received] = []
        self.rule: WebhookSender | None = None

    def install_rule(self, url: str, token: str, **options: Any) -> WebhookSender:
        """Play the business rule of ``desks/servicenow/``: after each update of an incident
        that changes its state or assignee or adds a comment or work note, POST the change to
        ``url`` with ``Authorization: Bearer <token>``; ``options`` tune the sender."""
        if self.rule is not None:
            self.rule.stop()
        self.rule = bearer_sender(url, token, **options)
        self.tables.on_incident_update = self._run_rule
        return self.rule

    def act_as(self, sys_id: str, values: Mapping[str, str], user_name: str) -> dict[str, str]:
        """An agent updates an incident (the rule fires as for any update)."""
        return self.tables.update("incident", sys_id, values, user_name)

    def _run_rule(
        self,
        before: Mapping[str, str],
        after: Mapping[str, str],
        written: Mapping[str, str],
        user_name: str,
    ) -> None:
        users = [u for u in self.tables.rows("sys_user") if u["user_name"] == user_name]
        assignee = after.get("assigned_to")
        email = self.tables.get("sys_user", assignee)["email"] if assignee else None
        body = servicenow_rule_body(before, after, written, users[0] if users else {}, email)
        if body is not None and self.rule is not None:
            self.rule.deliver(body)

    def stop(self) -> None:
        if self.rule is not None:
            self.rule.stop()
        super().stop()

    @property
    def requests(self) -> list[Received]:
        """Every Table API request received, in order (control routes excluded)."""
        with self._lock:
            return list(self._received)

    def journal(self, sys_id: str, element: str = "work_notes") -> list[str]:
        """The journal entries of one incident's ``element``, oldest first."""
        return [
            row["value"]
            for row in self.tables.rows("sys_journal_field")
            if row["element_id"] == sys_id and row["element"] == element
        ]

    def answer(self, method: str, path: str, query: Query, headers: Message, body: bytes) -> Reply:
        """The reply to one request; the HTTP layer only reads and writes bytes."""
        if path.startswith(CONTROL_PREFIX):
            return self._control(method, path.removeprefix(CONTROL_PREFIX), query, body)
        with self._lock:
            self._received.append(Received(method, path, query, dict(headers.items()), body))
        if not path.startswith(API_PREFIX):
            return _error(HTTPStatus.BAD_REQUEST, "Requested URI does not represent any resource")
        if not self._authenticated(headers.get("Authorization")):
            return _error(
                HTTPStatus.UNAUTHORIZED, "User Not Authenticated", "Required to provide Auth info"
            )
        planned = self.failures.take()
        if planned is not None:
            return planned
        reply = self._table_api(method, path.removeprefix(API_PREFIX), query, body)
        if reply.status < 300:
            time.sleep(self.slowness.take(method))
        return reply

    def _authenticated(self, header: str | None) -> bool:
        scheme, _, credentials = (header or "").partition(" ")
        if scheme == "Bearer":
            return self._token is not None and credentials == self._token
        if scheme != "Basic":
            return False
        try:
            user, _, password = base64.b64decode(credentials).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return user == self._username and password == self._password

    def _table_api(self, method: str, rest: str, query: Query, body: bytes) -> Reply:
        name, _, sys_id = (unquote(part) for part in rest.partition("/"))
        options = _Options.of(query)
        try:
            table = self.tables.table(name)
            if not sys_id and method == "GET":
                return self._list(table, query, options)
            if not sys_id and method == "POST":
                values = self._input(table, _document(body), options)
                row = self.tables.insert(name, values, self._username)
                location = f"{self.url.rstrip('/')}{API_PREFIX}{name}/{row['sys_id']}"
                return self._result(HTTPStatus.CREATED, table, row, options, ("Location", location))
            if sys_id and method == "GET":
                return self._result(HTTPStatus.OK, table, self.tables.get(name, sys_id), options)
            if sys_id and method in ("PATCH", "PUT"):
                values = self._input(table, _document(body), options)
                row = self.tables.update(name, sys_id, values, self._username)
                return self._result(HTTPStatus.OK, table, row, options)
            if sys_id and method == "DELETE":
                self.tables.delete(name, sys_id)
                return Reply(HTTPStatus.NO_CONTENT, b"")
        except TableError as refused:
            return _error(refused.status, refused.message, refused.detail)
        except ValueError as bad:
            return _error(HTTPStatus.BAD_REQUEST, "Exception while reading request", str(bad))
        return _error(HTTPStatus.METHOD_NOT_ALLOWED, "Method not Supported")

    def _list(self, table: Table, query: Query, options: _Options) -> Reply:
        terms = [query.get("sysparm_query", [""])[0]]
        terms += [f"{k}={v[0]}" for k, v in query.items() if not k.startswith("sysparm_")]
        rows = self.tables.query(table.name, "^".join(term for term in terms if term))
        page = rows[options.offset : options.offset + options.limit]
        document = {"result": [self._render(table, row, options) for row in page]}
        return json_reply(HTTPStatus.OK, document, (("X-Total-Count", str(len(rows))),))

    def _result(
        self,
        status: int,
        table: Table,
        row: Mapping[str, str],
        options: _Options,
        *headers: tuple[str, str],
    ) -> Reply:
        return json_reply(status, {"result": self._render(table, row, options)}, headers)

    def _input(self, table: Table, document: Mapping[str, Any], options: _Options) -> dict:
        """The record to write; reference fields given by display value are resolved when
        ``sysparm_input_display_value`` is true (an unknown name leaves the field empty)."""
        values = dict(document)
        if options.input_display_value:
            for name, target in table.references.items():
                if isinstance(values.get(name), str) and values[name]:
                    values[name] = self.tables.find_by_display(target, values[name]) or ""
        return values

    def _render(self, table: Table, row: Mapping[str, str], options: _Options) -> dict[str, Any]:
        names = [n for n in options.fields if n in row] if options.fields else list(row)
        return {name: self._value(table, name, row[name], options) for name in names}

    def _value(self, table: Table, name: str, value: str, options: _Options) -> Any:
        target = table.references.get(name)
        if target is not None and value:
            link = f"{self.url.rstrip('/')}{API_PREFIX}{target}/{value}"
            display = self.tables.display_of(target, value)
        else:
            link, display = None, value
        if table.name == "incident" and name in table.choices:
            display = self.tables.choice_label(name, value)
        if options.display_value == "all":
            shown: dict[str, Any] = {"display_value": display, "value": value}
        elif options.display_value == "true":
            if link is None or options.exclude_reference_link:
                return display
            shown = {"display_value": display}
        else:
            if link is None or options.exclude_reference_link:
                return value
            shown = {"value": value}
        if link is not None and not options.exclude_reference_link:
            shown["link"] = link
        return shown

    def _control(self, method: str, knob: str, query: Query, body: bytes) -> Reply:
        if method == "POST" and knob == "fail":
            return self.failures.arm_from(query)
        if method == "POST" and knob == "slow":
            return self.slowness.arm_from(query)
        if method == "POST" and knob == "auto_close":
            if "seconds" not in query:
                return json_reply(HTTPStatus.OK, {"closed": self.tables.close_resolved()})
            self.tables.auto_close_seconds = float(query["seconds"][0])
            return json_reply(HTTPStatus.OK, {"seconds": self.tables.auto_close_seconds})
        if method == "POST" and knob in ("users", "groups"):
            try:
                record = _document(body)
                if knob == "users":
                    sys_id = self.tables.add_user(
                        str(record["user_name"]),
                        str(record.get("email", "")),
                        name=str(record.get("name", "")),
                        active=bool(record.get("active", True)),
                    )
                else:
                    sys_id = self.tables.add_group(str(record["name"]))
            except (KeyError, ValueError) as bad:
                return _error(HTTPStatus.BAD_REQUEST, "bad knob request", str(bad))
            return json_reply(HTTPStatus.CREATED, {"sys_id": sys_id})
        if method == "POST" and knob in ("rule", "act"):
            try:
                record = _document(body)
                if knob == "rule":
                    self.install_rule(str(record["url"]), str(record["token"]))
                    return json_reply(HTTPStatus.OK, {"url": record["url"]})
                row = self.act_as(str(record["sys_id"]), record["values"], str(record["user"]))
            except (KeyError, ValueError, TableError) as bad:
                return _error(HTTPStatus.BAD_REQUEST, "bad knob request", str(bad))
            return json_reply(HTTPStatus.OK, {"result": row})
        if method == "GET" and knob == "requests":
            received = [
                {"method": r.method, "path": r.path, "query": r.query, "body": r.body.decode()}
                for r in self.requests
            ]
            return json_reply(HTTPStatus.OK, {"requests": received})
        if method == "GET" and knob.startswith("tables/"):
            try:
                return json_reply(HTTPStatus.OK, {"result": self.tables.rows(knob[7:])})
            except TableError as refused:
                return _error(refused.status, refused.message, refused.detail)
        return _error(HTTPStatus.NOT_FOUND, f"no knob {method} {CONTROL_PREFIX}{knob}")


@dataclass(frozen=True)
class _Options:
    fields: tuple[str, ...]
    limit: int
    offset: int
    display_value: str
    exclude_reference_link: bool
    input_display_value: bool

    @classmethod
    def of(cls, query: Query) -> _Options:
        def one(name: str, default: str) -> str:
            return query.get(name, [default])[0]

        fields = tuple(f.strip() for f in one("sysparm_fields", "").split(",") if f.strip())
        try:
            limit, offset = int(one("sysparm_limit", "10000")), int(one("sysparm_offset", "0"))
        except ValueError:
            limit, offset = DEFAULT_LIMIT, 0
        return cls(
            fields=fields,
            limit=max(limit, 0),
            offset=max(offset, 0),
            display_value=one("sysparm_display_value", "false").lower(),
            exclude_reference_link=one("sysparm_exclude_reference_link", "false") == "true",
            input_display_value=one("sysparm_input_display_value", "false") == "true",
        )


def _document(body: bytes) -> dict[str, Any]:
    document = json.loads(body) if body else {}
    if not isinstance(document, dict):
        raise ValueError("the body must be a JSON object")
    return document


def _error(status: int, message: str, detail: str | None = None) -> Reply:
    return json_reply(status, error_document(message, detail))
