"""What a ticket should look like, where it lives, and how a target can fail.

Adapters translate these into one service desk's API; the reconciler never sees HTTP.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Protocol

from pandabridge.errors import StepFailedError


class TicketStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class TicketDraft:
    """The ticket an incident's current state calls for (see ``pandabridge.tickets.mapping``)."""

    incident_id: str
    title: str
    description: str
    priority: str  # one of PRIORITIES; each adapter maps it onto its own scale
    status: TicketStatus
    incident_url: str | None = None
    labels: tuple[str, ...] = ()
    # The target's own fields set on create (a Jira custom field id or a ServiceNow column to
    # its rendered value), read-only; left out of the hash because a value may be a JSON object.
    extra_fields: Mapping[str, Any] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )


PRIORITIES = ("P1", "P2", "P3", "P4", "P5")

# The draft's fields an update may write; the reconciler names the ones that changed.
UPDATABLE_FIELDS: frozenset[str] = frozenset({"title", "description", "priority"})


@dataclass(frozen=True)
class TicketRef:
    """Where the ticket lives in the target: its id and, when the target has one, a URL/key."""

    id: str
    key: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class Assignee:
    user_id: str | None
    email: str | None
    name: str | None


@dataclass
class PartlyCreatedError(StepFailedError):
    """The ticket was created, but without a field the desk refused (a priority its scheme
    lacks, say): ``ref`` is the new ticket, ``step`` names the field (``field:<name>``). The
    create is not repeated; the field is a step that failed alone."""

    ref: TicketRef | None = None


class TicketTarget(Protocol):
    """One service desk. Every call is safe to repeat after a timeout whose outcome is unknown:
    ``create`` carries the incident id as correlation or idempotency key, and ``find`` looks
    the ticket up by it.

    Calls raise ``pandabridge.errors.RetryableError`` for 429, 5xx, timeouts and refused
    connections (with the target's ``Retry-After``), and ``PermanentError`` naming the setting
    to fix for other 4xx (401/403: the credentials secret; 400/404: the project or table).

    ``find_is_consistent`` is False where a just-created ticket may be missing from ``find``
    for a while (Jira's search), so the caller must not trust one empty answer right after a
    create whose outcome it did not see.
    """

    name: str
    supports_assignment: bool
    find_is_consistent: bool

    def find(self, incident_id: str) -> TicketRef | None:
        """The ticket that carries this incident id, if the target has one."""
        ...

    def create(self, draft: TicketDraft) -> TicketRef:
        """A new ticket; ``PartlyCreatedError`` when it exists without a refused field."""
        ...

    def update(
        self, ref: TicketRef, draft: TicketDraft, fields: frozenset[str] = UPDATABLE_FIELDS
    ) -> None:
        """Bring the named ``fields`` (of ``UPDATABLE_FIELDS``) to the draft, and only those:
        a field left out keeps whatever the desk's agents made of it. Not the status."""
        ...

    def comment(
        self,
        ref: TicketRef,
        text: str,
        key: str | None = None,
        *,
        after_unknown_outcome: bool = False,
    ) -> None:
        """Add ``text``. ``key`` identifies the comment for good (the reconciler's
        ``comment_key``); with ``after_unknown_outcome`` an earlier attempt may have been saved
        although its answer never came, so the target first looks for the comment by its key
        (or its text, where the desk keeps no key) and adds nothing if it is there."""
        ...

    def assign(self, ref: TicketRef, assignee: Assignee) -> bool:
        """Assign the ticket; False when the target knows no such user (nothing changed)."""
        ...

    def resolve(self, ref: TicketRef, note: str) -> None: ...

    def reopen(self, ref: TicketRef, note: str) -> TicketRef | None:
        """Open the ticket again; a new ``TicketRef`` when the desk cannot reopen it and the
        incident now lives on a new ticket linked to the old one, else None."""
        ...
