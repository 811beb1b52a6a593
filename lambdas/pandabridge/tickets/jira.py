"""The ``jira`` target: Jira Cloud, REST API v3.

Credentials (the JSON secret named by ``TICKET_SECRET_ID``): ``email`` and ``api_token``, sent
as HTTP Basic. Settings: the constructor's keyword options, from the desk configuration's
target section ``config_path`` (``targets.<name>``; ``targets.jira`` by default), each
defaulting to Jira Cloud's own defaults. Errors name the setting to fix by its key path in that
file: ``<config_path>.jira.project``, ``.jira.issue_type``, ``.jira.labels``,
``.jira.components``, ``.jira.custom_fields.<id>``, ``.fields.summary``, ``.fields.description``,
``.fields.priority_map.<P>``, ``.workflow.<step>.transitions`` and
``.workflow.<step>.fields.<field>``.

- Correlation: every issue carries the label ``mapping.correlation_label(incident_id)`` (ASCII
  letters, digits, ``_.-`` whatever the id holds). ``find`` searches ``POST
  /rest/api/3/search/jql`` for it (the classic ``/search`` answers 410 Gone), oldest first, one
  result. That search is eventually consistent: ``find_is_consistent`` is False, and the caller
  must not trust an empty answer right after a create whose outcome it did not see.
- Descriptions and comments are Atlassian Document Format (``adf``): one paragraph per block
  of lines, ``hardBreak`` between lines, http(s) URLs as links.
- Fields: ``priority_map`` (P1..P5 to a priority by name or id; Jira's default scheme unless
  given), ``issue_type`` (by name, or by id when all digits), constant ``labels`` and
  ``components`` on create, and the draft's ``extra_fields`` (the configured ``custom_fields``,
  rendered per incident). A create refused only on fields a ticket can live without
  (priority, labels, components, custom fields we sent) is repeated once without them and raises
  ``PartlyCreatedError`` carrying the new ticket and the setting to fix.
- Comments carry the entity property ``pandabridge`` = ``{"key": <comment key>}``; after an
  unknown outcome the issue's comments are read with their properties (newest first, paged)
  and a comment already there is not added again.
- Resolve and reopen first read the issue's status: an issue already on the wanted side
  (status category "done" for resolve, any other for reopen) is not moved, so a repeat is safe
  and does not bounce an issue that people have moved on. Otherwise the first candidate
  transition name offered (case-insensitive; a transition whose target status has that name
  also matches) is taken, else one leading to the configured status category; the fields its
  screen requires (``?expand=transitions.fields``) are sent from ``resolve_fields`` /
  ``reopen_fields``. No usable transition, or a required field without a configured value, is
  a ``StepFailedError`` naming the setting and what the workflow offers. The note follows as a
  comment (a comment inside the transition needs the comment field on the transition screen,
  which many workflows lack).
- Assignment looks the user up with ``/user/assignable/search`` for the issue (users who may be
  assigned); an exact e-mail match wins, else a single result (Jira hides e-mail addresses by
  privacy setting). No match leaves the issue unassigned and returns False; a refused
  assignment is a ``StepFailedError`` naming the user.
- Failures: 401/403 name ``TICKET_SECRET_ID``; a refused step (a field, a transition, an
  assignee, a comment) is a ``StepFailedError`` naming its own setting; only a 400/404 about
  the project names ``.jira.project``, a refused issue type ``.jira.issue_type``. 429 and 5xx
  stay ``RetryableError`` with Jira's ``Retry-After`` (see ``pandabridge.http``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Set
from dataclasses import dataclass
from typing import Any, Final, NoReturn

from pandabridge.errors import PermanentError, StepFailedError
from pandabridge.http import (
    HttpClient,
    HttpResponse,
    RejectedRequestError,
    basic_auth,
    path_segment,
)
from pandabridge.names import Env
from pandabridge.tickets.mapping import (
    MAX_DESCRIPTION_CHARS,
    MAX_LABEL_CHARS,
    correlation_label,
    shorten,
    truncate,
)
from pandabridge.tickets.model import (
    UPDATABLE_FIELDS,
    Assignee,
    PartlyCreatedError,
    TicketDraft,
    TicketRef,
)

CREDENTIAL_KEYS: Final = ("email", "api_token")
API: Final = "/rest/api/3"
# Where the desk configuration keeps this target's options; settings in errors start with it.
CONFIG_PATH: Final = "targets.jira"
# A priority as Jira's create and edit take it: {"name": ...} or {"id": ...}.
PriorityRef = Mapping[str, str]
# Jira Cloud's default priority scheme.
DEFAULT_PRIORITY_MAP: Final[Mapping[str, PriorityRef]] = {
    "P1": {"name": "Highest"},
    "P2": {"name": "High"},
    "P3": {"name": "Medium"},
    "P4": {"name": "Low"},
    "P5": {"name": "Lowest"},
}
DEFAULT_PRIORITY: Final = "P3"
# Simplified workflows first, then Jira's classic default workflow.
DEFAULT_RESOLVE_TRANSITIONS: Final = ("Done", "Resolve Issue", "Close Issue")
DEFAULT_REOPEN_TRANSITIONS: Final = ("Reopen Issue", "To Do", "Reopen", "Start Progress")
# The classic "Resolve Issue" screen requires a resolution; "Done" is Jira's default one.
DEFAULT_RESOLVE_FIELDS: Final[Mapping[str, Any]] = {"resolution": {"name": "Done"}}
DONE_CATEGORY: Final = "done"
NEW_CATEGORY: Final = "new"
MAX_SUMMARY_CHARS: Final = 255
# Jira's limit for a comment body; notes are cut below it.
MAX_COMMENT_CHARS: Final = MAX_DESCRIPTION_CHARS
SEARCH_FIELDS: Final = ("status", "summary")
# The entity property that marks a comment as ours and holds its key.
COMMENT_PROPERTY: Final = "pandabridge"
COMMENT_PAGE: Final = 100
# Jira refuses a comment for its body (empty, too long) or its properties: nothing to configure.
COMMENT_SETTING: Final = "the comment's text"
# Fields set on create that a ticket can live without: a create refused on these alone is
# repeated without them.
OPTIONAL_CREATE_FIELDS: Final = ("priority", "labels", "components")
# Jira's field ids for the draft's fields (``UPDATABLE_FIELDS``).
DRAFT_FIELDS: Final = {"summary": "title", "description": "description", "priority": "priority"}

# A URL, without the punctuation that usually ends the sentence around it.
_URL = re.compile(r"https?://[^\s<>\"']*[^\s<>\"'.,;:!?)\]]")
_BLANK_LINES = re.compile(r"\n\s*\n")
_SPACES = re.compile(r"\s+")


def adf(text: str) -> dict[str, Any]:
    """A minimal valid ADF document for plain text."""
    paragraphs = [
        {"type": "paragraph", "content": _inline(block)}
        for block in _BLANK_LINES.split(text.strip())
        if block.strip()
    ]
    return {
        "type": "doc",
        "version": 1,
        "content": paragraphs or [{"type": "paragraph", "content": []}],
    }


def _inline(block: str) -> list[dict[str, Any]]:
    nodes: list[dict[str, Any]] = []
    for line in (line.rstrip() for line in block.strip().split("\n")):
        if nodes:
            nodes.append({"type": "hardBreak"})
        position = 0
        for match in _URL.finditer(line):
            if match.start() > position:
                nodes.append({"type": "text", "text": line[position : match.start()]})
            link = {"type": "link", "attrs": {"href": match.group()}}
            nodes.append({"type": "text", "text": match.group(), "marks": [link]})
            position = match.end()
        if position < len(line):
            nodes.append({"type": "text", "text": line[position:]})
    return nodes


def jql_string(value: str) -> str:
    """``value`` as a quoted JQL string."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class StatusMove:
    """How to resolve or reopen: the ``step`` it is, the side (done or not) it leads to, the
    candidate transition names in order, the status category to fall back on, and the values
    for fields a transition screen requires."""

    step: str
    done: bool
    candidates: tuple[str, ...]
    category: str | None
    fields: Mapping[str, Any]


