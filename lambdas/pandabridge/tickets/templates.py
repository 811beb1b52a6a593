"""Ticket text templates: ``{placeholder}`` over a fixed, documented set of incident values.

A small renderer of its own, not ``str.format``: ``{tag:<name>}`` holds a colon that
``str.format`` would read as a format spec, and an admin's template must never reach
attributes or indexes of Python objects. ``{{`` and ``}}`` stand for literal braces.

An unknown placeholder or an unbalanced brace is refused when the configuration is validated
(``placeholders_of``), so rendering never fails on a template that passed validation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Final

# Each placeholder and what it holds; the README's admin guide lists the same.
PLACEHOLDERS: Final[Mapping[str, str]] = {
    "incident_id": "the BigPanda incident id",
    "priority": "P1..P5, from the priority tag or the severity",
    "primary_property": "the first alert's primary property value",
    "status": "the incident status (Active, Resolved, ...)",
    "severity": "the incident severity (Critical, Warning, ...), empty if none",
    "environment": "the incident tag 'environment', else the first alert's tag, else empty",
    "incident_url": "the link to the incident in BigPanda, empty if none",
    "alert_count": "the number of alerts",
    "tags": "the incident tags as 'name=value; ...'",
    "alerts": "one line per alert: its primary and secondary property values and status",
    "default_description": "the whole default description",
}
TAG_PREFIX: Final = "tag:"

_TOKEN: Final = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


class TemplateError(ValueError):
    """A template names an unknown placeholder or has an unbalanced brace."""


def placeholders_of(template: str) -> tuple[str, ...]:
    """The placeholders ``template`` uses; ``TemplateError`` naming the first bad one."""
    found: list[str] = []
    for match in _TOKEN.finditer(template):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        name = match.group(1)
        if name is None:
            raise TemplateError(
                f"unbalanced {token!r} at character {match.start() + 1}; write {token * 2} "
                "for a literal brace"
            )
        if not _known(name):
            known = ", ".join(f"{{{key}}}" for key in PLACEHOLDERS)
            raise TemplateError(
                f"unknown placeholder {{{name}}}; expected one of {known} or {{tag:<name>}}"
            )
        found.append(name)
    return tuple(found)


def render(template: str, value_of: Callable[[str], str]) -> str:
    """``template`` with each placeholder replaced by ``value_of(name)``; it must have passed
    ``placeholders_of``. Only the placeholders used are computed."""

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        return value_of(match.group(1))

    return _TOKEN.sub(replace, template)


def _known(name: str) -> bool:
    if name.startswith(TAG_PREFIX):
        return bool(name.removeprefix(TAG_PREFIX).strip())
    return name in PLACEHOLDERS
