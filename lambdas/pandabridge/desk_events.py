"""Desk events: what a service desk tells us about one of our tickets, in one shape.

A Jira webhook delivery, the ServiceNow business rule's POST and a signed ``http`` event are
parsed here into ``DeskChange`` values (the ticket, what happened, who did it). Once the
incident the ticket belongs to is known (``pandabridge.desk_event_incidents``), a change
becomes a ``DeskEvent``: what the desk-events function stores and the ticket-sync worker
mirrors to BigPanda. Only the changes that can be mirrored become events: a resolve, a reopen,
a comment, an assignment. Everything else a desk sends is "not an event we mirror".

The dedupe id (``event_id``) is what the desk repeats on a redelivery: Jira's delivery
identifier (``X-Atlassian-Webhook-Identifier``), ServiceNow's ``sys_id`` and
``sys_mod_count``, the ``http`` desk's ``event_id``. One delivery may carry two changes (a
Jira transition that also reassigns, a ServiceNow update that resolves and adds a work note):
each becomes its own event, ``<dedupe id>:<kind>``.

Domain code only: no AWS, no HTTP.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from pandabridge.names import Limits
from pandabridge.tickets.mapping import LABEL_PREFIX

DeskEventKind = Literal["resolved", "reopened", "commented", "assigned"]

# Jira: the header naming a delivery, the same on each of its retries.
JIRA_DELIVERY_HEADER: Final = "X-Atlassian-Webhook-Identifier"
JIRA_ISSUE_UPDATED: Final = "jira:issue_updated"
JIRA_COMMENT_CREATED: Final = "comment_created"
JIRA_DONE_CATEGORY: Final = "done"
# ServiceNow incident states (``incident.state``): Resolved, Closed, Canceled count as done.
SERVICENOW_DONE_STATES: Final = frozenset({"6", "7", "8"})
SERVICENOW_JOURNAL_FIELDS: Final = frozenset({"comments", "work_notes"})


class InvalidDeskEventError(ValueError):
    """The body is not an event of the target's kind; the message names what is wrong."""

    def __init__(self, message: str, status: HTTPStatus = HTTPStatus.BAD_REQUEST) -> None:
        super().__init__(message)
        self.status = status

    def as_json(self) -> dict[str, Any]:
        return {"message": str(self), "errors": []}


class _DeskFacts(BaseModel):
    """What a desk says about one change of one ticket."""

    model_config = ConfigDict(frozen=True)

    target: str
    event_id: str = Field(min_length=1)
    ticket_key: str = Field(min_length=1)
    kind: DeskEventKind
    actor: str
    actor_name: str
    comment: str | None = None
    assignee_email: str | None = None
    at: str


class DeskEvent(_DeskFacts):
    """One mirrored change of one ticket, with the incident it belongs to (its storage key)."""

    incident_key: str


class DeskChange(_DeskFacts):
    """A ``DeskEvent`` before its incident is known: the ticket as the desk names it, and the
    correlation the ticket carries, if the event shows it (a Jira label, ServiceNow's
    ``correlation_id``, the ``http`` event's ``incident_id``)."""

    ticket_id: str = Field(min_length=1)
    correlations: tuple[str, ...] = ()

    def for_incident(self, incident_key: str) -> DeskEvent:
        known = self.model_dump(exclude={"ticket_id", "correlations"})
        return DeskEvent(incident_key=incident_key, **known)


