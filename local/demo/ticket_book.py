"""The demo service desk's tickets, in memory: one per idempotency key, each with its history.

It checks requests against the generic ``http`` ticket contract
(``pandabridge.tickets.generic``) strictly, unknown fields included, so that a client that
drifts from the contract fails here rather than against a team's real desk.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from pandabridge.tickets.model import PRIORITIES, TicketStatus

CREATE_FIELDS: Final = frozenset(
    {"incident_id", "title", "description", "priority", "status", "incident_url", "labels"}
)
PATCH_FIELDS: Final = frozenset({"title", "description", "priority", "status", "assignee"})
ASSIGNEE_FIELDS: Final = frozenset({"user_id", "email", "name"})
STATUSES: Final = frozenset(status.value for status in TicketStatus)
_EXCERPT_CHARS: Final = 80
MAX_KEY_CHARS: Final = 255


class InvalidRequestError(ValueError):
    """The request does not fit the contract; the desk answers 400 with this message."""


@dataclass(frozen=True)
class Change:
    """One entry of a ticket's history; the desk's listener gets each as it happens."""

    ticket_id: str
    incident_id: str
    kind: str  # created, updated, assigned, commented, resolved, reopened
    detail: str
    at: datetime

    def view(self) -> dict[str, str]:
        return {"kind": self.kind, "detail": self.detail, "at": _iso(self.at)}


OnChange = Callable[[Change], None]


@dataclass
class _Ticket:
    id: str
    url: str
    key: str
    incident_id: str
    title: str
    description: str
    priority: str
    status: str
    incident_url: str | None
    labels: list[str]
    created_at: datetime
    updated_at: datetime
    assignee: dict[str, str | None] | None = None
    comments: list[dict[str, str]] = field(default_factory=list)
    comment_keys: dict[str, dict[str, str]] = field(default_factory=dict)
    history: list[Change] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "url": self.url, "status": self.status}

    def view(self) -> dict[str, Any]:
        return {
            **self.summary(),
            "incident_id": self.incident_id,
            "title": self.title,
            "description": self.description,
            "priority": self.priority,
            "incident_url": self.incident_url,
            "labels": list(self.labels),
            "assignee": dict(self.assignee) if self.assignee else None,
            "created_at": _iso(self.created_at),
            "updated_at": _iso(self.updated_at),
        }

    def record(self) -> dict[str, Any]:
        """Everything the desk knows about the ticket, for its own page and for tests."""
        return {
            **self.view(),
            "idempotency_key": self.key,
            "comments": [dict(comment) for comment in self.comments],
            "history": [change.view() for change in self.history],
        }


class TicketBook:
    """The tickets, safe to use from the desk's request threads."""

    def __init__(self, url_of: Callable[[str], str], on_change: OnChange | None = None) -> None:
        self._url_of = url_of
        self._on_change = on_change
        # Re-entrant: the listener runs under the lock, so that it sees changes in order.
        self._lock = threading.RLock()
        self._tickets: dict[str, _Ticket] = {}
        self._by_key: dict[str, str] = {}
        self._ids = itertools.count(1)
        self._comment_ids = itertools.count(1)

    def create(self, key: str | None, document: object) -> tuple[dict[str, Any], bool]:
        """The ticket for ``key``, created from ``document`` unless one exists; and whether it
        was created."""
        if not key:
            raise InvalidRequestError("the Idempotency-Key header is required")
        _check_key(key)
        fields = _create_fields(document)
        with self._lock:
            existing = self._by_key.get(key)
            if existing is not None:
                return self._tickets[existing].view(), False
            ticket_id = f"T-{next(self._ids)}"
            now = _now()
            ticket = _Ticket(
                id=ticket_id,
                url=self._url_of(ticket_id),
                key=key,
                created_at=now,
                updated_at=now,
                **fields,
            )
            self._tickets[ticket_id] = ticket
            self._by_key[key] = ticket_id
            self._record(ticket, "created", f"{ticket.priority}, {ticket.status}: {ticket.title}")
            return ticket.view(), True

    def find(self, incident_id: str | None = None) -> list[dict[str, Any]]:
        """Summaries of the tickets of one incident (all tickets if ``None``), oldest first."""
        with self._lock:
            return [
                ticket.summary()
                for ticket in self._tickets.values()
                if incident_id is None or ticket.incident_id == incident_id
            ]

    def find_one(self, ticket_id: str) -> dict[str, Any] | None:
        """One ticket's view; ``None`` if there is no such ticket."""
        with self._lock:
            ticket = self._tickets.get(ticket_id)
            return ticket.view() if ticket else None

    def update(self, ticket_id: str, document: object) -> dict[str, Any] | None:
        """Apply a PATCH; ``None`` if there is no such ticket."""
        fields = _patch_fields(document)
        with self._lock:
            ticket = self._tickets.get(ticket_id)
            if ticket is None:
                return None
            edits = [
                _edit_note(name, getattr(ticket, name), fields[name])
                for name in ("title", "description", "priority")
                if name in fields and fields[name] != getattr(ticket, name)
            ]
            for name in ("title", "description", "priority"):
                if name in fields:
                    setattr(ticket, name, fields[name])
            if edits:
                self._record(ticket, "updated", "; ".join(edits))
            if "assignee" in fields and fields["assignee"] != ticket.assignee:
                ticket.assignee = fields["assignee"]
                self._record(ticket, "assigned", _person(ticket.assignee))
            if "status" in fields and fields["status"] != ticket.status:
                ticket.status = fields["status"]
                kind = "resolved" if ticket.status == TicketStatus.RESOLVED else "reopened"
                self._record(ticket, kind, ticket.title)
            return ticket.view()

    def comment(
        self, ticket_id: str, document: object, key: str | None = None
    ) -> tuple[dict[str, str], bool] | None:
        """Add a comment unless the ticket already has one for ``key`` (the request's
        ``Idempotency-Key``, if any); the comment and whether it was added, ``None`` if there
        is no such ticket."""
        body = _comment_body(document)
        if key is not None:
            _check_key(key)
        with self._lock:
            ticket = self._tickets.get(ticket_id)
            if ticket is None:
                return None
            existing = ticket.comment_keys.get(key) if key is not None else None
            if existing is not None:
                return dict(existing), False
            comment = {"id": f"C-{next(self._comment_ids)}", "body": body, "at": _iso(_now())}
            ticket.comments.append(comment)
            if key is not None:
                ticket.comment_keys[key] = comment
            self._record(ticket, "commented", _excerpt(body))
            return dict(comment), True

    def records(self) -> list[dict[str, Any]]:
        """Every ticket with its comments and history, oldest first."""
        with self._lock:
            return [ticket.record() for ticket in self._tickets.values()]

    def _record(self, ticket: _Ticket, kind: str, detail: str) -> None:
        change = Change(ticket.id, ticket.incident_id, kind, detail, _now())
        ticket.history.append(change)
        ticket.updated_at = change.at
        if self._on_change is not None:
            self._on_change(change)


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _object(document: object, allowed: frozenset[str]) -> Mapping[str, Any]:
    if not isinstance(document, dict):
        raise InvalidRequestError("the body must be a JSON object")
    unknown = sorted(set(document) - allowed)
    if unknown:
        raise InvalidRequestError(f"unknown fields: {', '.join(unknown)}")
    return document


