"""How a BigPanda incident becomes a ticket draft: one mapping shared by every target.

Title, like BigPanda's own ServiceNow integration:
``BigPanda Incident: {priority} - {primary property value of the first alert} - {status}``.
The primary property value is the value of the first alert's tag named by its
``primaryProperty``, else the property name, else "unknown"; the status is the incident's
(capitalised), or "Resolved" once the incident is resolved.

Priority (P1..P5), first match wins:

1. the incident tag named by the target's ``priority_tag`` in the desk configuration, when
   set and present (a list counts by its first element): the numbers 1..5; the strings
   "1".."5", "P1".."P5", "sev1", "priority 1" and the like; or a word from
   ``PRIORITY_WORDS`` (critical, high, medium, low, lowest, ...);
2. otherwise the incident's severity (its status if it has none), by ``SEVERITY_PRIORITY``:
   critical P1, warning P3, unknown P4, ok P5, anything else P3.

A tag value that denotes no priority falls through to the severity. That includes numbers
outside 1..5 such as the ``itd_priority_1: 1000`` of BigPanda's sample, which is an internal
value, not a level: guessing a level from it could file a critical incident as P5.

Description (plain text; the Jira adapter turns it into ADF): a header with the incident id,
status, severity, start time and the BigPanda link (first, so that it survives any cut); then
each alert's primary and secondary property values, status, source system, description and
tags; then the incident tags; then the related changes (identifier, summary, status, ticket
URL). It is capped at ``MAX_DESCRIPTION_CHARS``: incident tags and related changes each get a
bounded share, alerts the rest, and the alerts that do not fit are counted in a
"... N more alerts" line.

Labels: ``correlation_label(incident_id)``, a deterministic label without spaces that the Jira
adapter also searches for.

The summary and description are templates an admin sets in the desk configuration
(``DraftMapping``, from ``targets.<name>.fields``); their defaults render exactly the title and
description above. The target's own create-time fields (Jira ``custom_fields``, ServiceNow
``extra_fields``) are rendered the same way when their value is a string, and passed as
written otherwise (an object or a list, e.g. a Jira select option). Each adapter maps P1..P5
onto its own scale (the configured ``priority_map``, else its default:
``jira.DEFAULT_PRIORITY_MAP``, ``servicenow.IMPACT_URGENCY``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, Final

from pandabridge.models import Alert, RelatedChange, WebhookPayload
from pandabridge.tickets.model import PRIORITIES, TicketDraft, TicketStatus
from pandabridge.tickets.templates import TAG_PREFIX, render

TITLE_PREFIX: Final = "BigPanda Incident"
# Jira's summary limit, the largest title any target accepts; adapters shorten further.
MAX_TITLE_CHARS: Final = 255
# Below Jira's 32,767-character limit for a description or a comment, with room to spare for
# the truncation note; long enough for about a hundred typical alerts.
MAX_DESCRIPTION_CHARS: Final = 30_000
# Incident tags and related changes each get at most this much, so that alerts keep most of
# the description even when an incident carries many tags or changes.
MAX_SECTION_CHARS: Final = 5_000
# One alert (a description of up to 2,048 characters plus properties and tags) is cut here,
# so that one alert with huge tags cannot crowd out all the others.
MAX_ALERT_CHARS: Final = 3_000
# One tag value (any JSON) is cut here.
MAX_VALUE_CHARS: Final = 500

SEVERITY_PRIORITY: Final = {"critical": "P1", "warning": "P3", "unknown": "P4", "ok": "P5"}
DEFAULT_PRIORITY: Final = "P3"
PRIORITY_WORDS: Final = {
    **dict.fromkeys(("critical", "highest", "blocker", "urgent", "emergency"), "P1"),
    **dict.fromkeys(("high", "major"), "P2"),
    **dict.fromkeys(("medium", "moderate", "normal", "warning"), "P3"),
    **dict.fromkeys(("low", "minor"), "P4"),
    **dict.fromkeys(("lowest", "trivial", "info", "informational", "planning"), "P5"),
}
_PRIORITY_LEVEL = re.compile(r"(?:p|priority|sev|severity)?[\s_-]*([1-5])", re.IGNORECASE)

LABEL_PREFIX: Final = "bigpanda-"
# Jira labels: at most 255 characters, no spaces. Keeping to this set also makes a label safe
# to quote in JQL.
MAX_LABEL_CHARS: Final = 255
LABEL_UNSAFE: Final = re.compile(r"[^A-Za-z0-9_.-]")
# A digest replaces ids that had to be altered to fit, so two ids never share a key.
_DIGEST_CHARS: Final = 16

TRUNCATION_NOTE: Final = "[... truncated: {count} more characters]"
_SECTION_BREAK: Final = "\n\n"


DEFAULT_SUMMARY: Final = TITLE_PREFIX + ": {priority} - {primary_property} - {status}"
DEFAULT_DESCRIPTION: Final = "{default_description}"


@dataclass(frozen=True)
class DraftMapping:
    """What an admin configures about the draft: the priority tag and the text templates
    (validated by ``pandabridge.desk_config``; placeholders in ``tickets.templates``)."""

    priority_tag: str | None = None
    summary: str = DEFAULT_SUMMARY
    description: str = DEFAULT_DESCRIPTION
    # The target's own fields set on create (Jira ``custom_fields``, ServiceNow
    # ``extra_fields``): a string is a template, any other JSON value is sent as written.
    extra_fields: Mapping[str, Any] = field(
        default_factory=lambda: MappingProxyType({}), hash=False
    )


def draft_for(
    payload: WebhookPayload,
    *,
    priority_tag: str | None = None,
    mapping: DraftMapping | None = None,
    incident_key: str | None = None,
) -> TicketDraft:
    """The ticket that the incident's current state calls for, by ``mapping`` (today's title
    and description when none); ``priority_tag`` alone is the mapping's tag. ``incident_key``
    is the storage key the ticket is correlated by (``pandabridge.identity``; BigPanda's id,
    as for the default integration, when none): the key the desk is searched for."""
    mapping = mapping or DraftMapping(priority_tag=priority_tag)
    incident = payload.incident
    correlation = incident_key or incident.id
    priority = priority_for(payload, priority_tag=mapping.priority_tag)
    values = _Placeholders(payload, priority)
    return TicketDraft(
        incident_id=correlation,
        title=shorten(render(mapping.summary, values), MAX_TITLE_CHARS),
        description=truncate(render(mapping.description, values), MAX_DESCRIPTION_CHARS),
        priority=priority,
        status=TicketStatus.RESOLVED if incident.is_resolved else TicketStatus.OPEN,
        incident_url=payload.landing_page,
        labels=(correlation_label(correlation),),
        extra_fields=MappingProxyType(
            {
                name: render(value, values) if isinstance(value, str) else value
                for name, value in mapping.extra_fields.items()
            }
        ),
    )


@dataclass(frozen=True)
class _Placeholders:
    """The value of each template placeholder (``tickets.templates.PLACEHOLDERS``) for one
    incident, computed only when a template uses it."""

    payload: WebhookPayload
    priority: str

    def __call__(self, name: str) -> str:
        if name.startswith(TAG_PREFIX):
            value = self.payload.incident_tag(name.removeprefix(TAG_PREFIX).strip())
            return "" if value is None else _text(value)
        return str(getattr(self, f"_{name}")())

    def _incident_id(self) -> str:
        return self.payload.incident.id

    def _priority(self) -> str:
        return self.priority

    def _primary_property(self) -> str:
        return _primary_value(self.payload.incident.alerts)

    def _status(self) -> str:
        return _status(self.payload)

    def _severity(self) -> str:
        return (self.payload.incident.severity or "").capitalize()

    def _environment(self) -> str:
        value = self.payload.incident_tag("environment")
        alerts = self.payload.incident.alerts or []
        if value is None and alerts:
            value = alerts[0].tag("environment")
        return "" if value is None else _text(value)

    def _incident_url(self) -> str:
        return self.payload.landing_page or ""

    def _alert_count(self) -> int:
        return len(self.payload.incident.alerts or [])

    def _tags(self) -> str:
        tags = self.payload.incidentTags or ()
        return "; ".join(f"{t.id}={_text(t.value)}" for t in tags if t.id)

    def _alerts(self) -> str:
        alerts = self.payload.incident.alerts or []
        return "\n".join(
            _alert_block(number, alert).partition("\n")[0]
            + (f" ({alert.status.capitalize()})" if alert.status else "")
            for number, alert in enumerate(alerts, start=1)
        )

    def _default_description(self) -> str:
        return describe(self.payload)


def priority_for(payload: WebhookPayload, *, priority_tag: str | None) -> str:
    """P1..P5 from the priority tag if it denotes one, else from the severity."""
    if priority_tag:
        level = priority_from_value(payload.incident_tag(priority_tag))
        if level:
            return level
    severity = payload.incident.severity or payload.incident.status
    return SEVERITY_PRIORITY.get(severity or "", DEFAULT_PRIORITY)


def priority_from_value(value: Any) -> str | None:
    """The priority an incident tag value denotes, or None if it denotes none."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return f"P{int(value)}" if value in range(1, len(PRIORITIES) + 1) else None
    text = str(value).strip().lower()
    match = _PRIORITY_LEVEL.fullmatch(text)
    if match:
        return f"P{match.group(1)}"
    return PRIORITY_WORDS.get(text)


