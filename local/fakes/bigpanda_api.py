"""BigPanda's Incidents API v2 for the stand-in (``local.demo.bigpanda`` serves it), stateful
and in memory, written from BigPanda's API reference with its awkward behaviours.

It knows the incidents it has *shared*: ``share(payload)`` (and ``deliver``, which also hands
the webhook body on unless a drop is armed) records the incident from a webhook body, with an
``incident_shared`` activity whose ``params.share_target`` is ``share_target``. Then, under
``/resources/v2.0`` and with the User API key as a bearer token (401 otherwise):

- ``GET /environments``: a bare JSON array, the built-in "All" included;
- ``GET /environments/{env}/incidents?from=&to=&page=&page_size=&sort_by=last_change
  [&expand=alerts]``: ``{"total", "items"}``, filtered on ``changed_at`` within
  ``[from, to]``, newest change first, 1-based pages, at most 10,000 results; ``expand=alerts``
  with ``page_size`` above 10 answers 400; an environment flagged as using incident tags
  answers 500 (a documented fault: search "All" instead); an unknown environment 404;
- ``GET /environments/{env}/incidents/{id}[?expand=alerts]``: the v2 incident (``start``,
  ``changed_at``, ``updated_at``, ``end``, ``snooze{snoozed, end_time,
  cancel_on_incident_updates}``), 404 when unknown or not in that environment;
- ``GET /incidents/{id}/activities?page=&per_page=&types=a,b``: ``{"total", "items"}``,
  newest first, each ``{id, type, timestamp, created_by, params}``;
- ``POST .../incidents/{id}/resolve {"comments"}``: 202, or 409 when resolved already;
- ``POST .../incidents/{id}/comments {"comment"}``: 204;
- ``GET /incidents/tags/definitions`` (bare array); ``POST`` one ``{"name" (1-20 chars),
  "type"}``: 201, 409 for a name in use;
- ``POST .../incidents/{id}/tags/{tag_id} {"tag_value"}``: 204; 404 for an undefined tag, 400
  for an inactive one or a missing value;
- ``PUT .../incidents/{id}/assignment {"assignee"}``: 204; 400 for an unknown user;
- ``GET /scim/Users?filter=...``: ``{"totalResults", "Resources"}``; deactivated users are
  listed unless the filter holds ``active eq true`` (``userName eq "..."`` is understood);
- rate limits per org in fixed windows: 150 requests a minute, and 5 actions (writes, tag
  definitions, SCIM) a second which count as requests too; the 151st or 6th answers 429
  *without* ``Retry-After``. Callbacks count against the minute but are never refused.

Every write that took effect is kept (``writes()``), for tests and the local page. Knobs:
``failures`` (the next v2 calls answer a status), ``drop_next_deliveries(n)``,
``share_target``, ``rate_limited``, ``add_environment``, ``define_tag``, ``add_user``.
"""

from __future__ import annotations

import copy
import math
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Final, Literal, TypeVar

from local.loopback import FailurePlan, Query, Reply, json_reply
from pandabridge.names import Limits

API_PREFIX: Final = "/resources/v2.0"
# The vendor sample's environment id (``metadata.environment_id``) is the built-in "All".
ALL_ENVIRONMENT_ID: Final = "55550bc8c481fd1100abc398"
ALL_ENVIRONMENT_NAME: Final = "All"
DEFAULT_SHARE_TARGET: Final = "webhook.pandabridge"
# The user the stand-in's API key belongs to: ``created_by`` of the writes made with it.
API_USER_ID: Final = "5f0e1d2c3b4a596877665544"
API_USER_NAME: Final = "pandabridge@example.com"
SHARER: Final = "autoshare"
EXPANDED_PAGE_SIZE_MAX: Final = 10
SEARCH_RESULTS_MAX: Final = 10_000
TAG_NAME_MAX_CHARS: Final = 20
API_PER_MINUTE: Final = Limits.BIGPANDA_API_REQUESTS_PER_MINUTE
ACTIONS_PER_SECOND: Final = Limits.BIGPANDA_ACTIONS_PER_SECOND

WriteKind = Literal["resolve", "comment", "tag", "assignment"]
T = TypeVar("T")

_ENV_INCIDENTS = re.compile(r"^/environments/([^/]+)/incidents$")
_ENV_INCIDENT = re.compile(r"^/environments/([^/]+)/incidents/([^/]+)(?:/(.+))?$")
_ACTIVITIES = re.compile(r"^/incidents/([^/]+)/activities$")
_SCIM_USER_NAME = re.compile(r'userName\s+eq\s+"((?:[^"\\]|\\.)*)"', re.IGNORECASE)
_SCIM_ACTIVE = re.compile(r"active\s+eq\s+true", re.IGNORECASE)