def _text(document: Mapping[str, Any], name: str, *, empty: bool = False) -> str:
    value = document.get(name)
    if not isinstance(value, str) or (not empty and not value.strip()):
        raise InvalidRequestError(f"{name} must be a{'' if empty else ' non-empty'} string")
    return value


def _choice(
    document: Mapping[str, Any], name: str, allowed: frozenset[str] | tuple[str, ...]
) -> str:
    value = document.get(name)
    if value not in allowed:
        raise InvalidRequestError(f"{name} must be one of {', '.join(sorted(allowed))}")
    return str(value)


def _create_fields(document: object) -> dict[str, Any]:
    fields = _object(document, CREATE_FIELDS)
    missing = sorted(CREATE_FIELDS - set(fields))
    if missing:
        raise InvalidRequestError(f"missing fields: {', '.join(missing)}")
    incident_url = fields["incident_url"]
    if incident_url is not None and not isinstance(incident_url, str):
        raise InvalidRequestError("incident_url must be a string or null")
    labels = fields["labels"]
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise InvalidRequestError("labels must be a list of strings")
    return {
        "incident_id": _text(fields, "incident_id"),
        "title": _text(fields, "title"),
        "description": _text(fields, "description", empty=True),
        "priority": _choice(fields, "priority", PRIORITIES),
        "status": _choice(fields, "status", STATUSES),
        "incident_url": incident_url,
        "labels": list(labels),
    }


def _patch_fields(document: object) -> dict[str, Any]:
    fields = _object(document, PATCH_FIELDS)
    checked: dict[str, Any] = {}
    if "title" in fields:
        checked["title"] = _text(fields, "title")
    if "description" in fields:
        checked["description"] = _text(fields, "description", empty=True)
    if "priority" in fields:
        checked["priority"] = _choice(fields, "priority", PRIORITIES)
    if "status" in fields:
        checked["status"] = _choice(fields, "status", STATUSES)
    if "assignee" in fields:
        checked["assignee"] = _assignee(fields["assignee"])
    return checked


def _assignee(value: object) -> dict[str, str | None] | None:
    if value is None:
        return None
    person = _object(value, ASSIGNEE_FIELDS)
    if not all(item is None or isinstance(item, str) for item in person.values()):
        raise InvalidRequestError("assignee fields must be strings or null")
    return {name: person.get(name) for name in sorted(ASSIGNEE_FIELDS)}


def _check_key(key: str) -> None:
    """The contract's keys are printable ASCII: a header cannot carry other text reliably
    (a client library refuses it, or sends Latin-1 bytes that a server reads as it pleases)."""
    if not key or len(key) > MAX_KEY_CHARS or not all(" " <= char <= "~" for char in key):
        raise InvalidRequestError(
            f"the Idempotency-Key must be 1 to {MAX_KEY_CHARS} printable ASCII characters"
        )


def _comment_body(document: object) -> str:
    fields = _object(document, frozenset({"body"}))
    return _text(fields, "body")


def _edit_note(name: str, old: str, new: str) -> str:
    return f"priority {old} -> {new}" if name == "priority" else f"{name} changed"


def _person(assignee: Mapping[str, str | None] | None) -> str:
    if not assignee:
        return "unassigned"
    return assignee.get("name") or assignee.get("email") or assignee.get("user_id") or "someone"


def _excerpt(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= _EXCERPT_CHARS else line[: _EXCERPT_CHARS - 3] + "..."
