"""The Jira fake's state, and the JSON shapes Jira Cloud answers with (REST API v3).

Shapes follow the schemas of Atlassian's OpenAPI document: ``IssueBean``, ``StatusDetails``,
``IssueTransition`` with ``FieldMetadata``, ``Comment`` with ``EntityProperty``,
``PageOfComments``, ``UserDetails``, ``Priority``/``PageBeanPriority``, ``ErrorCollection``.
Only the members a client of these endpoints reads are filled in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, Final

from local.fakes.jira_catalog import (
    FIELD_NAMES,
    RESOLUTIONS,
    STATUS_CATEGORIES,
    IssueType,
    Priority,
    Project,
    Status,
    Transition,
    User,
)
from local.loopback import Reply, json_reply

API: Final = "/rest/api/3"


def timestamp() -> str:
    """Now, as Jira writes times: ``2025-01-31T12:00:00.000+0000``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


def jira_error(status: int, *messages: str, errors: dict[str, str] | None = None) -> Reply:
    """Jira's ``ErrorCollection``: messages about the request, errors by field."""
    return json_reply(status, {"errorMessages": list(messages), "errors": errors or {}})


def not_found(message: str) -> Reply:
    return jira_error(HTTPStatus.NOT_FOUND, message)


def is_adf(value: Any) -> bool:
    """Whether ``value`` is an Atlassian Document Format document (its top-level shape)."""
    return (
        isinstance(value, dict)
        and value.get("type") == "doc"
        and value.get("version") == 1
        and isinstance(value.get("content"), list)
    )


def adf_text(value: Any) -> str:
    """The plain text of an ADF node, for assertions and the issue view."""
    if isinstance(value, dict):
        if value.get("type") == "text":
            return str(value.get("text", ""))
        if value.get("type") == "hardBreak":
            return "\n"
        parts = [adf_text(child) for child in value.get("content", [])]
        return ("\n\n" if value.get("type") == "doc" else "").join(parts)
    return ""


@dataclass
class Comment:
    id: str
    body: dict[str, Any]
    properties: list[dict[str, Any]]
    created: str


@dataclass
class Issue:
    """One issue: ``fields`` holds what was set by id (``summary``, ``priority``...)."""

    id: str
    key: str
    project: Project
    issue_type: IssueType
    status: str
    fields: dict[str, Any]
    created: str
    sequence: int
    # When search first sees the issue (time.monotonic()): search is eventually consistent.
    searchable_at: float
    comments: list[Comment] = field(default_factory=list)


class Shapes:
    """Renders the fake's state as Jira does, with ``self`` links under the fake's URL."""

    def __init__(self, base_url: str, api_user: dict[str, Any]) -> None:
        self._base = base_url.rstrip("/")
        self.api_user = api_user

    def link(self, path: str) -> str:
        return f"{self._base}{API}{path}"

    def status(self, status: Status) -> dict[str, Any]:
        category = STATUS_CATEGORIES[status.category]
        return {
            "self": self.link(f"/status/{status.id}"),
            "id": status.id,
            "name": status.name,
            "description": "",
            "statusCategory": {
                "self": self.link(f"/statuscategory/{category['id']}"),
                **category,
            },
        }

    def priority(self, priority: Priority, *, default: bool = False) -> dict[str, Any]:
        return {
            "self": self.link(f"/priority/{priority.id}"),
            "id": priority.id,
            "name": priority.name,
            "statusColor": priority.color,
            "description": "",
            "iconUrl": f"{self._base}/images/icons/priorities/{priority.id}.svg",
            "isDefault": default,
        }

    def issue_type(self, issue_type: IssueType) -> dict[str, Any]:
        return {
            "self": self.link(f"/issuetype/{issue_type.id}"),
            "id": issue_type.id,
            "name": issue_type.name,
            "description": "",
            "subtask": False,
            "iconUrl": f"{self._base}/images/icons/issuetypes/{issue_type.id}.svg",
        }

    def project(self, project: Project) -> dict[str, Any]:
        simplified = project.workflow.name == "simplified"
        return {
            "self": self.link(f"/project/{project.id}"),
            "id": project.id,
            "key": project.key,
            "name": project.name,
            "projectTypeKey": "software",
            "simplified": simplified,
            "style": "next-gen" if simplified else "classic",
            "issueTypes": [self.issue_type(issue_type) for issue_type in project.issue_types],
        }

    def user(self, user: User) -> dict[str, Any]:
        shape: dict[str, Any] = {
            "self": self.link(f"/user?accountId={user.account_id}"),
            "accountId": user.account_id,
            "accountType": "atlassian",
            "displayName": user.display_name,
            "active": user.active,
            "timeZone": "UTC",
        }
        if user.email_visible:
            shape["emailAddress"] = user.email
        return shape

    def issue(self, issue: Issue, wanted: set[str] | None = None) -> dict[str, Any]:
        """The ``IssueBean``; ``wanted`` limits ``fields`` (None: all of them)."""
        workflow = issue.project.workflow
        every = {
            **issue.fields,
            "project": {
                "self": self.link(f"/project/{issue.project.id}"),
                "id": issue.project.id,
                "key": issue.project.key,
                "name": issue.project.name,
            },
            "issuetype": self.issue_type(issue.issue_type),
            "status": self.status(workflow.status(issue.status)),
            "created": issue.created,
        }
        fields = {k: v for k, v in every.items() if wanted is None or k in wanted}
        return {
            "expand": "renderedFields,names,schema,operations,editmeta,changelog",
            "id": issue.id,
            "key": issue.key,
            "self": self.link(f"/issue/{issue.id}"),
            "fields": fields,
        }

    def transition(self, transition: Transition, issue: Issue, *, fields: bool) -> dict[str, Any]:
        workflow = issue.project.workflow
        shape: dict[str, Any] = {
            "id": transition.id,
            "name": transition.name,
            "to": self.status(workflow.status(transition.to)),
            "hasScreen": bool(transition.required_fields),
            "isGlobal": not transition.sources,
            "isInitial": False,
            "isAvailable": True,
            "isConditional": False,
            "isLooped": False,
        }
        if fields:
            shape["fields"] = {
                name: self.field_meta(name, True) for name in transition.required_fields
            }
        return shape

    def field_meta(
        self,
        field_id: str,
        required: bool,
        allowed: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """``FieldMetadata`` (transition screens) and ``FieldCreateMetadata`` (createmeta)."""
        if field_id == "resolution":
            allowed = [
                {"self": self.link(f"/resolution/{r['id']}"), **r, "description": ""}
                for r in RESOLUTIONS
            ]
        name = FIELD_NAMES.get(field_id, "Resolution" if field_id == "resolution" else field_id)
        shape: dict[str, Any] = {
            "required": required,
            "schema": {"type": "any", "system": field_id}
            if not field_id.startswith("customfield_")
            else {"type": "any", "custom": "com.atlassian.jira:any"},
            "name": name,
            "key": field_id,
            "fieldId": field_id,
            "hasDefaultValue": False,
            "operations": ["set"],
        }
        if allowed is not None:
            shape["allowedValues"] = allowed
        return shape

    def comment(self, comment: Comment, issue: Issue, *, properties: bool) -> dict[str, Any]:
        shape: dict[str, Any] = {
            "self": self.link(f"/issue/{issue.id}/comment/{comment.id}"),
            "id": comment.id,
            "author": self.api_user,
            "updateAuthor": self.api_user,
            "body": comment.body,
            "created": comment.created,
            "updated": comment.created,
            "jsdPublic": True,
        }
        if properties:
            shape["properties"] = comment.properties
        return shape
