"""The tables of the ServiceNow stand-in, in memory, with the instance rules that break naive
adapters (from ServiceNow's Table API and incident documentation).

- ``incident``: numbers ``INC0010001`` upward; states 1 New, 2 In Progress, 3 On Hold,
  6 Resolved, 7 Closed, 8 Canceled; ``priority`` derived from impact and urgency by the
  default lookup; ``work_notes`` and ``comments`` are journal fields: writing one appends to
  ``sys_journal_field`` and the field itself always reads empty; ``sys_mod_count`` counts
  updates.
- Resolving (state 6 or 7) needs ``close_code`` and ``close_notes`` (a data policy), and a
  ``close_code`` must be one of ``sys_choice``'s values for ``incident.close_code``:
  ``DataPolicyError`` otherwise.
- A Closed or Canceled incident cannot be reopened: a write of ``state`` is dropped and the
  update still succeeds; any other field but the journal is refused (``AclError``).
- A Resolved incident becomes Closed ``auto_close_seconds`` after it was resolved (checked on
  every access), or when ``close_resolved`` is called.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from local.fakes import encoded_query

# The resolution codes of current releases; "Solved (Permanently)" and "Solved (Work Around)"
# exist only on older instances.
CURRENT_CLOSE_CODES: Final = (
    "Duplicate",
    "Known error",
    "No resolution provided",
    "Resolved by caller",
    "Resolved by change",
    "Resolved by problem",
    "Resolved by request",
    "Solution provided",
    "Workaround provided",
    "User error",
)
STATES: Final = {
    "1": "New",
    "2": "In Progress",
    "3": "On Hold",
    "6": "Resolved",
    "7": "Closed",
    "8": "Canceled",
}
CATEGORIES: Final = {
    "inquiry": "Inquiry / Help",
    "software": "Software",
    "hardware": "Hardware",
    "network": "Network",
    "database": "Database",
}
RESOLVED, CLOSED, CANCELED = "6", "7", "8"
FINAL_STATES: Final = frozenset({CLOSED, CANCELED})
JOURNAL_FIELDS: Final = ("work_notes", "comments")
SYSTEM_FIELDS: Final = (
    "sys_id",
    "sys_created_on",
    "sys_created_by",
    "sys_updated_on",
    "sys_updated_by",
    "sys_mod_count",
)
# The default priority lookup: (impact, urgency) -> priority.
PRIORITY_LOOKUP: Final = {
    ("1", "1"): "1",
    ("1", "2"): "2",
    ("2", "1"): "2",
    ("1", "3"): "3",
    ("2", "2"): "3",
    ("3", "1"): "3",
    ("2", "3"): "4",
    ("3", "2"): "4",
    ("3", "3"): "5",
}


@dataclass(frozen=True)
class Table:
    """A table's fields: ``references`` maps a reference field to the table it points to;
    ``display`` is the field that names a record (its display value)."""

    name: str
    fields: tuple[str, ...]
    display: str
    references: Mapping[str, str]
    choices: tuple[str, ...] = ()

    @property
    def all_fields(self) -> tuple[str, ...]:
        return (*SYSTEM_FIELDS, *self.fields)


TABLES: Final = {
    table.name: table
    for table in (
        Table(
            "incident",
            (
                "number",
                "state",
                "active",
                "correlation_id",
                "correlation_display",
                "short_description",
                "description",
                "priority",
                "impact",
                "urgency",
                "assignment_group",
                "assigned_to",
                "caller_id",
                "category",
                "subcategory",
                "close_code",
                "close_notes",
                "work_notes",
                "comments",
                "parent_incident",
                "resolved_at",
                "closed_at",
            ),
            display="number",
            references={
                "assignment_group": "sys_user_group",
                "assigned_to": "sys_user",
                "caller_id": "sys_user",
                "parent_incident": "incident",
            },
            choices=("state", "close_code", "category"),
        ),
        Table(
            "sys_user",
            ("user_name", "first_name", "last_name", "name", "email", "active"),
            display="name",
            references={},
        ),
        Table("sys_user_group", ("name", "description", "active"), display="name", references={}),
        Table(
            "sys_journal_field",
            ("element", "element_id", "name", "value"),
            display="value",
            references={},
        ),
        Table(
            "sys_choice",
            ("name", "element", "value", "label", "language", "inactive"),
            display="label",
            references={},
        ),
    )
}


class TableError(Exception):
    """A request the instance refuses; ``status``, ``message`` and ``detail`` are its answer."""

    status = 400
    message = "Operation Failed"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class DataPolicyError(TableError):
    status = 403


class AclError(TableError):
    status = 403


class NotFoundError(TableError):
    status = 404
    message = "No Record found"


IncidentRule = Callable[[Mapping[str, str], Mapping[str, str], Mapping[str, str], str], None]


class Tables:
    """Every table's records (``sys_id`` -> field values, all strings), thread-safe."""

    def __init__(
        self,
        *,
        api_user: str,
        close_codes: Sequence[str] = CURRENT_CLOSE_CODES,
        auto_close_seconds: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.RLock()
        self._rows: dict[str, dict[str, dict[str, str]]] = {name: {} for name in TABLES}
        self._resolved_at: dict[str, float] = {}
        self._numbers = itertools.count(10001)
        self._clock = clock
        self.auto_close_seconds = auto_close_seconds
        # The scripts that ``javascript:`` query values made the instance run, in order.
        self.evaluated_scripts: list[str] = []
        self.api_user = api_user
        # Called after each update of an incident, as an "after update" business rule runs:
        # (the record before, after, the fields the update wrote, the user who wrote them).
        self.on_incident_update: IncidentRule | None = None
        self.api_user_sys_id = self.add_user(api_user, f"{api_user}@example.com", name=api_user)
        self._seed_choices(close_codes)

    # The knobs a test or a person turns: users, groups, choices, time.

    def add_user(self, user_name: str, email: str, *, name: str = "", active: bool = True) -> str:
        """A ``sys_user`` (duplicates allowed, as on a real instance); its sys_id."""
        first, _, last = (name or user_name).partition(" ")
        return self._insert_system(
            "sys_user",
            {
                "user_name": user_name,
                "first_name": first,
                "last_name": last,
                "name": name or user_name,
                "email": email,
                "active": _flag(active),
            },
        )

    def add_group(self, name: str, *, active: bool = True) -> str:
        return self._insert_system("sys_user_group", {"name": name, "active": _flag(active)})

    def set_close_codes(self, codes: Iterable[str]) -> None:
        """Replace ``incident.close_code``'s choices, as an instance admin would."""
        with self._lock:
            choices = self._rows["sys_choice"]
            for sys_id in [k for k, row in choices.items() if row["element"] == "close_code"]:
                del choices[sys_id]
            for code in codes:
                self._choice("close_code", code, code)

    def close_resolved(self) -> list[str]:
        """Close every Resolved incident now, as the instance's auto-close job does; the
        sys_ids closed."""
        with self._lock:
            closed = [sys_id for sys_id in self._resolved_at if self._is_resolved(sys_id)]
            for sys_id in closed:
                self._close(sys_id)
            return closed

    # The Table API's operations.

    def table(self, name: str) -> Table:
        table = TABLES.get(name)
        if table is None:
            raise TableError(f"Invalid table {name}")
        return table

    def rows(self, name: str) -> list[dict[str, str]]:
        """Copies of a table's records, oldest first."""
        with self._lock:
            self._auto_close()
            return [dict(row) for row in self._rows[self.table(name).name].values()]

    def query(self, name: str, text: str) -> list[dict[str, str]]:
        table = self.table(name)
        parsed = encoded_query.parse(text, table.all_fields, self._evaluate)
        return [dict(row) for row in parsed.select(self.rows(name))]

    def get(self, name: str, sys_id: str) -> dict[str, str]:
        with self._lock:
            self._auto_close()
            row = self._rows[self.table(name).name].get(sys_id)
            if row is None:
                raise NotFoundError("Record doesn't exist or ACL restricts the record retrieval")
            return dict(row)

    def insert(self, name: str, values: Mapping[str, str], user: str) -> dict[str, str]:
        table = self.table(name)
        with self._lock:
            row = dict.fromkeys(table.all_fields, "")
            if name == "incident":
                row.update(state="1", active="true", impact="3", urgency="3")
                row["number"] = f"INC{next(self._numbers):07d}"
            fields = _known(table, values)
            row.update({k: v for k, v in fields.items() if k not in JOURNAL_FIELDS})
            row.update(self._stamp(user, created=True), sys_mod_count="0")
            if name == "incident":
                self._check_incident(row, None)
            self._rows[name][row["sys_id"]] = row
            self._journal(table, row, fields, user)
            return dict(row)

    def update(self, name: str, sys_id: str, values: Mapping[str, str], user: str) -> dict:
        table = self.table(name)
        with self._lock:
            self._auto_close()
            current = self._rows[name].get(sys_id)
            if current is None:
                raise NotFoundError("Record doesn't exist or ACL restricts the record retrieval")
            fields = _known(table, values)
            if name == "incident" and current["state"] in FINAL_STATES:
                fields = _closed_record_writes(current, fields)
            row = {**current, **{k: v for k, v in fields.items() if k not in JOURNAL_FIELDS}}
            if name == "incident":
                self._check_incident(row, current)
            row.update(self._stamp(user), sys_mod_count=str(int(current["sys_mod_count"]) + 1))
            self._rows[name][sys_id] = row
            self._journal(table, row, fields, user)
            if name == "incident" and self.on_incident_update is not None:
                self.on_incident_update(dict(current), dict(row), dict(fields), user)
            return dict(row)

    def delete(self, name: str, sys_id: str) -> None:
        with self._lock:
            if self._rows[self.table(name).name].pop(sys_id, None) is None:
                raise NotFoundError("Record doesn't exist or ACL restricts the record retrieval")

    def find_by_display(self, name: str, display: str) -> str | None:
        """The sys_id of the first record of ``name`` whose display value is ``display``."""
        table = self.table(name)
        with self._lock:
            for sys_id, row in self._rows[name].items():
                if row.get(table.display) == display:
                    return sys_id
        return None

    def display_of(self, name: str, sys_id: str) -> str:
        with self._lock:
            row = self._rows[name].get(sys_id)
            return row.get(self.table(name).display, "") if row else ""

    def choice_label(self, element: str, value: str) -> str:
        with self._lock:
            for row in self._rows["sys_choice"].values():
                if (row["name"], row["element"], row["value"]) == ("incident", element, value):
                    return row["label"]
        return value

    # Rules.

    def _check_incident(self, row: dict[str, str], before: Mapping[str, str] | None) -> None:
        row["priority"] = PRIORITY_LOOKUP.get((row["impact"], row["urgency"]), row["priority"])
        if row["close_code"] and row["close_code"] not in self._choices("close_code"):
            raise DataPolicyError(
                f"Data Policy Exception: Invalid choice '{row['close_code']}' for Resolution code"
            )
        if row["state"] in (RESOLVED, CLOSED):
            missing = [
                label
                for name, label in (("close_code", "Resolution code"), ("close_notes", "Notes"))
                if not row[name]
            ]
            if missing:
                raise DataPolicyError(
                    "Data Policy Exception: \n  The following fields are mandatory: "
                    + ", ".join(missing)
                )
        was = before["state"] if before else None
        now = _now()
        if row["state"] == RESOLVED and was != RESOLVED:
            row["resolved_at"] = now
            self._resolved_at[row["sys_id"]] = self._clock()
        if row["state"] in FINAL_STATES and was not in FINAL_STATES:
            row["closed_at"], row["active"] = now, "false"

    def _auto_close(self) -> None:
        if self.auto_close_seconds is None:
            return
        deadline = self._clock() - self.auto_close_seconds
        for sys_id, resolved in list(self._resolved_at.items()):
            if resolved <= deadline and self._is_resolved(sys_id):
                self._close(sys_id)

    def _is_resolved(self, sys_id: str) -> bool:
        row = self._rows["incident"].get(sys_id)
        return row is not None and row["state"] == RESOLVED

    def _close(self, sys_id: str) -> None:
        row = self._rows["incident"][sys_id]
        row.update(state=CLOSED, active="false", closed_at=_now())
        row.update(self._stamp("system"), sys_mod_count=str(int(row["sys_mod_count"]) + 1))
        self._resolved_at.pop(sys_id, None)

    def _journal(
        self, table: Table, row: Mapping[str, str], fields: Mapping[str, str], user: str
    ) -> None:
        for element in JOURNAL_FIELDS:
            if table.name == "incident" and fields.get(element):
                entry = {
                    "element": element,
                    "element_id": row["sys_id"],
                    "name": table.name,
                    "value": fields[element],
                }
                self._insert_system("sys_journal_field", entry, user)

    def _evaluate(self, script: str) -> str:
        """What the instance makes of a ``javascript:`` value, for the scripts a query's author
        is likely to try; each is recorded in ``evaluated_scripts``."""
        self.evaluated_scripts.append(script)
        known = {"gs.getUserID()": self.api_user_sys_id, "gs.getUserName()": self.api_user}
        return known.get(script.strip().rstrip(";"), "")

    def _choices(self, element: str) -> set[str]:
        return {
            row["value"]
            for row in self._rows["sys_choice"].values()
            if row["name"] == "incident" and row["element"] == element
        }

    def _seed_choices(self, close_codes: Sequence[str]) -> None:
        for value, label in STATES.items():
            self._choice("state", value, label)
        for value, label in CATEGORIES.items():
            self._choice("category", value, label)
        self.set_close_codes(close_codes)

    def _choice(self, element: str, value: str, label: str) -> None:
        self._insert_system(
            "sys_choice",
            {
                "name": "incident",
                "element": element,
                "value": value,
                "label": label,
                "language": "en",
                "inactive": "false",
            },
        )

    def _insert_system(self, name: str, values: Mapping[str, str], user: str = "admin") -> str:
        with self._lock:
            row = dict.fromkeys(TABLES[name].all_fields, "")
            row.update(values)
            row.update(self._stamp(user, created=True), sys_mod_count="0")
            self._rows[name][row["sys_id"]] = row
            return row["sys_id"]

    @staticmethod
    def _stamp(user: str, *, created: bool = False) -> dict[str, str]:
        now = _now()
        stamp = {"sys_updated_on": now, "sys_updated_by": user}
        if created:
            stamp.update(sys_id=uuid.uuid4().hex, sys_created_on=now, sys_created_by=user)
        return stamp


def _closed_record_writes(current: Mapping[str, str], fields: dict[str, str]) -> dict[str, str]:
    """What a write to a Closed or Canceled incident keeps: the journal; ``state`` is dropped
    without a word (the update answers 200), any other changed field is refused by the ACL."""
    refused = sorted(
        name
        for name, value in fields.items()
        if name != "state" and name not in JOURNAL_FIELDS and current.get(name) != value
    )
    if refused:
        raise AclError(f"ACL Exception Update Failed due to security constraints: {refused[0]}")
    return {name: value for name, value in fields.items() if name in JOURNAL_FIELDS}


def _known(table: Table, values: Mapping[str, Any]) -> dict[str, str]:
    """The writable fields of ``values`` as strings; unknown and system fields are ignored, as
    the Table API ignores them."""
    return {
        name: _text(value)
        for name, value in values.items()
        if name in table.fields and name != "number"
    }


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _flag(value)
    return str(value)


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")
