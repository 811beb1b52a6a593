"""A Jira Cloud site's configuration as data: workflows, priority schemes, users, projects.

Written from Atlassian's REST API v3 reference (OpenAPI document ``swagger-v3.v3.json``) and
developer pages. What a site admin can change per project is a value here, so a test sets up
the desk a customer really has: a classic workflow without "Done", a resolve screen that
requires ``resolution``, a custom priority scheme, users who cannot be assigned.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final

# Jira's three status categories (``statusCategory.key``), with their documented ids.
STATUS_CATEGORIES: Final[dict[str, dict[str, Any]]] = {
    "new": {"id": 2, "key": "new", "name": "To Do", "colorName": "blue-gray"},
    "indeterminate": {
        "id": 4,
        "key": "indeterminate",
        "name": "In Progress",
        "colorName": "yellow",
    },
    "done": {"id": 3, "key": "done", "name": "Done", "colorName": "green"},
}

# Jira's default resolutions.
RESOLUTIONS: Final[tuple[dict[str, str], ...]] = (
    {"id": "10000", "name": "Done"},
    {"id": "10001", "name": "Won't Do"},
    {"id": "10002", "name": "Duplicate"},
    {"id": "10003", "name": "Cannot Reproduce"},
)

# The project permissions ``GET /rest/api/3/mypermissions`` reports, by key.
PERMISSION_NAMES: Final[dict[str, str]] = {
    "BROWSE_PROJECTS": "Browse Projects",
    "CREATE_ISSUES": "Create Issues",
    "EDIT_ISSUES": "Edit Issues",
    "ADD_COMMENTS": "Add Comments",
    "TRANSITION_ISSUES": "Transition Issues",
    "ASSIGN_ISSUES": "Assign Issues",
    "ASSIGNABLE_USER": "Assignable User",
    "RESOLVE_ISSUES": "Resolve Issues",
}


@dataclass(frozen=True)
class Status:
    id: str
    name: str
    category: str  # a key of STATUS_CATEGORIES


@dataclass(frozen=True)
class Transition:
    """A workflow transition. ``sources`` empty means global: from any other status."""

    id: str
    name: str
    to: str
    sources: tuple[str, ...] = ()
    # Fields the transition's screen requires, e.g. ("resolution",).
    required_fields: tuple[str, ...] = ()

    def leaves(self, status: str) -> bool:
        if self.sources:
            return status in self.sources
        return status != self.to


@dataclass(frozen=True)
class Workflow:
    name: str
    statuses: tuple[Status, ...]
    initial: str
    transitions: tuple[Transition, ...]

    def status(self, name: str) -> Status:
        return next(status for status in self.statuses if status.name == name)

    def available(self, current: str) -> list[Transition]:
        """The transitions Jira lists for an issue in ``current``."""
        return [transition for transition in self.transitions if transition.leaves(current)]


# A team-managed project's workflow: global transitions named after their target status.
SIMPLIFIED_WORKFLOW: Final = Workflow(
    name="simplified",
    statuses=(
        Status("10000", "To Do", "new"),
        Status("10001", "In Progress", "indeterminate"),
        Status("10002", "Done", "done"),
    ),
    initial="To Do",
    transitions=(
        Transition("11", "To Do", "To Do"),
        Transition("21", "In Progress", "In Progress"),
        Transition("31", "Done", "Done"),
    ),
)

# Jira's classic default workflow ("jira"): no "Done"; resolving goes through a screen that
# requires a resolution.
CLASSIC_WORKFLOW: Final = Workflow(
    name="classic",
    statuses=(
        Status("1", "Open", "new"),
        Status("3", "In Progress", "indeterminate"),
        Status("4", "Reopened", "new"),
        Status("5", "Resolved", "done"),
        Status("6", "Closed", "done"),
    ),
    initial="Open",
    transitions=(
        Transition("4", "Start Progress", "In Progress", ("Open", "Reopened")),
        Transition("301", "Stop Progress", "Open", ("In Progress",)),
        Transition(
            "5",
            "Resolve Issue",
            "Resolved",
            ("Open", "In Progress", "Reopened"),
            ("resolution",),
        ),
        Transition("2", "Close Issue", "Closed", ("Open", "In Progress", "Reopened", "Resolved")),
        Transition("3", "Reopen Issue", "Reopened", ("Resolved", "Closed")),
    ),
)

WORKFLOWS: Final = {workflow.name: workflow for workflow in (SIMPLIFIED_WORKFLOW, CLASSIC_WORKFLOW)}


@dataclass(frozen=True)
class Priority:
    id: str
    name: str
    color: str


@dataclass(frozen=True)
class PriorityScheme:
    name: str
    priorities: tuple[Priority, ...]
    default: str  # the name of the scheme's default priority

    def find(self, reference: Any) -> Priority | None:
        """The priority a create or edit names as ``{"id": ...}`` or ``{"name": ...}``."""
        if not isinstance(reference, dict):
            return None
        for priority in self.priorities:
            if reference.get("id") == priority.id or reference.get("name") == priority.name:
                return priority
        return None


DEFAULT_PRIORITIES: Final = PriorityScheme(
    name="default",
    priorities=(
        Priority("1", "Highest", "#d04437"),
        Priority("2", "High", "#f15C75"),
        Priority("3", "Medium", "#f79232"),
        Priority("4", "Low", "#707070"),
        Priority("5", "Lowest", "#999999"),
    ),
    default="Medium",
)

# A scheme as many operations teams configure it: the default names are gone.
CUSTOM_PRIORITIES: Final = PriorityScheme(
    name="custom",
    priorities=(
        Priority("10000", "P1 - Critical", "#d04437"),
        Priority("10001", "P2 - High", "#f15C75"),
        Priority("10002", "P3 - Medium", "#f79232"),
        Priority("10003", "P4 - Low", "#707070"),
        Priority("10004", "P5 - Informational", "#999999"),
    ),
    default="P3 - Medium",
)

PRIORITY_SCHEMES: Final = {
    scheme.name: scheme for scheme in (DEFAULT_PRIORITIES, CUSTOM_PRIORITIES)
}


@dataclass(frozen=True)
class User:
    """An Atlassian account as the site sees it."""

    account_id: str
    display_name: str
    email: str
    active: bool = True
    # Holds the project's "Assignable User" permission.
    assignable: bool = True
    # False when the user's profile visibility hides the e-mail address.
    email_visible: bool = True

    def matches(self, query: str) -> bool:
        """Jira's user queries match the start of the display name or the e-mail address."""
        wanted = query.casefold()
        names = [self.display_name.casefold(), *self.display_name.casefold().split()]
        return self.email.casefold().startswith(wanted) or any(
            name.startswith(wanted) for name in names
        )


