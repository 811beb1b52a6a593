"""Pydantic models of the Notifications Webhook payload.

BigPanda documents three slightly different incident schemas and its own sample disagrees with
its field table, so the models are lenient where the vendor varies and strict only where the
receiver depends on a value:

- every model keeps unknown fields (``extra="allow"``): the stored payload is the raw body anyway,
  and ticket mappings may use fields we do not know yet;
- ``status`` and ``severity`` are lower-cased, and an unknown value is kept, not rejected;
- ``snooze`` accepts ``end_time`` (field table), ``wake`` (sample) and
  ``cancel_on_incident_updates`` (v2 API);
- tag values are any JSON; timestamps are epoch numbers or null; ``links`` may be an object or a
  bare URL string (the field table calls it a string, the sample sends an object);
- numbers sent where text is expected become text.

Only ``incident.id`` is required, and it must be a non-empty string that shows as it reads
(no control, line-separator or bidi characters: see ``pandabridge.characters``).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any, Final

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from pandabridge.characters import describe, first_unshowable
from pandabridge.names import Limits

RESOLVED_STATUS: Final = "ok"


_TIMESTAMP_EXPECTED: Final = "must be epoch seconds (a number), an ISO-8601 date-time, or null"


def _timestamp(value: Any) -> Any:
    """Epoch seconds as BigPanda sends them: a number, a numeric string, or null.

    An ISO-8601 string (the format of ``relatedChanges[].history[].updated_at``) is read as the
    epoch seconds it denotes, so a field that changes format does not cost the delivery.
    """
    if type(value) is int and 0 <= value < Limits.MAX_TIMESTAMP:
        return value  # the common case, answered before the checks the others need
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{_TIMESTAMP_EXPECTED}, not a boolean")
    if isinstance(value, str):
        value = _timestamp_from_text(value.strip())
    if not isinstance(value, int | float):
        raise ValueError(_TIMESTAMP_EXPECTED)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("must be a finite number")
    if not 0 <= value < Limits.MAX_TIMESTAMP:
        raise ValueError(f"must be between 0 and {Limits.MAX_TIMESTAMP:.0e} (epoch seconds)")
    return value


def _timestamp_from_text(text: str) -> int | float:
    try:
        return float(text) if any(c in text for c in ".eE") else int(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(_TIMESTAMP_EXPECTED) from None
    seconds = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
    return int(seconds) if seconds.is_integer() else seconds


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


Timestamp = Annotated[int | float | None, BeforeValidator(_timestamp)]
Status = Annotated[str | None, BeforeValidator(_lower)]


def _incident_id(value: str) -> str:
    """Not blank, and shown as it reads: the id reaches logs, terminals and tickets."""
    if not value.strip():
        raise ValueError("must not be blank")
    unshowable = first_unshowable(value)
    if unshowable is not None:
        position, char = unshowable
        raise ValueError(f"must not contain {describe(char)} (at position {position})")
    return value


IncidentId = Annotated[
    str,
    Field(strict=True),
    StringConstraints(min_length=1, max_length=Limits.MAX_INCIDENT_ID_LENGTH),
    AfterValidator(_incident_id),
]


class _Lenient(BaseModel):
    """Keeps unknown fields, turns numbers into text where text is expected."""

    model_config = ConfigDict(extra="allow", coerce_numbers_to_str=True, populate_by_name=True)


class Snooze(_Lenient):
    snoozed: bool | None = None
    end_time: Timestamp = None
    wake: Timestamp = None
    autoCancel: bool | None = None  # noqa: N815 - BigPanda's field name
    cancel_on_incident_updates: bool | None = None

    @property
    def wakes_at(self) -> int | float | None:
        """When the snooze ends, whichever of the vendor's two field names carried it."""
        return self.end_time if self.end_time is not None else self.wake

    @property
    def cancels_on_update(self) -> bool | None:
        return self.autoCancel if self.autoCancel is not None else self.cancel_on_incident_updates