def parse_jira(body: bytes, *, target: str, delivery_id: str | None) -> list[DeskChange]:
    """The changes of a Jira Cloud webhook delivery (``jira:issue_updated`` with a status or
    assignee change in its changelog, ``comment_created``); none for any other event."""
    if not delivery_id or not delivery_id.strip():
        raise InvalidDeskEventError(
            f"no {JIRA_DELIVERY_HEADER} header: Jira names each delivery with it, and a "
            "delivery without it cannot be told from its retries"
        )
    document = _object(body)
    event = document.get("webhookEvent")
    if event not in (JIRA_ISSUE_UPDATED, JIRA_COMMENT_CREATED):
        return []
    issue = _mapping(document, "issue")
    fields = issue.get("fields") if isinstance(issue.get("fields"), Mapping) else {}
    ticket = {
        "target": target,
        "ticket_id": _text(issue, "issue.id"),
        "ticket_key": _text(issue, "issue.key"),
        # Only our correlation labels; an issue carries others (the target's own labels).
        "correlations": tuple(
            label
            for label in fields.get("labels") or ()
            if isinstance(label, str) and label.startswith(LABEL_PREFIX)
        ),
        "at": _jira_time(document.get("timestamp")),
    }
    base = delivery_id.strip()
    if event == JIRA_COMMENT_CREATED:
        comment = _mapping(document, "comment")
        author = comment.get("author") if isinstance(comment.get("author"), Mapping) else {}
        return [
            DeskChange(
                event_id=f"{base}:commented",
                kind="commented",
                actor=str(author.get("accountId") or ""),
                actor_name=str(author.get("displayName") or ""),
                comment=_comment_text(comment.get("body")),
                **ticket,
            )
        ]
    user = document.get("user") if isinstance(document.get("user"), Mapping) else {}
    actor = {
        "actor": str(user.get("accountId") or ""),
        "actor_name": str(user.get("displayName") or ""),
    }
    items = _changelog_items(document)
    changes: list[DeskChange] = []
    kind = _jira_status_kind(items, fields)
    if kind is not None:
        changes.append(DeskChange(event_id=f"{base}:{kind}", kind=kind, **actor, **ticket))
    if "assignee" in items:
        assignee = fields.get("assignee") if isinstance(fields.get("assignee"), Mapping) else {}
        changes.append(
            DeskChange(
                event_id=f"{base}:assigned",
                kind="assigned",
                assignee_email=assignee.get("emailAddress") or None,
                **actor,
                **ticket,
            )
        )
    return changes


def parse_servicenow(body: bytes, *, target: str) -> list[DeskChange]:
    """The changes in the body the ServiceNow business rule posts (``desks/servicenow/``)."""
    document = _object(body)
    sys_id = _text(document, "sys_id")
    mod_count = document.get("sys_mod_count")
    if isinstance(mod_count, bool) or not isinstance(mod_count, int | str) or str(mod_count) == "":
        raise InvalidDeskEventError("sys_mod_count: expected the incident's update counter")
    base = f"{sys_id}:{mod_count}"
    changed = document.get("changed") or []
    if not isinstance(changed, list) or not all(isinstance(name, str) for name in changed):
        raise InvalidDeskEventError("changed: expected a list of the field names that changed")
    correlation = document.get("correlation_id")
    ticket = {
        "target": target,
        "ticket_id": sys_id,
        "ticket_key": _text(document, "number"),
        "correlations": (correlation,) if isinstance(correlation, str) and correlation else (),
        "actor": str(document.get("updated_by") or ""),
        "actor_name": str(document.get("updated_by_name") or document.get("updated_by") or ""),
        "at": _servicenow_time(document.get("updated_at")),
    }
    changes: list[DeskChange] = []
    if "state" in changed:
        state = str(document.get("state") or "")
        previous = str(document.get("previous_state") or "")
        if state in SERVICENOW_DONE_STATES:
            changes.append(DeskChange(event_id=f"{base}:resolved", kind="resolved", **ticket))
        elif previous in SERVICENOW_DONE_STATES:
            changes.append(DeskChange(event_id=f"{base}:reopened", kind="reopened", **ticket))
    if "assigned_to" in changed:
        changes.append(
            DeskChange(
                event_id=f"{base}:assigned",
                kind="assigned",
                assignee_email=document.get("assigned_to_email") or None,
                **ticket,
            )
        )
    journal = document.get("journal")
    if isinstance(journal, Mapping) and journal.get("element") in SERVICENOW_JOURNAL_FIELDS:
        text = journal.get("value")
        if isinstance(text, str) and text.strip():
            changes.append(
                DeskChange(
                    event_id=f"{base}:commented",
                    kind="commented",
                    comment=_shorten(text),
                    **ticket,
                )
            )
    return changes


