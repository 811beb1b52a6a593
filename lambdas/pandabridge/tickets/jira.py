"""The ``jira`` target: Jira Cloud, REST API v3.

Credentials (the JSON secret named by ``TICKET_SECRET_ID``): ``email`` and ``api_token``, sent
as HTTP Basic. Settings: ``JIRA_PROJECT_KEY``, ``JIRA_ISSUE_TYPE`` (by name),
``JIRA_RESOLVE_TRANSITION`` and ``JIRA_REOPEN_TRANSITION`` (transition names).

- Correlation: every issue carries the label ``mapping.correlation_label(incident_id)``.
  ``find`` searches ``POST /rest/api/3/search/jql`` for it (the classic ``/search`` answers
  410 Gone), oldest first, one result, so no paging is needed. That search is eventually
  consistent: ``find_is_consistent`` is False, and the caller must not trust an empty answer
  right after a create whose outcome it did not see.
- Descriptions and comments are Atlassian Document Format (``adf``): one paragraph per block
  of lines, ``hardBreak`` between lines, http(s) URLs as links.
- Priority by name: P1..P5 onto Jira's default scheme (``PRIORITY_NAMES``).
- Resolve and reopen first read the issue's status: an issue already on the wanted side
  (status category "done" for resolve, any other for reopen) is not moved, so a repeat is
  safe and does not bounce an issue that people have moved on. Otherwise the transition is
  looked up by name (case-insensitive; a transition whose target status has that name also
  matches), because transition ids differ per workflow; a missing one is a
  ``PermanentError`` naming the setting and listing the transitions that exist. The note
  follows as a comment (a comment inside the transition needs the comment field on the
  transition screen, which many workflows lack).
- Assignment looks the user up by e-mail; no single match leaves the issue unassigned and
  returns False.
- Failures: 401/403 name ``TICKET_SECRET_ID``; other 4xx name ``JIRA_PROJECT_KEY``, or
  ``JIRA_ISSUE_TYPE`` when Jira says the issue type is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from pandabridge.errors import PermanentError
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
from pandabridge.tickets.model import UPDATABLE_FIELDS, Assignee, TicketDraft, TicketRef

CREDENTIAL_KEYS: Final = ("email", "api_token")
API: Final = "/rest/api/3"
# Jira Cloud's default priority scheme.
PRIORITY_NAMES: Final = {"P1": "Highest", "P2": "High", "P3": "Medium", "P4": "Low", "P5": "Lowest"}
MAX_SUMMARY_CHARS: Final = 255
# Jira's limit for a comment body; notes are cut below it.
MAX_COMMENT_CHARS: Final = MAX_DESCRIPTION_CHARS
DONE_CATEGORY: Final = "done"
SEARCH_FIELDS: Final = ("status", "summary")

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
        resolve_transition: str,
        reopen_transition: str,
        http: HttpClient,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._auth = basic_auth(email, api_token)
        self._http = http.redacting(api_token)
        self._project = project_key
        self._issue_type = issue_type
        self._resolve_transition = resolve_transition
        self._reopen_transition = reopen_transition

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
        fields = {
            "project": {"key": self._project},
            "issuetype": {"name": self._issue_type},
            **self._content(draft),
            "labels": _labels(draft),
        }
        answer = self._send("POST", "/issue", {"fields": fields})
        return self._ref(answer.data, "create")

    def update(
        self, ref: TicketRef, draft: TicketDraft, fields: frozenset[str] = UPDATABLE_FIELDS
    ) -> None:
        content = self._content(draft, fields)
        if content:
            self._send("PUT", self._issue(ref), {"fields": content})

    def comment(
        self,
        ref: TicketRef,
        text: str,
        key: str | None = None,  # noqa: ARG002 - the contract's; this adapter keeps no key yet
        *,
        after_unknown_outcome: bool = False,  # noqa: ARG002
    ) -> None:
        body = adf(truncate(text, MAX_COMMENT_CHARS))
        self._send("POST", f"{self._issue(ref)}/comment", {"body": body})

    def assign(self, ref: TicketRef, assignee: Assignee) -> bool:
        """Assigns the Jira user with the assignee's e-mail; False (and no change) when there
        is no e-mail or no single matching user."""
        account_id = self._account_for(assignee.email) if assignee.email else None
        if account_id is None:
            return False
        self._send("PUT", f"{self._issue(ref)}/assignee", {"accountId": account_id})
        return True

    def resolve(self, ref: TicketRef, note: str) -> None:
        self._transition(ref, self._resolve_transition, Env.JIRA_RESOLVE_TRANSITION, done=True)
        if note:
            self.comment(ref, note)

    def reopen(self, ref: TicketRef, note: str) -> TicketRef | None:
        self._transition(ref, self._reopen_transition, Env.JIRA_REOPEN_TRANSITION, done=False)
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
            content["priority"] = {"name": PRIORITY_NAMES.get(draft.priority, PRIORITY_NAMES["P3"])}
        return content

    def _transition(self, ref: TicketRef, wanted: str, setting: str, *, done: bool) -> None:
        """Moves the issue to the wanted side (done or not) unless it is there already, so a
        repeat neither fails nor bounces an issue that people have moved on since."""
        if self._is_done(ref) == done:
            return
        answer = self._send("GET", f"{self._issue(ref)}/transitions")
        listed = answer.data.get("transitions") if isinstance(answer.data, dict) else None
        if not isinstance(listed, list):
            raise self._malformed("transitions", "a transitions list")
        transitions = [t for t in listed if isinstance(t, dict) and t.get("id")]
        chosen = _match_transition(transitions, wanted)
        if chosen is None:
            available = ", ".join(sorted({str(t.get("name")) for t in transitions})) or "none"
            raise PermanentError(
                f"Jira issue {ref.key or ref.id} has no transition named '{wanted}' "
                f"(available: {available})",
                setting=setting,
            )
        self._send("POST", f"{self._issue(ref)}/transitions", {"transition": {"id": chosen}})

    def _is_done(self, ref: TicketRef) -> bool:
        answer = self._send("GET", self._issue(ref), query={"fields": "status"})
        try:
            category = answer.data["fields"]["status"]["statusCategory"]["key"]
        except (KeyError, TypeError):
            raise self._malformed("issue", "a status") from None
        return bool(category == DONE_CATEGORY)

    def _account_for(self, email: str) -> str | None:
        answer = self._send("GET", "/user/search", query={"query": email})
        users = [
            u
            for u in (answer.data if isinstance(answer.data, list) else [])
            if isinstance(u, dict) and u.get("accountId") and u.get("active", True)
        ]
        exact = [u for u in users if str(u.get("emailAddress", "")).lower() == email.lower()]
        # Jira hides e-mail addresses by privacy setting: then only a single hit is trusted.
        chosen = exact if exact else users
        return str(chosen[0]["accountId"]) if len(chosen) == 1 else None

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
    ) -> HttpResponse:
        try:
            return self._http.request(
                method,
                f"{self._base}{API}{path}",
                query=query,
                json_body=document,
                headers={"Authorization": self._auth},
            )
        except RejectedRequestError as rejected:
            raise rejected.permanent(
                credentials_setting=Env.TICKET_SECRET_ID,
                resource_setting=_setting_at_fault(rejected),
            ) from None


def _match_transition(transitions: list[dict[str, Any]], wanted: str) -> str | None:
    """The id of the transition named ``wanted``, else of one leading to a status so named."""
    name = wanted.casefold()
    for transition in transitions:
        if str(transition.get("name", "")).casefold() == name:
            return str(transition["id"])
    for transition in transitions:
        target = transition.get("to")
        if isinstance(target, dict) and str(target.get("name", "")).casefold() == name:
            return str(transition["id"])
    return None


def _labels(draft: TicketDraft) -> list[str]:
    """The draft's labels made valid for Jira (no spaces, at most 255 characters), always with
    the correlation label that ``find`` searches for."""
    labels = [_SPACES.sub("_", label)[:MAX_LABEL_CHARS] for label in draft.labels if label.strip()]
    labels.append(correlation_label(draft.incident_id))
    return list(dict.fromkeys(labels))


def _setting_at_fault(rejected: RejectedRequestError) -> str:
    """Jira's 400 names the offending field in ``errors``: an issue type it does not know is
    ``JIRA_ISSUE_TYPE``; anything else is blamed on the project."""
    errors = rejected.details.get("errors") if isinstance(rejected.details, dict) else None
    if isinstance(errors, dict) and "issuetype" in errors:
        return Env.JIRA_ISSUE_TYPE
    return Env.JIRA_PROJECT_KEY
