"""The part of JQL the Jira fake understands, and a clear 400 for the rest.

Supported: clauses ``field = value``, ``field != value`` and ``field in (v1, v2)`` joined by
``AND``, on ``project``, ``labels``, ``key`` (``issuekey``), ``status`` and ``statusCategory``;
values bare or quoted ("..." or '...', with backslash escapes); then ``ORDER BY`` ``created``
or ``key``, ``ASC`` or ``DESC``. Anything else is a ``JqlError``, answered as Jira answers a
query it cannot parse, so that a client never gets a silently wider result from the fake.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

FIELDS: Final = frozenset({"project", "labels", "key", "issuekey", "status", "statuscategory"})
ORDER_FIELDS: Final = frozenset({"created", "key"})

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<op>!=|=|\(|\)|,)
      | (?P<word>[^\s=!(),"']+)
    )""",
    re.VERBOSE,
)
_ESCAPE = re.compile(r"\\(.)")

# An issue as the query sees it: field name to the values it holds.
Values = Callable[[str], list[str]]


class JqlError(ValueError):
    """A query the fake (and, for the same text, Jira) cannot run."""


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    quoted: bool = False


@dataclass(frozen=True)
class Clause:
    field: str
    negated: bool
    values: tuple[str, ...]

    def holds(self, values: Values) -> bool:
        held = {value.casefold() for value in values(self.field)}
        hit = any(value.casefold() in held for value in self.values)
        return hit != self.negated


@dataclass(frozen=True)
class Query:
    clauses: tuple[Clause, ...]
    order: tuple[tuple[str, bool], ...]  # (field, descending)

    def matches(self, values: Values) -> bool:
        return all(clause.holds(values) for clause in self.clauses)


def parse(text: str) -> Query:
    tokens = _tokens(text)
    clauses: list[Clause] = []
    order: list[tuple[str, bool]] = []
    position = 0
    while position < len(tokens):
        token = tokens[position]
        if _is_word(token, "order"):
            order, position = _order(tokens, position + 1)
            break
        if clauses:
            if not _is_word(token, "and"):
                raise JqlError(
                    f"Error in the JQL Query: expecting AND or ORDER BY at '{token.text}'"
                )
            position += 1
        clause, position = _clause(tokens, position)
        clauses.append(clause)
    if position < len(tokens):
        raise JqlError(f"Error in the JQL Query: unexpected '{tokens[position].text}'")
    return Query(tuple(clauses), tuple(order))


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise JqlError(f"Error in the JQL Query: cannot read '{text[position:]}'")
        position = match.end()
        if match.group("string") is not None:
            tokens.append(_Token("value", _ESCAPE.sub(r"\1", match.group("string")[1:-1]), True))
        elif match.group("op") is not None:
            tokens.append(_Token("op", match.group("op")))
        else:
            tokens.append(_Token("value", match.group("word")))
    return tokens


def _is_word(token: _Token, word: str) -> bool:
    return token.kind == "value" and not token.quoted and token.text.casefold() == word


def _take(tokens: list[_Token], position: int, what: str) -> _Token:
    if position >= len(tokens):
        raise JqlError(f"Error in the JQL Query: expecting {what} at the end of the query")
    return tokens[position]


def _clause(tokens: list[_Token], position: int) -> tuple[Clause, int]:
    name = _take(tokens, position, "a field").text.casefold()
    if name not in FIELDS:
        raise JqlError(f"Field '{name}' is not supported by this Jira stand-in")
    operator = _take(tokens, position + 1, "an operator")
    if operator.text in ("=", "!="):
        value = _take(tokens, position + 2, "a value")
        if value.kind != "value":
            raise JqlError(f"Error in the JQL Query: expecting a value, not '{value.text}'")
        return Clause(_field(name), operator.text == "!=", (value.text,)), position + 3
    if _is_word(operator, "in"):
        values, position = _list(tokens, position + 2)
        return Clause(_field(name), False, values), position
    raise JqlError(f"Error in the JQL Query: operator '{operator.text}' is not supported")


def _field(name: str) -> str:
    return "key" if name == "issuekey" else name


def _list(tokens: list[_Token], position: int) -> tuple[tuple[str, ...], int]:
    if _take(tokens, position, "(").text != "(":
        raise JqlError("Error in the JQL Query: expecting '(' after IN")
    values: list[str] = []
    position += 1
    while True:
        value = _take(tokens, position, "a value")
        if value.kind != "value":
            raise JqlError(f"Error in the JQL Query: expecting a value, not '{value.text}'")
        values.append(value.text)
        after = _take(tokens, position + 1, "',' or ')'")
        position += 2
        if after.text == ")":
            return tuple(values), position
        if after.text != ",":
            raise JqlError(f"Error in the JQL Query: expecting ',' or ')', not '{after.text}'")


def _order(tokens: list[_Token], position: int) -> tuple[list[tuple[str, bool]], int]:
    if not _is_word(_take(tokens, position, "BY"), "by"):
        raise JqlError("Error in the JQL Query: expecting BY after ORDER")
    order: list[tuple[str, bool]] = []
    position += 1
    while True:
        name = _take(tokens, position, "a field").text.casefold()
        if name not in ORDER_FIELDS:
            raise JqlError(f"Ordering by '{name}' is not supported by this Jira stand-in")
        position += 1
        descending = False
        if position < len(tokens) and tokens[position].text.casefold() in ("asc", "desc"):
            descending = tokens[position].text.casefold() == "desc"
            position += 1
        order.append((name, descending))
        if position < len(tokens) and tokens[position].text == ",":
            position += 1
            continue
        return order, position
