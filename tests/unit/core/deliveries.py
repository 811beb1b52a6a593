"""Later versions of a delivery, as BigPanda sends them while an incident changes."""

from __future__ import annotations

import copy
from typing import Any

Payload = dict[str, Any]


def later(payload: Payload, seconds: int = 60, **incident: Any) -> Payload:
    """The next version: ``updatedOn`` moved on, and any incident fields changed."""
    changed = copy.deepcopy(payload)
    changed["incident"]["updatedOn"] += seconds
    changed["incident"].update(incident)
    return changed


def resolved(payload: Payload, seconds: int = 60) -> Payload:
    return later(payload, seconds, status="OK", active=False)


def reactivated(payload: Payload, seconds: int = 120) -> Payload:
    return later(payload, seconds, status="Critical", active=True)


def with_comment(payload: Payload, text: str, seconds: int = 60) -> Payload:
    changed = later(payload, seconds)
    changed["metadata"]["comment"] = {"comment": text, "environment": "All"}
    return changed


def with_assignee(payload: Payload, seconds: int = 60, **person: str) -> Payload:
    changed = later(payload, seconds)
    changed["metadata"]["assignee"] = person
    return changed