class JiraTarget:
    """A ``TicketTarget`` for one Jira Cloud project."""

    name = "jira"
    supports_assignment = True
    find_is_consistent = False

    def __init__(
        self,
        base_url: str,
        *,
        email: str,
        api_token: str,
        project_key: str,
        issue_type: str,
        http: HttpClient,
        resolve_transitions: Iterable[str] = DEFAULT_RESOLVE_TRANSITIONS,
        reopen_transitions: Iterable[str] = DEFAULT_REOPEN_TRANSITIONS,
        resolve_category: str | None = DONE_CATEGORY,
        reopen_category: str | None = NEW_CATEGORY,
        resolve_fields: Mapping[str, Any] | None = None,
        reopen_fields: Mapping[str, Any] | None = None,
        priority_map: Mapping[str, str | PriorityRef] | None = None,
        labels: Iterable[str] = (),
        components: Iterable[str] = (),
        config_path: str = CONFIG_PATH,
    ) -> None:
        """``resolve_fields`` defaults to ``DEFAULT_RESOLVE_FIELDS`` (``{}`` sends none);
        ``priority_map`` entries replace the default scheme's, a string being a name."""
        self._base = base_url.rstrip("/")
        self._auth = basic_auth(email, api_token)
        self._http = http.redacting(api_token)
        self._project = project_key
        self._issue_type = {"id": issue_type} if issue_type.isdigit() else {"name": issue_type}
        self._config = config_path
        self._resolve = StatusMove(
            "resolve",
            True,
            tuple(resolve_transitions),
            resolve_category,
            DEFAULT_RESOLVE_FIELDS if resolve_fields is None else dict(resolve_fields),
        )
        self._reopen = StatusMove(
            "reopen", False, tuple(reopen_transitions), reopen_category, dict(reopen_fields or {})
        )
        given = {level: _priority_ref(value) for level, value in (priority_map or {}).items()}
        self._priorities = {**DEFAULT_PRIORITY_MAP, **given}
        self._labels = tuple(labels)
        self._components = [{"name": component} for component in components]

    def find(self, incident_id: str) -> TicketRef | None:
        jql = (
            f"project = {jql_string(self._project)} AND "
            f"labels = {jql_string(correlation_label(incident_id))} ORDER BY created ASC"
        )
        search = {"jql": jql, "fields": list(SEARCH_FIELDS), "maxResults": 1}
        answer = self._send("POST", "/search/jql", search)
        issues = answer.data.get("issues") if isinstance(answer.data, dict) else None
        if not isinstance(issues, list):
            raise self._malformed("search", "an issues list")
        return self._ref(issues[0], "search") if issues else None

    def create(self, draft: TicketDraft) -> TicketRef:
        fields: dict[str, Any] = {
            "project": {"key": self._project},
            "issuetype": dict(self._issue_type),
            **self._content(draft),
            "labels": self._labels_for(draft),
            **({"components": self._components} if self._components else {}),
            **draft.extra_fields,
        }
        try:
            answer = self._request("POST", "/issue", {"fields": fields})
        except RejectedRequestError as rejected:
            dropped = _optional_fields_refused(rejected, fields, optional=set(draft.extra_fields))
            if not dropped:
                raise self._refused(rejected, lambda r: self._refused_create(r, draft)) from None
            self._create_without(draft, fields, dropped, rejected)
        return self._ref(answer.data, "create")

    def _create_without(
        self,
        draft: TicketDraft,
        fields: dict[str, Any],
        dropped: list[str],
        rejected: RejectedRequestError,
    ) -> NoReturn:
        """Creates the ticket without the refused optional fields (keeping the correlation
        label, which ``find`` needs), then reports what was left out."""
        kept = {name: value for name, value in fields.items() if name not in dropped}
        kept["labels"] = [correlation_label(draft.incident_id)]
        answer = self._send(
            "POST", "/issue", {"fields": kept}, refusal=lambda r: self._refused_create(r, draft)
        )
        ref = self._ref(answer.data, "create")
        raise PartlyCreatedError(
            f"Jira created {ref.key} without {', '.join(dropped)}, which it refused: {rejected}",
            setting=", ".join(self._field_setting(name, draft) for name in dropped),
            status=rejected.status,
            step=f"field:{DRAFT_FIELDS.get(dropped[0], dropped[0])}",
            ref=ref,
        )

    def update(
        self, ref: TicketRef, draft: TicketDraft, fields: frozenset[str] = UPDATABLE_FIELDS
    ) -> None:
        content = self._content(draft, fields)
        if content:
            self._send(
                "PUT",
                self._issue(ref),
                {"fields": content},
                refusal=lambda rejected: self._refused_field(rejected, draft),
            )

    def comment(
        self,
        ref: TicketRef,
        text: str,
        key: str | None = None,
        *,
        after_unknown_outcome: bool = False,
    ) -> None:
        body = adf(truncate(text, MAX_COMMENT_CHARS))
        if after_unknown_outcome and self._has_comment(ref, key, body):
            return
        document: dict[str, Any] = {"body": body}
        if key:
            document["properties"] = [{"key": COMMENT_PROPERTY, "value": {"key": key}}]
        self._send(
            "POST",
            f"{self._issue(ref)}/comment",
            document,
            refusal=lambda rejected: self._step_failed(rejected, "comment", COMMENT_SETTING),
        )

    def assign(self, ref: TicketRef, assignee: Assignee) -> bool:
        """Assigns the Jira user with the assignee's e-mail; False (and no change) when there
        is no e-mail or no assignable user with it."""
        email = assignee.email
        account_id = self._assignable_account(ref, email) if email else None
        if account_id is None:
            return False
        setting = f"the Jira user {email} (Assignable User permission in project {self._project})"
        self._send(
            "PUT",
            f"{self._issue(ref)}/assignee",
            {"accountId": account_id},
            refusal=lambda rejected: self._step_failed(rejected, "assign", setting),
        )
        return True

    def resolve(self, ref: TicketRef, note: str) -> None:
        self._move(ref, self._resolve)
        if note:
            self.comment(ref, note)

    def reopen(self, ref: TicketRef, note: str) -> TicketRef | None:
        self._move(ref, self._reopen)
        if note:
            self.comment(ref, note)
        return None

    def _content(
        self, draft: TicketDraft, fields: frozenset[str] = UPDATABLE_FIELDS
    ) -> dict[str, Any]:
        content: dict[str, Any] = {}
        if "title" in fields:
            content["summary"] = shorten(draft.title, MAX_SUMMARY_CHARS)
        if "description" in fields:
            content["description"] = adf(truncate(draft.description, MAX_DESCRIPTION_CHARS))
        if "priority" in fields:
            level = draft.priority if draft.priority in self._priorities else DEFAULT_PRIORITY
            content["priority"] = dict(self._priorities[level])
        return content

    def _labels_for(self, draft: TicketDraft) -> list[str]:
        """The draft's and the configured labels made valid for Jira (no spaces, at most 255
        characters), always with the correlation label that ``find`` searches for."""
        labels = [
            _SPACES.sub("_", label.strip())[:MAX_LABEL_CHARS]
            for label in (*draft.labels, *self._labels)
            if label.strip()
        ]
        labels.append(correlation_label(draft.incident_id))
        return list(dict.fromkeys(labels))

    # --- workflow ----------------------------------------------------------------------

    def _move(self, ref: TicketRef, move: StatusMove) -> None:
        """Moves the issue to the wanted side (done or not) unless it is there already, so a
        repeat neither fails nor bounces an issue that people have moved on since."""
        if self._is_done(ref) == move.done:
            return
        answer = self._send(
            "GET", f"{self._issue(ref)}/transitions", query={"expand": "transitions.fields"}
        )
        listed = answer.data.get("transitions") if isinstance(answer.data, dict) else None
        if not isinstance(listed, list):
            raise self._malformed("transitions", "a transitions list")
        transitions = [t for t in listed if isinstance(t, dict) and t.get("id")]
        setting = f"{self._config}.workflow.{move.step}"
        transitions_setting = f"{setting}.transitions"
        document = self._transition_for(ref, move, transitions, setting)
        self._send(
            "POST",
            f"{self._issue(ref)}/transitions",
            document,
            refusal=lambda rejected: self._step_failed(
                rejected,
                move.step,
                next(
                    (f"{setting}.fields.{f}" for f in _error_fields(rejected)),
                    transitions_setting,
                ),
            ),
        )

    def _transition_for(
        self, ref: TicketRef, move: StatusMove, transitions: list[dict[str, Any]], setting: str
    ) -> dict[str, Any]:
        """The transition call's document: the first option whose screen we can fill, with
        the configured values of the fields on that screen."""
        options = _candidates(transitions, move.candidates, move.category)
        if not options:
            available = ", ".join(sorted({str(t.get("name")) for t in transitions})) or "none"
            wanted = " or ".join(f"'{name}'" for name in move.candidates) or "no name"
            category = f" nor one to a '{move.category}' status" if move.category else ""
            raise StepFailedError(
                f"Jira issue {ref.key or ref.id} offers no transition named {wanted}{category} "
                f"(available: {available})",
                setting=f"{setting}.transitions (available: {available})",
                step=move.step,
            )
        missing = [_missing_fields(option, move.fields) for option in options]
        index = next((i for i, fields in enumerate(missing) if not fields), None)
        if index is None:
            field_id = missing[0][0]
            raise StepFailedError(
                f"Jira's transition '{options[0].get('name')}' on {ref.key or ref.id} requires "
                f"the field '{field_id}', and no value is configured for it",
                setting=f"{setting}.fields.{field_id}",
                step=move.step,
            )
        chosen = options[index]
        document: dict[str, Any] = {"transition": {"id": str(chosen["id"])}}
        screen = chosen.get("fields") if isinstance(chosen.get("fields"), dict) else {}
        values = {field: value for field, value in move.fields.items() if field in screen}
        if values:
            document["fields"] = values
        return document

    def _is_done(self, ref: TicketRef) -> bool:
        answer = self._send("GET", self._issue(ref), query={"fields": "status"})
        try:
            category = answer.data["fields"]["status"]["statusCategory"]["key"]
        except (KeyError, TypeError):
            raise self._malformed("issue", "a status") from None
        return bool(category == DONE_CATEGORY)

    # --- comments and people -----------------------------------------------------------

    def _has_comment(self, ref: TicketRef, key: str | None, body: dict[str, Any]) -> bool:
        """Whether the issue holds our comment with ``key`` (or, without a key, this body),
        reading its comments newest first, page by page."""
        start = 0
        while True:
            answer = self._send(
                "GET",
                f"{self._issue(ref)}/comment",
                query={
                    "expand": "properties",
                    "orderBy": "-created",
                    "startAt": str(start),
                    "maxResults": str(COMMENT_PAGE),
                },
            )
            page = answer.data if isinstance(answer.data, dict) else {}
            comments = page.get("comments")
            if not isinstance(comments, list):
                raise self._malformed("comments", "a comments list")
            if any(_is_the_comment(c, key, body) for c in comments):
                return True
            start += len(comments)
            total = page.get("total")
            if not comments or not isinstance(total, int) or start >= total:
                return False

    def _assignable_account(self, ref: TicketRef, email: str) -> str | None:
        issue = {"issueKey": ref.key} if ref.key else {"issueId": ref.id}
        answer = self._send("GET", "/user/assignable/search", query={**issue, "query": email})
        users = [
            u
            for u in (answer.data if isinstance(answer.data, list) else [])
            if isinstance(u, dict) and u.get("accountId") and u.get("active", True)
        ]
        exact = [u for u in users if str(u.get("emailAddress", "")).lower() == email.lower()]
        # Jira hides e-mail addresses by privacy setting: then only a single hit is trusted.
        chosen = exact if exact else users
        return str(chosen[0]["accountId"]) if len(chosen) == 1 else None

    # --- failures ----------------------------------------------------------------------

    def _field_setting(self, field_id: str, draft: TicketDraft) -> str:
        """The key path in the desk configuration file that sets Jira field ``field_id``."""
        if field_id == "priority":
            return f"{self._config}.fields.priority_map.{draft.priority}"
        if field_id in ("summary", "description"):
            return f"{self._config}.fields.{field_id}"
        if field_id in ("labels", "components"):
            return f"{self._config}.jira.{field_id}"
        return f"{self._config}.jira.custom_fields.{field_id}"

    def _refused_create(self, rejected: RejectedRequestError, draft: TicketDraft) -> PermanentError:
        """No ticket: the project, the issue type, or a field the create screen needs."""
        fields = [f for f in _error_fields(rejected) if f not in ("project", "issuetype")]
        if fields and not {"project", "issuetype"} & set(_error_fields(rejected)):
            return PermanentError(
                str(rejected), setting=self._field_setting(fields[0], draft), status=rejected.status
            )
        return self._refused_whole(rejected)

    def _refused_field(self, rejected: RejectedRequestError, draft: TicketDraft) -> PermanentError:
        fields = _error_fields(rejected)
        if not fields:
            return self._refused_whole(rejected)
        return StepFailedError(
            str(rejected),
            setting=self._field_setting(fields[0], draft),
            status=rejected.status,
            step=f"field:{DRAFT_FIELDS.get(fields[0], fields[0])}",
        )

    def _step_failed(
        self, rejected: RejectedRequestError, step: str, setting: str
    ) -> PermanentError:
        """A step Jira refused (400 and the like); a 404 means the issue or the project is
        gone from the API user's view, which no step can fix."""
        if rejected.status == 404:
            return self._refused_whole(rejected)
        return StepFailedError(str(rejected), setting=setting, status=rejected.status, step=step)

    def _refused_whole(self, rejected: RejectedRequestError) -> PermanentError:
        """The project, or the issue type when Jira names it."""
        key = "issue_type" if "issuetype" in _error_fields(rejected) else "project"
        return PermanentError(
            str(rejected), setting=f"{self._config}.jira.{key}", status=rejected.status
        )

    def _issue(self, ref: TicketRef) -> str:
        return f"/issue/{path_segment(ref.id)}"

    def _ref(self, issue: Any, where: str) -> TicketRef:
        if not isinstance(issue, dict) or not issue.get("id") or not issue.get("key"):
            raise self._malformed(where, "an issue id and key")
        key = str(issue["key"])
        return TicketRef(id=str(issue["id"]), key=key, url=f"{self._base}/browse/{key}")

    def _malformed(self, where: str, expected: str) -> PermanentError:
        return PermanentError(
            f"Jira {where} answered without {expected}", setting=Env.TICKET_BASE_URL
        )

    def _send(
        self,
        method: str,
        path: str,
        document: Any = None,
        *,
        query: Mapping[str, str] | None = None,
        refusal: Callable[[RejectedRequestError], PermanentError] | None = None,
    ) -> HttpResponse:
        """``_request``, with a refusal turned into the error naming what to fix: 401/403 the
        credentials, otherwise ``refusal`` (default: the project or the issue type)."""
        try:
            return self._request(method, path, document, query=query)
        except RejectedRequestError as rejected:
            raise self._refused(rejected, refusal or self._refused_whole) from None

    def _refused(
        self,
        rejected: RejectedRequestError,
        refusal: Callable[[RejectedRequestError], PermanentError],
    ) -> PermanentError:
        """401/403 name the credentials, whatever the call; anything else is ``refusal``'s."""
        if rejected.status in (401, 403):
            return rejected.permanent(
                credentials_setting=Env.TICKET_SECRET_ID,
                resource_setting=f"{self._config}.jira.project",
            )
        return refusal(rejected)

    def _request(
        self,
        method: str,
        path: str,
        document: Any = None,
        *,
        query: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        """One call; 429/5xx/timeouts raise ``RetryableError`` with Jira's ``Retry-After``."""
        return self._http.request(
            method,
            f"{self._base}{API}{path}",
            query=query,
            json_body=document,
            headers={"Authorization": self._auth},
        )


def _priority_ref(value: str | PriorityRef) -> dict[str, str]:
    """A configured priority: a name, or a mapping holding its ``id`` or ``name``."""
    if isinstance(value, str):
        return {"name": value}
    chosen = {key: str(value[key]) for key in ("id", "name") if value.get(key)}
    if not chosen:
        raise ValueError(f"a Jira priority needs an 'id' or a 'name', got {dict(value)!r}")
    return {"id": chosen["id"]} if "id" in chosen else chosen


def _candidates(
    transitions: list[dict[str, Any]], names: tuple[str, ...], category: str | None
) -> list[dict[str, Any]]:
    """The transitions to try, best first: each candidate name's (by name, else by target
    status name), then those leading to a status of ``category``."""
    options: list[dict[str, Any]] = []
    for name in names:
        match = _match_transition(transitions, name)
        if match is not None and match not in options:
            options.append(match)
    if category:
        options += [t for t in transitions if _category_of(t) == category and t not in options]
    return options


def _category_of(transition: dict[str, Any]) -> str | None:
    target = transition.get("to")
    category = target.get("statusCategory") if isinstance(target, dict) else None
    return str(category.get("key")) if isinstance(category, dict) else None


def _missing_fields(transition: dict[str, Any], values: Mapping[str, Any]) -> list[str]:
    """The fields the transition's screen requires that ``values`` does not give."""
    screen = transition.get("fields")
    if not isinstance(screen, dict):
        return []
    return [
        field_id
        for field_id, meta in screen.items()
        if isinstance(meta, dict) and meta.get("required") and field_id not in values
    ]


def _match_transition(transitions: list[dict[str, Any]], wanted: str) -> dict[str, Any] | None:
    """The transition named ``wanted``, else one leading to a status so named."""
    name = wanted.casefold()
    for transition in transitions:
        if str(transition.get("name", "")).casefold() == name:
            return transition
    for transition in transitions:
        target = transition.get("to")
        if isinstance(target, dict) and str(target.get("name", "")).casefold() == name:
            return transition
    return None


def _is_the_comment(comment: Any, key: str | None, body: dict[str, Any]) -> bool:
    if not isinstance(comment, dict):
        return False
    if key is None:
        return bool(comment.get("body") == body)
    properties = comment.get("properties")
    return isinstance(properties, list) and any(
        isinstance(p, dict) and p.get("key") == COMMENT_PROPERTY and p.get("value") == {"key": key}
        for p in properties
    )


def _error_fields(rejected: RejectedRequestError) -> list[str]:
    """The field ids Jira's 400 names in ``errors``."""
    errors = rejected.details.get("errors") if isinstance(rejected.details, dict) else None
    return [str(name) for name in errors] if isinstance(errors, dict) else []


def _optional_fields_refused(
    rejected: RejectedRequestError, sent: Mapping[str, Any], optional: Set[str] = frozenset()
) -> list[str]:
    """The optional fields we sent (``OPTIONAL_CREATE_FIELDS`` and the ``optional`` custom
    fields), when a 400 names those and nothing else."""
    fields = _error_fields(rejected)
    if rejected.status != 400 or not fields:
        return []
    droppable = set(OPTIONAL_CREATE_FIELDS) | optional
    if all(name in sent and name in droppable for name in fields):
        return fields
    return []
