"""A stateful fake of Jira Cloud's REST API v3, written from Atlassian's documentation.

Served routes (all under ``/rest/api/3``, HTTP Basic ``email:api_token`` or 401):

- ``POST /issue``: 201 ``{id, key, self}``; 400 ``{"errorMessages", "errors"}`` naming each bad
  field (a field the project's create screen requires, an unknown priority or issue type, a
  label with a space, a field not on the screen);
- ``GET/PUT /issue/{idOrKey}`` (``fields`` selects; PUT answers 204);
- ``GET/POST /search/jql``: ``jql`` (see ``jira_jql``), ``fields``, ``maxResults``,
  ``nextPageToken``; ids only unless ``fields`` is given; eventually consistent: an issue is
  missing from results for ``search_lag_seconds`` after its create. ``/search`` answers 410;
- ``GET/POST /issue/{key}/transitions`` (``expand=transitions.fields``): only transitions
  available from the current status of the project's workflow; 400 for another transition
  or a missing required screen field (``resolution``);
- ``GET /priority/search`` (``projectId``): the project's priority scheme;
- ``PUT /issue/{key}/assignee``: 400 "User '...' cannot be assigned issues." for a user without
  the Assignable User permission or inactive; ``GET /user/assignable/search`` (assignable,
  active users) and ``GET /user/search`` (active users, assignable or not); e-mail addresses
  hidden by a user's privacy setting are left out;
- ``POST/GET /issue/{key}/comment`` (ADF ``body``, entity ``properties``; ``expand=properties``);
- ``GET /project/{key}``, ``GET /issue/createmeta/{project}/issuetypes[/{id}]``,
  ``GET /mypermissions?projectKey=...&permissions=...``, ``GET /myself`` (the API user).

Knobs, as methods and as control routes (no credentials needed):

- ``fail(status, count, retry_after, method=, path=)``; ``POST /_fake/fail?status=429&count=2
  &retry_after=1[&method=POST&path=/rest/api/3/issue]``: the next matching calls fail
  (``path`` is a glob), before they take effect;
- ``slow(seconds, count, method=, path=)``; ``POST /_fake/slow?seconds=0.5...``: the next
  matching calls take effect, then answer after ``seconds``;
- ``search_lag_seconds``; ``POST /_fake/search-lag?seconds=2``;
- ``configure_project(...)``; ``POST /_fake/project?key=OPS&workflow=classic&priorities=custom
  &required=components,customfield_10050&deny=ASSIGN_ISSUES``;
- ``add_user(User(...))``; ``POST /_fake/users`` with ``[{"accountId", "displayName",
  "emailAddress", "active", "assignable", "emailVisible"}]``;
- ``GET /_fake/issues`` (the issues' state) and ``GET /_fake/requests`` (every API request).
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from email.message import Message
from http import HTTPStatus
from typing import Any, Final
from urllib.parse import unquote

from local import defaults
from local.fakes.desk_webhooks import WebhookSender
from local.fakes.jira_catalog import (
    ALWAYS_REQUIRED,
    PERMISSION_NAMES,
    PRIORITY_SCHEMES,
    RESOLUTIONS,
    STATUS_CATEGORIES,
    WORKFLOWS,
    Project,
    User,
    Workflow,
)
from local.fakes.jira_jql import JqlError, parse
from local.fakes.jira_shapes import (
    API,
    Comment,
    Issue,
    Shapes,
    adf_text,
    is_adf,
    jira_error,
    not_found,
    timestamp,
)
from local.fakes.jira_webhooks import JiraWebhook
from local.loopback import FailurePlan, LoopbackService, Query, Reply, json_reply

CONTROL: Final = "/_fake"
DEFAULT_PROJECT: Final = "OPS"
DEFAULT_EMAIL: Final = "bot@example.com"
DEFAULT_API_TOKEN: Final = "jira-api-token-0123456789"  # noqa: S105 - a local demo value
DEFAULT_PAGE: Final = 50
MAX_PAGE: Final = 5000
MAX_SUMMARY_CHARS: Final = 255
MAX_LABEL_CHARS: Final = 255
NO_CONTENT: Final = Reply(HTTPStatus.NO_CONTENT, b"")
NO_ISSUE: Final = "Issue does not exist or you do not have permission to see it."
SEARCH_REMOVED: Final = (
    "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API."
)


@dataclass(frozen=True)
class Recorded:
    """One API request as the fake received it: ``body`` is the parsed JSON, if any."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any


@dataclass
class _Scoped:
    """A fault for the next ``remaining`` calls that match ``method`` and the ``path`` glob."""

    remaining: int
    method: str | None
    path: str | None
    seconds: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        return (
            self.remaining > 0
            and (self.method is None or self.method == method)
            and (self.path is None or fnmatch.fnmatchcase(path, self.path))
        )