@dataclass(frozen=True)
class Write:
    """One write the API accepted."""

    kind: WriteKind
    environment: str
    incident_id: str
    body: dict[str, Any]
    at: float

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "environment": self.environment,
            "incident_id": self.incident_id,
            "body": self.body,
            "at": self.at,
        }


@dataclass
class SharedIncident:
    """An incident the stand-in shared: its v2 object, environments and activities."""

    incident: dict[str, Any]
    alerts: list[dict[str, Any]]
    environments: set[str]
    activities: list[dict[str, Any]] = field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.incident["id"])

    def rendered(self, *, expand_alerts: bool) -> dict[str, Any]:
        incident = copy.deepcopy(self.incident)
        incident["alerts"] = (
            copy.deepcopy(self.alerts) if expand_alerts else [a.get("id") for a in self.alerts]
        )
        return incident


@dataclass(frozen=True)
class _Window:
    limit: int
    seconds: int


_MINUTE: Final = _Window(API_PER_MINUTE, 60)
_SECOND: Final = _Window(ACTIONS_PER_SECOND, 1)


class BigPandaIncidentsApi:
    """The v2 API's state and answers; ``answer`` takes a path under ``API_PREFIX``."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.share_target = DEFAULT_SHARE_TARGET
        self.rate_limited = True
        self.failures = FailurePlan("BigPanda stand-in", shape=_error_document)
        self._lock = threading.RLock()
        self._incidents: dict[str, SharedIncident] = {}
        self._environments: dict[str, dict[str, Any]] = {}
        self._tags_in_search: set[str] = set()
        self._definitions: dict[str, dict[str, Any]] = {}
        self._users: dict[str, dict[str, Any]] = {}
        self._writes: list[Write] = []
        self._windows: dict[tuple[int, int], int] = {}
        self._drops = 0
        self._next_activity = 1
        self.add_environment(ALL_ENVIRONMENT_ID, ALL_ENVIRONMENT_NAME)
        self.add_user(API_USER_NAME, name="PandaBridge", user_id=API_USER_ID)

    # --- set-up (Python API) --------------------------------------------------------------

    def add_environment(self, env_id: str, name: str, *, uses_incident_tags: bool = False) -> None:
        """An environment; one that uses incident tags makes search answer 500."""
        with self._lock:
            self._environments[env_id] = {"id": env_id, "name": name}
            if uses_incident_tags:
                self._tags_in_search.add(env_id)
            else:
                self._tags_in_search.discard(env_id)

    def define_tag(self, name: str, *, tag_type: str = "Text", active: bool = True) -> str:
        """An incident tag definition; its id is derived from its name, as BigPanda's is."""
        with self._lock:
            tag_id = name
            self._definitions[tag_id] = {
                "id": tag_id,
                "name": name,
                "type": tag_type,
                "active": active,
                "deleted": False,
            }
            return tag_id

    def add_user(
        self, email: str, *, name: str = "", active: bool = True, user_id: str | None = None
    ) -> str:
        """A SCIM user (``active=False``: a deactivated one, still listed by default)."""
        with self._lock:
            uid = user_id or f"user-{len(self._users) + 1:04d}"
            self._users[uid] = {
                "id": uid,
                "userName": email,
                "displayName": name or email,
                "active": active,
            }
            return uid

    def drop_next_deliveries(self, count: int = 1) -> None:
        """The next ``count`` deliveries are shared (recorded) but never delivered."""
        with self._lock:
            self._drops = max(0, count)

    # --- sharing --------------------------------------------------------------------------

    def share(self, payload: Mapping[str, Any], *, environments: tuple[str, ...] = ()) -> str:
        """Record a webhook body as a share of its incident; returns the incident id."""
        incident = payload.get("incident") or {}
        metadata = payload.get("metadata") or {}
        now = self.clock()
        with self._lock:
            shared = self._incidents.get(str(incident["id"]))
            v2 = _v2_incident(incident, now)
            envs = {ALL_ENVIRONMENT_ID, *environments}
            if isinstance(metadata.get("environment_id"), str):
                envs.add(metadata["environment_id"])
            if shared is None:
                shared = SharedIncident(v2, list(incident.get("alerts") or []), envs)
                self._incidents[shared.id] = shared
            else:
                shared.incident.update(v2)
                shared.alerts = list(incident.get("alerts") or [])
                shared.environments |= envs
            self._activity(
                shared, "incident_shared", SHARER, {"share_target": self.share_target}, now
            )
            return shared.id

    def deliver(
        self, payload: Mapping[str, Any], send: Callable[[Mapping[str, Any]], T]
    ) -> T | None:
        """Share the incident, then ``send`` the body unless a drop is armed (then None)."""
        self.share(payload)
        with self._lock:
            if self._drops > 0:
                self._drops -= 1
                return None
        return send(payload)

    def count_callback(self) -> None:
        """A callback counts against the org's minute, though it is never refused."""
        with self._lock:
            self._take(_MINUTE, self.clock(), force=True)

    # --- reading the stand-in -------------------------------------------------------------

    def writes(self, kind: WriteKind | None = None) -> list[Write]:
        with self._lock:
            return [w for w in self._writes if kind is None or w.kind == kind]

    def incident(self, incident_id: str) -> dict[str, Any] | None:
        with self._lock:
            shared = self._incidents.get(incident_id)
            return shared.rendered(expand_alerts=True) if shared else None

    def activities_of(self, incident_id: str) -> list[dict[str, Any]]:
        with self._lock:
            shared = self._incidents.get(incident_id)
            return copy.deepcopy(shared.activities[::-1]) if shared else []

    # --- the API --------------------------------------------------------------------------

    def answer(self, method: str, path: str, query: Query, document: Any) -> Reply:
        """The reply to an authenticated call at ``path`` (under ``API_PREFIX``)."""
        planned = self.failures.take()
        if planned is not None:
            return planned
        action = method != "GET" or path.startswith(("/scim/", "/incidents/tags/"))
        limited = self._rate_limit(action)
        if limited is not None:
            return limited
        with self._lock:
            return self._route(method, path, query, document)

    def _route(self, method: str, path: str, query: Query, document: Any) -> Reply:
        if path == "/environments" and method == "GET":
            return json_reply(HTTPStatus.OK, list(self._environments.values()))
        if path == "/incidents/tags/definitions":
            return self._definitions_call(method, document)
        if path == "/scim/Users" and method == "GET":
            return self._scim(query)
        if (match := _ACTIVITIES.match(path)) and method == "GET":
            return self._activities(match.group(1), query)
        if (match := _ENV_INCIDENTS.match(path)) and method == "GET":
            return self._search(match.group(1), query)
        if match := _ENV_INCIDENT.match(path):
            env, incident_id, rest = match.groups()
            return self._incident_call(method, env, incident_id, rest or "", query, document)
        return _error(HTTPStatus.NOT_FOUND, f"no route {method} {API_PREFIX}{path}")

    def _search(self, env: str, query: Query) -> Reply:
        if env not in self._environments:
            return _error(HTTPStatus.NOT_FOUND, f"environment {env} not found")
        expand = _one(query, "expand") == "alerts"
        try:
            since = int(_one(query, "from") or 0)
            until = int(_one(query, "to") or 2**53)
            page = int(_one(query, "page") or 1)
            page_size = int(_one(query, "page_size") or 10)
        except ValueError:
            return _error(HTTPStatus.BAD_REQUEST, "from, to, page and page_size are integers")
        if page < 1 or page_size < 1:
            return _error(HTTPStatus.BAD_REQUEST, "page and page_size start at 1")
        if expand and page_size > EXPANDED_PAGE_SIZE_MAX:
            return _error(
                HTTPStatus.BAD_REQUEST,
                f"page_size is limited to {EXPANDED_PAGE_SIZE_MAX} when expanding alerts",
            )
        if env in self._tags_in_search:
            return _error(HTTPStatus.INTERNAL_SERVER_ERROR, "internal server error")
        found = sorted(
            (
                shared
                for shared in self._incidents.values()
                if env in shared.environments
                and since <= int(shared.incident.get("changed_at") or 0) <= until
            ),
            key=lambda shared: int(shared.incident.get("changed_at") or 0),
            reverse=True,
        )[:SEARCH_RESULTS_MAX]
        window = found[(page - 1) * page_size : page * page_size]
        items = [shared.rendered(expand_alerts=expand) for shared in window]
        return json_reply(HTTPStatus.OK, {"total": len(found), "items": items})

    def _incident_call(
        self, method: str, env: str, incident_id: str, rest: str, query: Query, document: Any
    ) -> Reply:
        shared = self._incidents.get(incident_id)
        if env not in self._environments or shared is None or env not in shared.environments:
            return _error(HTTPStatus.NOT_FOUND, f"incident {incident_id} not found in {env}")
        if rest == "" and method == "GET":
            expand = _one(query, "expand") == "alerts"
            return json_reply(HTTPStatus.OK, shared.rendered(expand_alerts=expand))
        body = document if isinstance(document, dict) else {}
        if rest == "resolve" and method == "POST":
            return self._resolve(env, shared, body)
        if rest == "comments" and method == "POST":
            return self._comment(env, shared, body)
        if rest == "assignment" and method == "PUT":
            return self._assign(env, shared, body)
        if rest.startswith("tags/") and method == "POST":
            return self._set_tag(env, shared, rest.removeprefix("tags/"), body)
        return _error(HTTPStatus.NOT_FOUND, f"no route {method} .../incidents/{incident_id}/{rest}")

    def _resolve(self, env: str, shared: SharedIncident, body: dict[str, Any]) -> Reply:
        if not shared.incident.get("active", True):
            return _error(HTTPStatus.CONFLICT, f"incident {shared.id} is already resolved")
        now = self.clock()
        shared.incident.update(
            status="ok", active=False, end=int(now), changed_at=int(now), updated_at=int(now)
        )
        comment = body.get("comments")
        self._activity(shared, "incident_resolved", API_USER_ID, {"comment": comment}, now)
        self._record("resolve", env, shared, body, now)
        return Reply(HTTPStatus.ACCEPTED, b"")

    def _comment(self, env: str, shared: SharedIncident, body: dict[str, Any]) -> Reply:
        text = body.get("comment")
        if not isinstance(text, str) or not text:
            return _error(HTTPStatus.BAD_REQUEST, "comment is required")
        now = self.clock()
        shared.incident["updated_at"] = int(now)
        self._activity(shared, "incident_commented", API_USER_ID, {"comment": text}, now)
        self._record("comment", env, shared, body, now)
        return Reply(HTTPStatus.NO_CONTENT, b"")

    def _assign(self, env: str, shared: SharedIncident, body: dict[str, Any]) -> Reply:
        assignee = body.get("assignee")
        if not isinstance(assignee, str) or assignee not in self._users:
            return _error(HTTPStatus.BAD_REQUEST, f"assignee {assignee!r} is not a user")
        now = self.clock()
        shared.incident.update(assignee=assignee, updated_at=int(now))
        self._activity(shared, "incident_assigned", API_USER_ID, {"assignee": assignee}, now)
        self._record("assignment", env, shared, body, now)
        return Reply(HTTPStatus.NO_CONTENT, b"")

    def _set_tag(
        self, env: str, shared: SharedIncident, tag_id: str, body: dict[str, Any]
    ) -> Reply:
        definition = self._definitions.get(tag_id)
        if definition is None or definition["deleted"]:
            return _error(HTTPStatus.NOT_FOUND, f"incident tag definition {tag_id} not found")
        if not definition["active"]:
            return _error(HTTPStatus.BAD_REQUEST, f"incident tag {tag_id} is inactive")
        value = body.get("tag_value")
        if value is None or value == "":
            return _error(HTTPStatus.BAD_REQUEST, "tag_value is required")
        now = self.clock()
        tags = [t for t in shared.incident.get("incident_tags", []) if t.get("tag_id") != tag_id]
        shared.incident.update(
            incident_tags=[*tags, {"tag_id": tag_id, "tag_value": value}], updated_at=int(now)
        )
        params = {"tag_id": tag_id, "tag_value": value}
        self._activity(shared, "incident_tag_updated", API_USER_ID, params, now)
        self._record("tag", env, shared, {"tag_id": tag_id, **body}, now)
        return Reply(HTTPStatus.NO_CONTENT, b"")

    def _definitions_call(self, method: str, document: Any) -> Reply:
        if method == "GET":
            return json_reply(HTTPStatus.OK, list(self._definitions.values()))
        if method != "POST":
            return _error(HTTPStatus.NOT_FOUND, f"no route {method} /incidents/tags/definitions")
        body = document if isinstance(document, dict) else {}
        name, tag_type = body.get("name"), body.get("type")
        if not isinstance(name, str) or not 1 <= len(name) <= TAG_NAME_MAX_CHARS:
            return _error(HTTPStatus.BAD_REQUEST, f"name is 1-{TAG_NAME_MAX_CHARS} characters")
        if not isinstance(tag_type, str):
            return _error(HTTPStatus.BAD_REQUEST, "type is required")
        if any(d["name"] == name for d in self._definitions.values()):
            return _error(HTTPStatus.CONFLICT, f"a tag definition named {name} exists")
        tag_id = self.define_tag(name, tag_type=tag_type, active=body.get("active", True))
        return json_reply(HTTPStatus.CREATED, self._definitions[tag_id])

    def _scim(self, query: Query) -> Reply:
        text = _one(query, "filter") or ""
        users = list(self._users.values())
        if match := _SCIM_USER_NAME.search(text):
            wanted = re.sub(r"\\(.)", r"\1", match.group(1)).casefold()
            users = [u for u in users if u["userName"].casefold() == wanted]
        if _SCIM_ACTIVE.search(text):
            users = [u for u in users if u["active"]]
        return json_reply(
            HTTPStatus.OK,
            {
                "schemas": ["urn:scim:schemas:core:1.0"],
                "totalResults": len(users),
                "Resources": copy.deepcopy(users),
            },
        )

    def _activities(self, incident_id: str, query: Query) -> Reply:
        shared = self._incidents.get(incident_id)
        if shared is None:
            return _error(HTTPStatus.NOT_FOUND, f"incident {incident_id} not found")
        try:
            page = max(1, int(_one(query, "page") or 1))
            per_page = max(1, int(_one(query, "per_page") or 50))
        except ValueError:
            return _error(HTTPStatus.BAD_REQUEST, "page and per_page are integers")
        types = {t for t in (_one(query, "types") or "").split(",") if t}
        newest_first = [a for a in shared.activities[::-1] if not types or a["type"] in types]
        items = newest_first[(page - 1) * per_page : page * per_page]
        return json_reply(
            HTTPStatus.OK, {"total": len(newest_first), "items": copy.deepcopy(items)}
        )

    # --- bookkeeping ----------------------------------------------------------------------

    def _activity(
        self, shared: SharedIncident, kind: str, by: str, params: dict[str, Any], now: float
    ) -> None:
        shared.activities.append(
            {
                "id": f"act-{self._next_activity:06d}",
                "type": kind,
                "timestamp": int(now),
                "created_by": by,
                "params": params,
            }
        )
        self._next_activity += 1

    def _record(
        self, kind: WriteKind, env: str, shared: SharedIncident, body: dict[str, Any], now: float
    ) -> None:
        self._writes.append(Write(kind, env, shared.id, copy.deepcopy(body), now))

    def _rate_limit(self, action: bool) -> Reply | None:
        """429 without Retry-After when a window is full; else the call is counted."""
        with self._lock:
            if not self.rate_limited:
                return None
            now = self.clock()
            windows = (_SECOND, _MINUTE) if action else (_MINUTE,)
            for window in windows:
                if not self._take(window, now, force=False):
                    return _error(
                        HTTPStatus.TOO_MANY_REQUESTS,
                        f"rate limit of {window.limit} requests per {window.seconds} s reached",
                    )
            return None

    def _take(self, window: _Window, now: float, *, force: bool) -> bool:
        key = (window.seconds, math.floor(now / window.seconds))
        used = self._windows.get(key, 0)
        if used >= window.limit and not force:
            return False
        self._windows[key] = used + 1
        return True


def _v2_incident(incident: Mapping[str, Any], now: float) -> dict[str, Any]:
    """The v2 API's view of a webhook incident: its other names for the same facts."""
    snooze = incident.get("snooze") or {}
    active = incident.get("active", True)
    return {
        "id": str(incident["id"]),
        "status": str(incident.get("status") or "unknown").lower(),
        "severity": str(incident.get("severity") or "unknown").lower(),
        "active": bool(active),
        "flapping": bool(incident.get("flapping", False)),
        "start": incident.get("startedOn"),
        "changed_at": incident.get("changedOn") or int(now),
        "updated_at": incident.get("updatedOn") or int(now),
        "end": incident.get("endedOn"),
        "snooze": {
            "snoozed": bool(snooze.get("snoozed", False)),
            "end_time": snooze.get("end_time", snooze.get("wake")),
            "cancel_on_incident_updates": bool(snooze.get("autoCancel", False)),
        },
        "shared": True,
        "maintenance": bool(incident.get("in_maintenance", False)),
    }


def _one(query: Query, name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def _error_document(message: str) -> dict[str, Any]:
    return {"status": "error", "message": message}


def _error(status: int, message: str) -> Reply:
    return json_reply(status, _error_document(message))
