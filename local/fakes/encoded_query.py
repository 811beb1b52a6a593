"""ServiceNow's encoded queries (``sysparm_query``), read the way an instance reads them.

From the Table API documentation: terms are ``<field><operator><value>`` joined by ``^`` (AND)
and ``^OR`` (OR, binding to the term before it); ``ORDERBY<field>`` and ``ORDERBYDESC<field>``
sort; by default an invalid part (say, an unknown field) is ignored and the rows are chosen by
the valid part alone, so a typo, or a value that smuggles in a ``^``, widens the query instead
of failing it. A value starting with ``javascript:`` is evaluated by the instance (the docs'
own example is ``caller_id=javascript:gs.getUserID()``); the caller supplies that evaluation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

# Longest operators first: ``!=`` before ``=``, ``NOT LIKE`` before ``LIKE``.
OPERATORS: Final = (
    "!=",
    "=",
    "STARTSWITH",
    "ENDSWITH",
    "NOT LIKE",
    "LIKE",
    "ISNOTEMPTY",
    "ISEMPTY",
)
_TERM: Final = re.compile(
    r"^(?P<field>[a-z_][a-z0-9_]*)(?P<op>" + "|".join(re.escape(op) for op in OPERATORS) + r")"
    r"(?P<value>.*)$",
    re.DOTALL,
)
SCRIPT_PREFIX: Final = "javascript:"

Row = Mapping[str, str]
# Turns the script after ``javascript:`` into the value it stands for.
Evaluate = Callable[[str], str]


@dataclass(frozen=True)
class Term:
    field: str
    operator: str
    value: str

    def matches(self, row: Row) -> bool:
        actual = row.get(self.field, "")
        match self.operator:
            case "=":
                return actual == self.value
            case "!=":
                return actual != self.value
            case "STARTSWITH":
                return actual.startswith(self.value)
            case "ENDSWITH":
                return actual.endswith(self.value)
            case "LIKE":
                return self.value in actual
            case "NOT LIKE":
                return self.value not in actual
            case "ISEMPTY":
                return actual == ""
            case _:  # ISNOTEMPTY
                return actual != ""


@dataclass
class Query:
    """AND of groups, each an OR of terms; an empty group (all its terms ignored) is true."""

    groups: list[list[Term]] = field(default_factory=list)
    order: list[tuple[str, bool]] = field(default_factory=list)  # (field, descending)
    ignored: list[str] = field(default_factory=list)

    def matches(self, row: Row) -> bool:
        return all(not group or any(term.matches(row) for term in group) for group in self.groups)

    def select(self, rows: Sequence[Row]) -> list[Row]:
        chosen = [row for row in rows if self.matches(row)]
        for name, descending in reversed(self.order):
            chosen.sort(key=lambda row, name=name: row.get(name, ""), reverse=descending)
        return chosen


def parse(text: str, fields: Collection[str], evaluate: Evaluate) -> Query:
    """The query ``text`` over a table with ``fields``; unknown parts are kept in ``ignored``."""
    query = Query()
    for part in text.split("^") if text else []:
        if part.startswith("ORDERBYDESC") or part.startswith("ORDERBY"):
            descending = part.startswith("ORDERBYDESC")
            name = part.removeprefix("ORDERBYDESC" if descending else "ORDERBY")
            if name in fields:
                query.order.append((name, descending))
            else:
                query.ignored.append(part)
            continue
        is_or = part.startswith("OR") and bool(query.groups)
        term = _term(part.removeprefix("OR") if is_or else part, fields, evaluate)
        if term is None:
            query.ignored.append(part)
            if not is_or:
                query.groups.append([])
            continue
        if is_or:
            query.groups[-1].append(term)
        else:
            query.groups.append([term])
    return query


def _term(text: str, fields: Collection[str], evaluate: Evaluate) -> Term | None:
    found = _TERM.match(text)
    if found is None or found["field"] not in fields:
        return None
    value = found["value"]
    if value.startswith(SCRIPT_PREFIX):
        value = evaluate(value.removeprefix(SCRIPT_PREFIX))
    return Term(found["field"], found["op"], value)