@dataclass(frozen=True)
class IssueType:
    id: str
    name: str


DEFAULT_ISSUE_TYPES: Final = (
    IssueType("10001", "Task"),
    IssueType("10002", "Bug"),
    IssueType("10003", "Incident"),
)

# The names of the fields a create screen may show, for createmeta and error messages.
FIELD_NAMES: Final[dict[str, str]] = {
    "summary": "Summary",
    "issuetype": "Issue Type",
    "project": "Project",
    "description": "Description",
    "priority": "Priority",
    "labels": "Labels",
    "assignee": "Assignee",
    "components": "Components",
    "duedate": "Due date",
    "environment": "Environment",
}
# Always required by Jira, whatever the screen.
ALWAYS_REQUIRED: Final = ("summary", "issuetype", "project")


@dataclass
class Project:
    """A project and what its admin configured: scheme choices and the create screen."""

    key: str
    id: str
    name: str
    workflow: Workflow = SIMPLIFIED_WORKFLOW
    priorities: PriorityScheme = DEFAULT_PRIORITIES
    issue_types: tuple[IssueType, ...] = DEFAULT_ISSUE_TYPES
    # Fields the create screen requires beyond ALWAYS_REQUIRED, by id (custom fields too).
    required_fields: dict[str, str] = field(default_factory=dict)
    # Permissions the API user lacks in this project.
    denied_permissions: set[str] = field(default_factory=set)

    def issue_type(self, reference: Any) -> IssueType | None:
        if not isinstance(reference, dict):
            return None
        for issue_type in self.issue_types:
            if reference.get("id") == issue_type.id or reference.get("name") == issue_type.name:
                return issue_type
        return None

    def create_fields(self) -> dict[str, str]:
        """The create screen's fields, id to name, required ones included."""
        return {**FIELD_NAMES, **self.required_fields}

    def is_required(self, field_id: str) -> bool:
        return field_id in ALWAYS_REQUIRED or field_id in self.required_fields