def parse_http(body: bytes, *, target: str) -> list[DeskChange]:
    """The one change of a signed ``http`` desk event (README, "The http desk contract")."""
    document = _object(body)
    kind = document.get("kind")
    if kind not in ("resolved", "reopened", "commented", "assigned"):
        raise InvalidDeskEventError(
            "kind: expected one of resolved, reopened, commented, assigned"
            + (f" (got {kind!r})" if isinstance(kind, str) else "")
        )
    actor = document.get("actor") if isinstance(document.get("actor"), Mapping) else {}
    comment = document.get("comment")
    if kind == "commented" and not (isinstance(comment, str) and comment.strip()):
        raise InvalidDeskEventError("comment: a 'commented' event needs the comment's text")
    incident_id = document.get("incident_id")
    ticket_id = _text(document, "ticket_id")
    return [
        DeskChange(
            target=target,
            event_id=f"{_text(document, 'event_id')}:{kind}",
            ticket_id=ticket_id,
            ticket_key=str(document.get("ticket_key") or ticket_id),
            correlations=(incident_id,) if isinstance(incident_id, str) and incident_id else (),
            kind=kind,
            actor=str(actor.get("id") or ""),
            actor_name=str(actor.get("name") or actor.get("id") or ""),
            comment=_shorten(comment) if isinstance(comment, str) else None,
            assignee_email=document.get("assignee_email") or None,
            at=_iso_or_now(document.get("at")),
        )
    ]


def _object(body: bytes) -> Mapping[str, Any]:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidDeskEventError("the body is not JSON") from None
    if not isinstance(document, dict):
        raise InvalidDeskEventError("the body is not a JSON object")
    return document


def _mapping(document: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = document.get(key)
    if not isinstance(value, Mapping):
        raise InvalidDeskEventError(f"{key}: expected an object")
    return value


def _text(document: Mapping[str, Any], path: str) -> str:
    value = document.get(path.rsplit(".", 1)[-1])
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        raise InvalidDeskEventError(f"{path}: expected a non-empty string")
    return value.strip()


def _changelog_items(document: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    changelog = document.get("changelog")
    items = changelog.get("items") if isinstance(changelog, Mapping) else None
    return {
        str(item.get("field")): item
        for item in items or ()
        if isinstance(item, Mapping) and item.get("field")
    }


def _jira_status_kind(
    items: Mapping[str, Mapping[str, Any]], fields: Mapping[str, Any]
) -> DeskEventKind | None:
    """``resolved`` when the status moved into the done category; ``reopened`` when it moved
    out of it, which Jira shows by clearing the resolution."""
    if "status" not in items:
        return None
    status = fields.get("status") if isinstance(fields.get("status"), Mapping) else {}
    category = status.get("statusCategory") if isinstance(status, Mapping) else None
    key = category.get("key") if isinstance(category, Mapping) else None
    if key == JIRA_DONE_CATEGORY:
        return "resolved"
    resolution = items.get("resolution")
    if resolution is not None and resolution.get("from") and not resolution.get("to"):
        return "reopened"
    return None


def _comment_text(body: Any) -> str | None:
    """A comment body as text: Jira's webhooks send it as a string; the REST API's ADF
    document is flattened to its text nodes."""
    if isinstance(body, str):
        return _shorten(body)
    if isinstance(body, Mapping):
        return _shorten("".join(_adf_text(body)))
    return None


def _adf_text(node: Mapping[str, Any]) -> Iterable[str]:
    if isinstance(node.get("text"), str):
        yield node["text"]
    for child in node.get("content") or ():
        if isinstance(child, Mapping):
            yield from _adf_text(child)
    if node.get("type") in ("paragraph", "heading"):
        yield "\n"


def _shorten(text: str) -> str:
    text = text.strip()
    return text[: Limits.DESK_COMMENT_MAX_CHARS]


def _jira_time(value: Any) -> str:
    """Jira's ``timestamp`` (epoch milliseconds) as ISO-8601; now when it has none."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value / 1000, UTC).isoformat()
        except (OverflowError, ValueError, OSError):
            pass
    return datetime.now(UTC).isoformat()


def _servicenow_time(value: Any) -> str:
    """ServiceNow's ``sys_updated_on`` (``YYYY-MM-DD HH:MM:SS``, UTC) as ISO-8601."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace(" ", "T")).replace(tzinfo=UTC).isoformat()
        except ValueError:
            pass
    return datetime.now(UTC).isoformat()


def _iso_or_now(value: Any) -> str:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidDeskEventError(f"at: expected an ISO-8601 time (got {value!r})") from None
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).isoformat()
    return datetime.now(UTC).isoformat()