class AlertTag(_Lenient):
    name: str | None = None
    value: Any = None


class Alert(_Lenient):
    id: str | None = None
    status: Status = None
    startedOn: Timestamp = None  # noqa: N815
    endedOn: Timestamp = None  # noqa: N815
    changedOn: Timestamp = None  # noqa: N815
    updatedOn: Timestamp = None  # noqa: N815
    active: bool | None = None
    primaryProperty: str | None = None  # noqa: N815
    secondaryProperty: str | None = None  # noqa: N815
    sourceSystem: str | None = None  # noqa: N815
    description: str | None = None
    tags: list[AlertTag] | None = None

    def tag(self, name: str) -> Any:
        """The value of the alert tag ``name``, or None."""
        return next((t.value for t in self.tags or () if t.name == name), None)


class Incident(_Lenient):
    id: IncidentId
    status: Status = None
    severity: Status = None
    active: bool | None = None
    flapping: bool | None = None
    resolved: bool | None = None
    snooze: Snooze | None = None
    startedOn: Timestamp = None  # noqa: N815
    changedOn: Timestamp = None  # noqa: N815
    updatedOn: Timestamp = None  # noqa: N815
    endedOn: Timestamp = None  # noqa: N815
    alerts: list[Alert] | None = None

    @property
    def is_resolved(self) -> bool:
        """Resolved by any of the three signals BigPanda uses."""
        return self.active is False or self.status == RESOLVED_STATUS or self.resolved is True


class Links(_Lenient):
    landingPage: str | None = None  # noqa: N815


class IncidentTag(_Lenient):
    id: str | None = None
    value: Any = None


class ChangeHistory(_Lenient):
    updated_at: str | None = None
    comment: str | None = None
    match_certainty: str | None = None
    match_type: str | None = None
    suggested_by_bigpanda: bool | None = None
    score: float | None = None


class Change(_Lenient):
    id: str | None = None
    identifier: str | None = None
    source_system: str | None = None
    summary: str | None = None
    status: str | None = None
    ticket_url: str | None = None
    maintenance_condition: Any = None
    tags: dict[str, Any] | None = None
    start: Timestamp = None
    end: Timestamp = None


class RelatedChange(_Lenient):
    id: str | None = None
    incident_id: str | None = None
    suggested_by_bigpanda: bool | None = None
    comment: str | None = None
    match_certainty: str | None = None
    match_type: str | None = None
    score: float | None = None
    match_weight_value: float | None = None
    created_at: Timestamp = None
    updated_at: Timestamp = None
    history: list[ChangeHistory] | None = None
    change: Change | None = None


class Person(_Lenient):
    name: str | None = None
    email: str | None = None
    userId: str | None = None  # noqa: N815


class Comment(_Lenient):
    """``metadata.comment`` of the sendComments dataset option."""

    comment: str | None = None
    environment: str | None = None


class Metadata(_Lenient):
    sender: Person | None = None
    environment: str | None = None
    environment_id: str | None = None
    comment: Comment | str | None = None
    assignee: Person | None = None
    assigner: Person | None = None

    @property
    def comment_text(self) -> str | None:
        """The comment, whichever shape it came in."""
        return self.comment.comment if isinstance(self.comment, Comment) else self.comment


class EventType(_Lenient):
    event: str | None = None
    time: Timestamp = None


class WebhookPayload(_Lenient):
    """One Notifications Webhook delivery: an incident share or a sharing update."""

    incident: Incident
    links: Links | str | None = None
    incidentTags: list[IncidentTag] | None = None  # noqa: N815
    relatedChanges: list[RelatedChange] | None = None  # noqa: N815
    metadata: Metadata | None = None
    event_types: list[EventType] | None = None

    @property
    def landing_page(self) -> str | None:
        return self.links.landingPage if isinstance(self.links, Links) else self.links

    def incident_tag(self, tag_id: str) -> Any:
        """The value of the incident tag ``tag_id``, or None."""
        return next((t.value for t in self.incidentTags or () if t.id == tag_id), None)