class JiraFake(LoopbackService):
    """One Jira Cloud site: projects, users, issues, and the faults a test asks for."""

    name = "jira-fake"

    def __init__(
        self,
        *,
        email: str = DEFAULT_EMAIL,
        api_token: str = DEFAULT_API_TOKEN,
        host: str = defaults.HOST,
        port: int = 0,
    ) -> None:
        super().__init__(host=host, port=port)
        self._credentials = (email, api_token)
        self._lock = threading.RLock()
        self.projects: dict[str, Project] = {}
        self.users: dict[str, User] = {}
        self._issues: dict[str, Issue] = {}
        self._requests: list[Recorded] = []
        self._sequence = 0
        self.search_lag_seconds = 0.0
        self.failures = FailurePlan("Jira fake")
        self._failure_scope = _Scoped(0, None, None)
        self._slow = _Scoped(0, None, None)
        self.add_project(DEFAULT_PROJECT, "Operations")
        self.webhook = JiraWebhook()

    # --- knobs -------------------------------------------------------------------------

    def add_project(self, key: str, name: str | None = None) -> Project:
        with self._lock:
            project = Project(key=key, id=str(10000 + len(self.projects)), name=name or key)
            self.projects[key] = project
            return project

    def configure_project(
        self,
        key: str = DEFAULT_PROJECT,
        *,
        workflow: str | None = None,
        priorities: str | None = None,
        required_fields: dict[str, str] | None = None,
        denied_permissions: Iterable[str] | None = None,
    ) -> Project:
        """Which workflow (``simplified``/``classic``) and priority scheme (``default``/
        ``custom``) the project uses, which fields its create screen requires (id to name),
        and which permissions the API user lacks there."""
        with self._lock:
            project = self.projects.get(key) or self.add_project(key)
            if workflow is not None:
                self._migrate(project, WORKFLOWS[workflow])
            if priorities is not None:
                project.priorities = PRIORITY_SCHEMES[priorities]
            if required_fields is not None:
                project.required_fields = dict(required_fields)
            if denied_permissions is not None:
                project.denied_permissions = set(denied_permissions)
            return project

    def _migrate(self, project: Project, workflow: Workflow) -> None:
        """Moves the project's issues to the new workflow's first status of the same
        category, as Jira's workflow-scheme migration asks an admin to map them."""
        for issue in self._issues.values():
            if issue.project is project:
                category = project.workflow.status(issue.status).category
                issue.status = next(
                    (s.name for s in workflow.statuses if s.category == category),
                    workflow.initial,
                )
        project.workflow = workflow

    def register_webhook(self, url: str, secret: str, **options: Any) -> WebhookSender:
        """Deliver every issue change to ``url``, signed with ``secret``, as an admin webhook
        does (``jira_webhooks``); ``options`` tune the sender's retries."""
        with self._lock:
            return self.webhook.register(url, secret, **options)

    def transition_as(self, key: str, status: str, account_id: str) -> None:
        """An agent moves the issue to ``status`` (a done status sets the resolution "Done"),
        and the webhook tells of it with the agent as the actor."""
        with self._lock:
            issue = self._issues[key]
            before = (issue.status, issue.fields.get("resolution"))
            issue.status = status
            done = issue.project.workflow.status(status).category == "done"
            issue.fields["resolution"] = dict(RESOLUTIONS[0]) if done else None
            issue.fields["updated"] = timestamp()
            self.webhook.status_changed(self._shapes, issue, self._person(account_id), before)

    def comment_as(self, key: str, text: str, account_id: str) -> None:
        """An agent comments on the issue; the webhook tells of it."""
        with self._lock:
            issue = self._issues[key]
            self._sequence += 1
            body = {"type": "doc", "version": 1, "content": [_paragraph(text)]}
            comment = Comment(str(20000 + self._sequence), body, [], timestamp())
            issue.comments.append(comment)
            self.webhook.commented(
                self._shapes, issue, comment, text, author=self._person(account_id)
            )

    def _person(self, account_id: str) -> dict[str, Any]:
        user = self.users.get(account_id)
        return self._shapes.user(user) if user else {"accountId": account_id}

    def stop(self) -> None:
        self.webhook.stop()
        super().stop()

    def add_user(self, user: User) -> User:
        with self._lock:
            self.users[user.account_id] = user
            return user

    def fail(
        self,
        status: int,
        count: int,
        retry_after: int | None = None,
        *,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """The next ``count`` API calls matching ``method`` and the ``path`` glob answer
        ``status`` (with ``Retry-After``) without taking effect."""
        with self._lock:
            self.failures.arm(status, count, retry_after)
            self._failure_scope = _Scoped(count, method, path)

    def slow(
        self,
        seconds: float,
        count: int = 1,
        *,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """The next ``count`` matching calls take effect, then answer ``seconds`` later: a
        client with a shorter timeout sees a timeout for a call that succeeded."""
        with self._lock:
            self._slow = _Scoped(count, method, path, seconds)

    # --- state, for assertions ---------------------------------------------------------

    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, method: str, path: str) -> list[Recorded]:
        """The recorded requests with ``method`` whose path matches the glob ``path``."""
        return [
            r for r in self.requests if r.method == method and fnmatch.fnmatchcase(r.path, path)
        ]

    def issues(self) -> list[dict[str, Any]]:
        """Every issue's state, oldest first: key, status, fields, comments (as text too)."""
        with self._lock:
            return [self._state(issue) for issue in sorted(self._issues.values(), key=_order)]

    def issue(self, key: str) -> dict[str, Any]:
        with self._lock:
            return self._state(self._issues[key])

    def _state(self, issue: Issue) -> dict[str, Any]:
        return {
            "id": issue.id,
            "key": issue.key,
            "status": issue.status,
            "statusCategory": issue.project.workflow.status(issue.status).category,
            "fields": issue.fields,
            "description": adf_text(issue.fields.get("description")),
            "comments": [
                {"id": c.id, "text": adf_text(c.body), "properties": c.properties}
                for c in issue.comments
            ],
        }

    # --- HTTP --------------------------------------------------------------------------

    def answer(self, method: str, path: str, query: Query, headers: Message, body: bytes) -> Reply:
        """The reply to one request; the HTTP layer only reads and writes bytes."""
        if path.startswith(f"{CONTROL}/"):
            return self._control(method, path.removeprefix(CONTROL), query, body)
        try:
            document = json.loads(body) if body else None
        except ValueError:
            document = body.decode("utf-8", "replace")
        with self._lock:
            self._requests.append(
                Recorded(method, path, {k: list(v) for k, v in query.items()}, document)
            )
            failure = self._take_failure(method, path)
            delay = self._take_delay(method, path)
        if not self._authenticated(headers):
            return jira_error(
                HTTPStatus.UNAUTHORIZED, "Client must be authenticated to access this resource."
            )
        if failure is not None:
            return failure
        if isinstance(document, str):
            return jira_error(HTTPStatus.BAD_REQUEST, "Unexpected character in the request body.")
        with self._lock:
            reply = self._route(method, path, query, document)
        if delay:
            time.sleep(delay)
        return reply

    def _take_failure(self, method: str, path: str) -> Reply | None:
        if not self._failure_scope.matches(method, path):
            return None
        self._failure_scope.remaining -= 1
        return self.failures.take()

    def _take_delay(self, method: str, path: str) -> float:
        if not self._slow.matches(method, path):
            return 0.0
        self._slow.remaining -= 1
        return self._slow.seconds

    def _authenticated(self, headers: Message) -> bool:
        scheme, _, encoded = str(headers.get("Authorization", "")).partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        email, _, token = decoded.partition(":")
        return (email, token) == self._credentials

    def _route(self, method: str, path: str, query: Query, document: Any) -> Reply:
        if not path.startswith(f"{API}/"):
            return not_found(f"No route {path}")
        segments = [unquote(part) for part in path.removeprefix(API).split("/")[1:]]
        on = self._on_issue
        handlers: dict[str, Callable[[], Reply]]
        match segments:
            case ["search"]:
                return jira_error(HTTPStatus.GONE, SEARCH_REMOVED)
            case ["search", "jql"]:
                handlers = {
                    "GET": lambda: self._search(_query_search(query)),
                    "POST": lambda: self._search(document),
                }
            case ["issue"]:
                handlers = {"POST": lambda: self._create(document)}
            case ["issue", "createmeta", project, "issuetypes"]:
                handlers = {"GET": lambda: self._create_types(project)}
            case ["issue", "createmeta", project, "issuetypes", type_id]:
                handlers = {"GET": lambda: self._create_fields(project, type_id)}
            case ["issue", key]:
                handlers = {
                    "GET": on(key, lambda issue: self._get(issue, query)),
                    "PUT": on(key, lambda issue: self._edit(issue, query, document)),
                }
            case ["issue", key, "transitions"]:
                handlers = {
                    "GET": on(key, lambda issue: self._transitions(issue, query)),
                    "POST": on(key, lambda issue: self._transition(issue, document)),
                }
            case ["issue", key, "assignee"]:
                handlers = {"PUT": on(key, lambda issue: self._assign(issue, document))}
            case ["issue", key, "comment"]:
                handlers = {
                    "GET": on(key, lambda issue: self._comments(issue, query)),
                    "POST": on(key, lambda issue: self._comment(issue, document)),
                }
            case ["priority", "search"]:
                handlers = {"GET": lambda: self._priorities(query)}
            case ["user", "search"]:
                handlers = {"GET": lambda: self._user_search(query, assignable=False)}
            case ["user", "assignable", "search"]:
                handlers = {"GET": lambda: self._user_search(query, assignable=True)}
            case ["project", key]:
                handlers = {"GET": lambda: self._project(key)}
            case ["mypermissions"]:
                handlers = {"GET": lambda: self._permissions(query)}
            case ["myself"]:
                handlers = {"GET": lambda: json_reply(HTTPStatus.OK, self._shapes.api_user)}
            case _:
                return not_found(f"No route {path}")
        handler = handlers.get(method)
        if handler is None:
            return jira_error(HTTPStatus.METHOD_NOT_ALLOWED, f"{method} is not allowed on {path}")
        return handler()

    @property
    def _shapes(self) -> Shapes:
        email = self._credentials[0]
        api_user = User("api-user-0001", "PandaBridge", email)
        return Shapes(self.url, Shapes(self.url, {}).user(api_user))

    def _find_issue(self, key: str) -> Issue | None:
        return self._issues.get(key) or next(
            (issue for issue in self._issues.values() if issue.id == key), None
        )

    def _on_issue(self, key: str, handle: Callable[[Issue], Reply]) -> Callable[[], Reply]:
        """A handler that answers Jira's 404 when the issue does not exist."""

        def run() -> Reply:
            issue = self._find_issue(key)
            return not_found(NO_ISSUE) if issue is None else handle(issue)

        return run

    # --- issues ------------------------------------------------------------------------

    def _create(self, document: Any) -> Reply:
        fields = document.get("fields") if isinstance(document, dict) else None
        if not isinstance(fields, dict):
            return jira_error(HTTPStatus.BAD_REQUEST, "The request body must hold 'fields'.")
        project = self._project_of(fields.get("project"))
        if project is None:
            return jira_error(
                HTTPStatus.BAD_REQUEST, errors={"project": "Specify a valid project ID or key"}
            )
        errors: dict[str, str] = {}
        issue_type = project.issue_type(fields.get("issuetype"))
        if issue_type is None:
            errors["issuetype"] = "Specify a valid issue type"
        values = {k: v for k, v in fields.items() if k not in ("project", "issuetype")}
        errors.update(self._field_errors(project, values, creating=True))
        if errors or issue_type is None:
            return jira_error(HTTPStatus.BAD_REQUEST, errors=errors)
        self._sequence += 1
        number = sum(1 for issue in self._issues.values() if issue.project is project) + 1
        issue = Issue(
            id=str(10000 + self._sequence),
            key=f"{project.key}-{number}",
            project=project,
            issue_type=issue_type,
            status=project.workflow.initial,
            fields={"labels": [], "assignee": None, "resolution": None, "components": []},
            created=timestamp(),
            sequence=self._sequence,
            searchable_at=time.monotonic() + self.search_lag_seconds,
        )
        self._apply(issue, values)
        if "priority" not in values:
            default = project.priorities.find({"name": project.priorities.default})
            issue.fields["priority"] = self._shapes.priority(default) if default else None
        self._issues[issue.key] = issue
        return json_reply(
            HTTPStatus.CREATED,
            {"id": issue.id, "key": issue.key, "self": self._shapes.link(f"/issue/{issue.id}")},
        )

    def _project_of(self, reference: Any) -> Project | None:
        if not isinstance(reference, dict):
            return None
        for project in self.projects.values():
            if reference.get("key") == project.key or reference.get("id") == project.id:
                return project
        return None

    def _field_errors(
        self, project: Project, values: dict[str, Any], *, creating: bool
    ) -> dict[str, str]:
        """Jira's per-field 400 messages for a create (``creating``) or an edit."""
        errors: dict[str, str] = {}
        screen = project.create_fields()
        for field_id, value in values.items():
            if field_id not in screen or field_id in ("project", "issuetype"):
                errors[field_id] = (
                    f"Field '{field_id}' cannot be set. It is not on the appropriate screen, "
                    "or unknown."
                )
            elif (
                field_id == "summary" and isinstance(value, str) and len(value) > MAX_SUMMARY_CHARS
            ):
                errors[field_id] = "Summary must be less than 255 characters."
            elif (
                field_id in ("description", "environment")
                and value is not None
                and not is_adf(value)
            ):
                errors[field_id] = (
                    "Operation value must be an Atlassian Document (see the Atlassian Document "
                    "Format)"
                )
            elif (
                field_id == "priority"
                and value is not None
                and project.priorities.find(value) is None
            ):
                errors[field_id] = "The priority selected is invalid."
            elif field_id == "labels":
                label_error = _label_error(value)
                if label_error:
                    errors[field_id] = label_error
            elif field_id == "assignee" and value is not None:
                user = self._assignable(value.get("accountId") if isinstance(value, dict) else None)
                if user is None:
                    errors[field_id] = f"User '{_account(value)}' cannot be assigned issues."
        wanted = [f for f in (*ALWAYS_REQUIRED, *project.required_fields) if f in screen]
        for field_id in wanted:
            if field_id in ("project", "issuetype"):
                continue
            if (creating or field_id in values) and _empty(values.get(field_id)):
                errors.setdefault(
                    field_id,
                    "You must specify a summary of the issue."
                    if field_id == "summary"
                    else f"{screen[field_id]} is required.",
                )
        return errors

    def _apply(self, issue: Issue, values: dict[str, Any]) -> None:
        for field_id, value in values.items():
            if field_id == "priority" and value is not None:
                priority = issue.project.priorities.find(value)
                issue.fields["priority"] = self._shapes.priority(priority) if priority else None
            elif field_id == "assignee":
                user = self._assignable(value.get("accountId")) if isinstance(value, dict) else None
                issue.fields["assignee"] = self._shapes.user(user) if user else None
            else:
                issue.fields[field_id] = value
        issue.fields["updated"] = timestamp()

    def _get(self, issue: Issue, query: Query) -> Reply:
        return json_reply(HTTPStatus.OK, self._shapes.issue(issue, _wanted(query.get("fields"))))

    def _edit(self, issue: Issue, query: Query, document: Any) -> Reply:
        fields = document.get("fields", {}) if isinstance(document, dict) else None
        if not isinstance(fields, dict) or (isinstance(document, dict) and document.get("update")):
            return jira_error(
                HTTPStatus.BAD_REQUEST, "This Jira stand-in edits issues through 'fields' only."
            )
        errors = self._field_errors(issue.project, fields, creating=False)
        if errors:
            return jira_error(HTTPStatus.BAD_REQUEST, errors=errors)
        self._apply(issue, fields)
        if query.get("returnIssue", ["false"])[0] == "true":
            return json_reply(HTTPStatus.OK, self._shapes.issue(issue))
        return NO_CONTENT

    # --- search ------------------------------------------------------------------------

    def _search(self, document: Any) -> Reply:
        if not isinstance(document, dict) or not str(document.get("jql") or "").strip():
            return jira_error(HTTPStatus.BAD_REQUEST, "Unbounded JQL queries are not allowed here.")
        try:
            jql = parse(str(document["jql"]))
            limit = min(int(document.get("maxResults") or DEFAULT_PAGE), MAX_PAGE)
            start = _page_start(document.get("nextPageToken"))
        except (JqlError, ValueError) as exc:
            return jira_error(HTTPStatus.BAD_REQUEST, str(exc))
        now = time.monotonic()
        found = [
            issue
            for issue in self._issues.values()
            if issue.searchable_at <= now and jql.matches(lambda name, i=issue: _values(i, name))
        ]
        found.sort(key=_order, reverse=True)
        for name, descending in reversed(jql.order):
            found.sort(key=_order if name == "created" else _by_key, reverse=descending)
        page = found[start : start + limit]
        requested = document.get("fields")
        wanted = set(requested) if isinstance(requested, list) and requested else None
        issues = [
            {"id": issue.id}
            if wanted is None
            else self._shapes.issue(issue, None if "*all" in wanted else wanted)
            for issue in page
        ]
        more = start + limit < len(found)
        answer: dict[str, Any] = {"issues": issues, "isLast": not more}
        if more:
            answer["nextPageToken"] = base64.urlsafe_b64encode(str(start + limit).encode()).decode()
        return json_reply(HTTPStatus.OK, answer)

    # --- workflow ----------------------------------------------------------------------

    def _transitions(self, issue: Issue, query: Query) -> Reply:
        expand = ",".join(query.get("expand", []))
        with_fields = "transitions.fields" in expand.split(",")
        wanted = query.get("transitionId", [None])[0]
        listed = [
            self._shapes.transition(t, issue, fields=with_fields)
            for t in issue.project.workflow.available(issue.status)
            if wanted is None or t.id == wanted
        ]
        return json_reply(HTTPStatus.OK, {"expand": "transitions", "transitions": listed})

    def _transition(self, issue: Issue, document: Any) -> Reply:
        wanted = document.get("transition") if isinstance(document, dict) else None
        transition_id = str(wanted.get("id", "")) if isinstance(wanted, dict) else ""
        if not transition_id:
            return jira_error(HTTPStatus.BAD_REQUEST, "Missing 'transition' identifier")
        available = issue.project.workflow.available(issue.status)
        transition = next((t for t in available if t.id == transition_id), None)
        if transition is None:
            return jira_error(
                HTTPStatus.BAD_REQUEST,
                f"Transition id '{transition_id}' is not valid for this issue.",
            )
        fields = document.get("fields") or {}
        errors: dict[str, str] = {}
        for field_id in fields:
            if field_id not in transition.required_fields:
                errors[field_id] = (
                    f"Field '{field_id}' cannot be set. It is not on the appropriate screen, "
                    "or unknown."
                )
        resolution = None
        if "resolution" in transition.required_fields:
            resolution = _resolution(fields.get("resolution"))
            if "resolution" not in fields:
                errors["resolution"] = "Resolution is required."
            elif resolution is None:
                errors["resolution"] = "Could not find valid 'id' or 'name' in resolution object."
        if errors:
            return jira_error(HTTPStatus.BAD_REQUEST, errors=errors)
        before = (issue.status, issue.fields.get("resolution"))
        issue.status = transition.to
        done = issue.project.workflow.status(transition.to).category == "done"
        issue.fields["resolution"] = resolution if done else None
        issue.fields["updated"] = timestamp()
        self.webhook.status_changed(self._shapes, issue, self._shapes.api_user, before)
        return NO_CONTENT

    # --- people ------------------------------------------------------------------------

    def _assignable(self, account_id: Any) -> User | None:
        user = self.users.get(str(account_id)) if account_id else None
        return user if user is not None and user.active and user.assignable else None

    def _assign(self, issue: Issue, document: Any) -> Reply:
        if not isinstance(document, dict) or "accountId" not in document:
            return jira_error(HTTPStatus.BAD_REQUEST, "The request body must hold 'accountId'.")
        account_id = document["accountId"]
        before = issue.fields.get("assignee")
        if account_id in (None, "-1"):
            issue.fields["assignee"] = None
            self.webhook.assignee_changed(self._shapes, issue, self._shapes.api_user, before)
            return NO_CONTENT
        if "ASSIGN_ISSUES" in issue.project.denied_permissions:
            return jira_error(HTTPStatus.FORBIDDEN, "You do not have permission to assign issues.")
        user = self._assignable(account_id)
        if user is None:
            return jira_error(
                HTTPStatus.BAD_REQUEST,
                errors={"assignee": f"User '{account_id}' cannot be assigned issues."},
            )
        issue.fields["assignee"] = self._shapes.user(user)
        issue.fields["updated"] = timestamp()
        self.webhook.assignee_changed(self._shapes, issue, self._shapes.api_user, before)
        return NO_CONTENT

    def _user_search(self, query: Query, *, assignable: bool) -> Reply:
        text = query.get("query", [""])[0]
        account_id = query.get("accountId", [None])[0]
        if assignable:
            key = query.get("issueKey", [None])[0] or query.get("issueId", [None])[0]
            project_ref = query.get("project", [None])[0]
            if key is None and project_ref is None:
                return jira_error(
                    HTTPStatus.BAD_REQUEST, "A project key or an issue key is required."
                )
            if key is not None and self._find_issue(key) is None:
                return not_found(NO_ISSUE)
        elif not text and not account_id:
            return jira_error(HTTPStatus.BAD_REQUEST, "The query parameter 'query' is required.")
        limit = int(query.get("maxResults", [str(DEFAULT_PAGE)])[0])
        users = [
            self._shapes.user(user)
            for user in self.users.values()
            if user.active
            and (not assignable or user.assignable)
            and (account_id is None or user.account_id == account_id)
            and (not text or user.matches(text))
        ]
        return json_reply(HTTPStatus.OK, users[:limit])

    # --- comments ----------------------------------------------------------------------

    def _comment(self, issue: Issue, document: Any) -> Reply:
        body = document.get("body") if isinstance(document, dict) else None
        if not is_adf(body) or not adf_text(body).strip():
            return jira_error(
                HTTPStatus.BAD_REQUEST, errors={"comment": "Comment body can not be empty!"}
            )
        properties = document.get("properties", [])
        if not isinstance(properties, list) or not all(
            isinstance(p, dict) and isinstance(p.get("key"), str) and "value" in p
            for p in properties
        ):
            return jira_error(HTTPStatus.BAD_REQUEST, "Each property needs a 'key' and a 'value'.")
        self._sequence += 1
        comment = Comment(
            id=str(20000 + self._sequence),
            body=body,
            properties=[{"key": p["key"], "value": p["value"]} for p in properties],
            created=timestamp(),
        )
        issue.comments.append(comment)
        self.webhook.commented(self._shapes, issue, comment, adf_text(body))
        return json_reply(
            HTTPStatus.CREATED, self._shapes.comment(comment, issue, properties=False)
        )

    def _comments(self, issue: Issue, query: Query) -> Reply:
        with_properties = "properties" in ",".join(query.get("expand", [])).split(",")
        start = int(query.get("startAt", ["0"])[0])
        limit = int(query.get("maxResults", ["100"])[0])
        ordered = list(issue.comments)
        if query.get("orderBy", ["created"])[0] == "-created":
            ordered.reverse()
        page = ordered[start : start + limit]
        return json_reply(
            HTTPStatus.OK,
            {
                "startAt": start,
                "maxResults": limit,
                "total": len(ordered),
                "comments": [
                    self._shapes.comment(c, issue, properties=with_properties) for c in page
                ],
            },
        )

    # --- configuration reads -----------------------------------------------------------

    def _priorities(self, query: Query) -> Reply:
        wanted = set(query.get("projectId", []))
        projects = [p for p in self.projects.values() if p.id in wanted]
        schemes = {p.priorities.name: p.priorities for p in projects} or PRIORITY_SCHEMES
        values = [
            self._shapes.priority(priority, default=priority.name == scheme.default)
            for scheme in schemes.values()
            for priority in scheme.priorities
        ]
        return json_reply(
            HTTPStatus.OK,
            {
                "startAt": 0,
                "maxResults": DEFAULT_PAGE,
                "total": len(values),
                "isLast": True,
                "values": values,
            },
        )

    def _project_by(self, key: str) -> Project | None:
        return self.projects.get(key) or next(
            (project for project in self.projects.values() if project.id == key), None
        )

    def _project(self, key: str) -> Reply:
        project = self._project_by(key)
        if project is None:
            return not_found(f"No project could be found with key '{key}'.")
        return json_reply(HTTPStatus.OK, self._shapes.project(project))

    def _create_types(self, key: str) -> Reply:
        project = self._project_by(key)
        if project is None:
            return not_found(f"No project could be found with key '{key}'.")
        types = [self._shapes.issue_type(t) for t in project.issue_types]
        return json_reply(
            HTTPStatus.OK,
            {"issueTypes": types, "maxResults": DEFAULT_PAGE, "startAt": 0, "total": len(types)},
        )

    def _create_fields(self, key: str, type_id: str) -> Reply:
        project = self._project_by(key)
        if project is None:
            return not_found(f"No project could be found with key '{key}'.")
        issue_type = project.issue_type({"id": type_id})
        if issue_type is None:
            return not_found(f"Issue type with id '{type_id}' does not exist in project '{key}'.")
        allowed = {
            "priority": [self._shapes.priority(p) for p in project.priorities.priorities],
            "issuetype": [self._shapes.issue_type(issue_type)],
        }
        fields = [
            self._shapes.field_meta(field_id, project.is_required(field_id), allowed.get(field_id))
            for field_id in project.create_fields()
        ]
        return json_reply(
            HTTPStatus.OK,
            {"fields": fields, "maxResults": DEFAULT_PAGE, "startAt": 0, "total": len(fields)},
        )

    def _permissions(self, query: Query) -> Reply:
        keys = [k for k in ",".join(query.get("permissions", [])).split(",") if k]
        if not keys:
            return jira_error(HTTPStatus.BAD_REQUEST, "The 'permissions' parameter is required.")
        unknown = [k for k in keys if k not in PERMISSION_NAMES]
        if unknown:
            return jira_error(
                HTTPStatus.BAD_REQUEST, f"Unrecognized permission keys: {', '.join(unknown)}"
            )
        reference = (query.get("projectKey") or query.get("projectId") or [None])[0]
        project = self._project_by(reference) if reference else None
        if reference and project is None:
            return not_found(f"No project could be found with key '{reference}'.")
        denied = project.denied_permissions if project else set()
        permissions = {
            key: {
                "id": str(index),
                "key": key,
                "name": PERMISSION_NAMES[key],
                "type": "PROJECT",
                "description": "",
                "havePermission": key not in denied,
            }
            for index, key in enumerate(keys, start=1)
        }
        return json_reply(HTTPStatus.OK, {"permissions": permissions})

    # --- control routes ----------------------------------------------------------------

    def _control(self, method: str, route: str, query: Query, body: bytes) -> Reply:
        try:
            return self._control_route(method, route, query, body)
        except (KeyError, ValueError, TypeError) as exc:
            return jira_error(HTTPStatus.BAD_REQUEST, f"bad control request {route}: {exc}")

    def _control_route(self, method: str, route: str, query: Query, body: bytes) -> Reply:
        first = {name: values[0] for name, values in query.items()}
        if (method, route) == ("GET", "/issues"):
            return json_reply(HTTPStatus.OK, {"issues": self.issues()})
        if (method, route) == ("GET", "/requests"):
            return json_reply(HTTPStatus.OK, {"requests": [asdict(r) for r in self.requests]})
        if (method, route) == ("POST", "/fail"):
            retry_after = int(first["retry_after"]) if "retry_after" in first else None
            self.fail(
                int(first.get("status", "503")),
                int(first.get("count", "1")),
                retry_after,
                method=first.get("method"),
                path=first.get("path"),
            )
            return json_reply(HTTPStatus.OK, {"armed": first})
        if (method, route) == ("POST", "/slow"):
            self.slow(
                float(first["seconds"]),
                int(first.get("count", "1")),
                method=first.get("method"),
                path=first.get("path"),
            )
            return json_reply(HTTPStatus.OK, {"armed": first})
        if (method, route) == ("POST", "/search-lag"):
            self.search_lag_seconds = float(first["seconds"])
            return json_reply(HTTPStatus.OK, {"seconds": self.search_lag_seconds})
        if (method, route) == ("POST", "/project"):
            required = [f for f in first.get("required", "").split(",") if f]
            project = self.configure_project(
                first.get("key", DEFAULT_PROJECT),
                workflow=first.get("workflow"),
                priorities=first.get("priorities"),
                required_fields={f: first.get(f"name.{f}", f) for f in required}
                if "required" in first
                else None,
                denied_permissions=[p for p in first.get("deny", "").split(",") if p]
                if "deny" in first
                else None,
            )
            return json_reply(HTTPStatus.OK, self._shapes.project(project))
        if (method, route) == ("POST", "/webhook"):
            document = json.loads(body or b"{}")
            self.register_webhook(str(document["url"]), str(document["secret"]))
            return json_reply(HTTPStatus.OK, {"url": document["url"]})
        if (method, route) == ("POST", "/act"):
            document = json.loads(body or b"{}")
            if "status" in document:
                self.transition_as(document["issue"], document["status"], document["accountId"])
            else:
                self.comment_as(document["issue"], document["comment"], document["accountId"])
            return json_reply(HTTPStatus.OK, {"acted": document["issue"]})
        if (method, route) == ("POST", "/users"):
            added = [self.add_user(_user(entry)) for entry in json.loads(body or b"[]")]
            return json_reply(HTTPStatus.OK, [self._shapes.user(u) for u in added])
        return not_found(f"No control route {method} {CONTROL}{route}")


def _paragraph(text: str) -> dict[str, Any]:
    return {"type": "paragraph", "content": [{"type": "text", "text": text}]}


def _user(entry: dict[str, Any]) -> User:
    return User(
        account_id=str(entry["accountId"]),
        display_name=str(entry.get("displayName", entry["accountId"])),
        email=str(entry.get("emailAddress", "")),
        active=bool(entry.get("active", True)),
        assignable=bool(entry.get("assignable", True)),
        email_visible=bool(entry.get("emailVisible", True)),
    )


def _order(issue: Issue) -> int:
    return issue.sequence


def _by_key(issue: Issue) -> tuple[str, int]:
    project, _, number = issue.key.rpartition("-")
    return project, int(number)


def _values(issue: Issue, name: str) -> list[str]:
    """What a JQL clause on ``name`` compares with, for ``issue``."""
    status = issue.project.workflow.status(issue.status)
    category = STATUS_CATEGORIES[status.category]
    return {
        "project": [issue.project.key, issue.project.id, issue.project.name],
        "labels": [str(label) for label in issue.fields.get("labels") or []],
        "key": [issue.key, issue.id],
        "status": [status.name, status.id],
        "statuscategory": [category["key"], category["name"]],
    }[name]


def _query_search(query: Query) -> dict[str, Any]:
    """A GET search's parameters in the POST body's shape."""
    first = {name: values[0] for name, values in query.items()}
    fields = [f for f in ",".join(query.get("fields", [])).split(",") if f]
    return {**first, "fields": fields or None}


def _page_start(token: Any) -> int:
    if not token:
        return 0
    try:
        return int(base64.urlsafe_b64decode(str(token)).decode())
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise ValueError(f"The nextPageToken '{token}' is not valid.") from None


def _wanted(fields: list[str] | None) -> set[str] | None:
    names = {f for f in ",".join(fields or []).split(",") if f}
    return None if not names or "*all" in names or "*navigable" in names else names


def _label_error(value: Any) -> str | None:
    if not isinstance(value, list) or not all(isinstance(label, str) for label in value):
        return "Labels must be a list of strings."
    for label in value:
        if not label or any(character.isspace() for character in label):
            return f"The label '{label}' contains spaces which is invalid."
        if len(label) > MAX_LABEL_CHARS:
            return f"The label '{label[:20]}...' exceeds the 255 characters limit."
    return None


def _resolution(value: Any) -> dict[str, str] | None:
    if not isinstance(value, dict):
        return None
    return next(
        (
            dict(r)
            for r in RESOLUTIONS
            if value.get("id") == r["id"] or value.get("name") == r["name"]
        ),
        None,
    )


def _account(value: Any) -> str:
    return str(value.get("accountId")) if isinstance(value, dict) else str(value)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}