def correlation_label(incident_id: str) -> str:
    """The label that marks a ticket as this incident's: ``bigpanda-<id>`` for ids made of
    letters, digits, ``_``, ``.`` and ``-`` (BigPanda's are hex), else a safe prefix of the id
    plus a digest of it, within Jira's 255 characters."""
    return correlation_key(
        incident_id, max_chars=MAX_LABEL_CHARS, unsafe=LABEL_UNSAFE, prefix=LABEL_PREFIX
    )


def correlation_key(
    incident_id: str, *, max_chars: int, unsafe: re.Pattern[str], prefix: str = ""
) -> str:
    """``prefix + incident_id`` when that fits ``max_chars`` and has no ``unsafe`` character;
    otherwise the prefix, the id with unsafe characters replaced and cut to fit, and a digest
    of the original id, so that distinct ids keep distinct keys."""
    safe = unsafe.sub("_", incident_id)
    if safe == incident_id and len(prefix) + len(safe) <= max_chars:
        return prefix + safe
    digest = hashlib.sha256(incident_id.encode()).hexdigest()[:_DIGEST_CHARS]
    room = max_chars - len(prefix) - len(digest) - 1
    return f"{prefix}{safe[:room]}-{digest}"


def shorten(text: str, limit: int) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis if needed."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def truncate(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, at a line break when there is one in the
    last quarter, and ending in a note that says how much was cut."""
    if len(text) <= limit:
        return text
    note = TRUNCATION_NOTE.format(count=len(text))  # longest the note can be
    keep = text[: max(0, limit - len(note) - 1)]
    cut = keep.rfind("\n")
    if cut >= len(keep) * 3 // 4:
        keep = keep[:cut]
    return f"{keep}\n{TRUNCATION_NOTE.format(count=len(text) - len(keep))}"[:limit]


def describe(payload: WebhookPayload, *, max_chars: int = MAX_DESCRIPTION_CHARS) -> str:
    """The plain-text description (see the module docstring), at most ``max_chars`` long."""
    header = _header(payload)
    tags = _section("Incident tags", _incident_tag_lines(payload), "incident tags")
    changes = _section(
        "Related changes", [_change_line(c) for c in payload.relatedChanges or ()], "changes"
    )
    # The alerts get what the other sections and the blank lines between all four leave.
    room = max_chars - len(header) - len(tags) - len(changes) - 3 * len(_SECTION_BREAK)
    alerts = _alerts_section(payload.incident.alerts or [], room)
    text = _SECTION_BREAK.join(part for part in (header, alerts, tags, changes) if part)
    return truncate(text, max_chars)


def _header(payload: WebhookPayload) -> str:
    incident = payload.incident
    lines = [f"BigPanda incident {incident.id}"]
    lines.append(f"Status: {_status(payload)}")
    if incident.severity:
        lines.append(f"Severity: {incident.severity.capitalize()}")
    if incident.startedOn is not None:
        lines.append(f"Started: {_time(incident.startedOn)}")
    if payload.landing_page:
        lines.append(f"Incident link: {payload.landing_page}")
    return "\n".join(lines)


def _alerts_section(alerts: Sequence[Alert], room: int) -> str:
    if not alerts:
        return ""
    title = f"Alerts ({len(alerts)}):"
    blocks: list[str] = []
    used = len(title)
    for number, alert in enumerate(alerts, start=1):
        block = truncate(_alert_block(number, alert), MAX_ALERT_CHARS)
        rest = len(alerts) - number
        gap = len(_SECTION_BREAK)
        reserve = len(_more(rest, "alerts")) + gap if rest else 0
        if used + gap + len(block) + reserve > room:
            blocks.append(_more(len(alerts) - number + 1, "alerts"))
            break
        blocks.append(block)
        used += gap + len(block)
    return _SECTION_BREAK.join([title, *blocks])


def _alert_block(number: int, alert: Alert) -> str:
    properties = [
        f"{name}: {_text(alert.tag(name)) if alert.tag(name) is not None else 'unknown'}"
        for name in (alert.primaryProperty, alert.secondaryProperty)
        if name
    ]
    lines = [f"[{number}] " + (" | ".join(properties) or f"alert {alert.id or ''}".strip())]
    if alert.status:
        lines.append(f"Status: {alert.status.capitalize()}")
    if alert.sourceSystem:
        lines.append(f"Source system: {alert.sourceSystem}")
    if alert.description:
        lines.append(f"Description: {alert.description}")
    tags = [f"{t.name}={_text(t.value)}" for t in alert.tags or () if t.name]
    if tags:
        lines.append("Tags: " + "; ".join(tags))
    return "\n".join(lines)


def _incident_tag_lines(payload: WebhookPayload) -> list[str]:
    return [f"- {t.id}: {_text(t.value)}" for t in payload.incidentTags or () if t.id]


def _change_line(related: RelatedChange) -> str:
    change = related.change
    if change is None:
        return f"- {related.id or 'unidentified change'}"
    line = f"- {change.identifier or change.id or 'unidentified change'}"
    if change.summary:
        line += f": {change.summary}"
    if change.status:
        line += f" (status: {change.status})"
    if change.ticket_url:
        line += f" {change.ticket_url}"
    return line


def _section(title: str, lines: Iterable[str], noun: str) -> str:
    """A titled list bounded by ``MAX_SECTION_CHARS``; lines that do not fit are counted."""
    entries = list(lines)
    if not entries:
        return ""
    kept = [f"{title}:"]
    used = len(kept[0])
    for index, line in enumerate(entries):
        entry = shorten(line, MAX_VALUE_CHARS * 2)
        reserve = len(_more(len(entries), noun)) + 1
        if used + len(entry) + 1 + reserve > MAX_SECTION_CHARS:
            kept.append(_more(len(entries) - index, noun))
            break
        kept.append(entry)
        used += len(entry) + 1
    return "\n".join(kept)


def _more(count: int, noun: str) -> str:
    return f"... {count} more {noun}"


def _primary_value(alerts: Sequence[Alert] | None) -> str:
    if not alerts:
        return "unknown"
    first = alerts[0]
    if not first.primaryProperty:
        return "unknown"
    value = first.tag(first.primaryProperty)
    return _text(value) if value is not None else first.primaryProperty


def _status(payload: WebhookPayload) -> str:
    if payload.incident.is_resolved:
        return "Resolved"
    return (payload.incident.status or "unknown").capitalize()


def _text(value: Any) -> str:
    """A tag value (any JSON) as short, single-line text."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return shorten(text, MAX_VALUE_CHARS)


def _time(epoch: float) -> str:
    """Epoch seconds as a UTC time; a value beyond the calendar (e.g. milliseconds sent as
    seconds, which validation lets through) is shown as the number it is."""
    try:
        return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, ValueError, OSError):
        return f"{epoch} (epoch)"
