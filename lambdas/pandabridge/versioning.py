"""Which of two deliveries of one incident is newer, and whether two deliveries are the same.

BigPanda documents no sequence number, so the version is the tuple
(``incident.updatedOn``, ``incident.changedOn``, newest ``event_types[].time``), compared in that
order; a missing part sorts below any present one. Two deliveries with the same version but a
different content hash are different updates (a comment, say), so the later one is kept.
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any, NamedTuple

from pandabridge.models import WebhookPayload

Part = int | float | None

_KEY_WIDTH = 20  # digits; MAX_TIMESTAMP in milliseconds, plus one, fits with room to spare

_CANONICAL = json.JSONEncoder(
    sort_keys=True,
    separators=(",", ":"),
    ensure_ascii=False,
    allow_nan=False,
    check_circular=False,
)


class Version(NamedTuple):
    updated_on: Part
    changed_on: Part
    event_time: Part

    @classmethod
    def of(cls, payload: WebhookPayload) -> Version:
        event_times = [e.time for e in payload.event_types or () if e.time is not None]
        return cls(
            payload.incident.updatedOn,
            payload.incident.changedOn,
            max(event_times, default=None),
        )

    @property
    def key(self) -> str:
        """A string that sorts as the version does, for a DynamoDB condition expression.

        Each part becomes fixed-width integer milliseconds plus one, so null (0) sorts first
        and fractional seconds still order correctly.
        """
        return ".".join(_key_part(part) for part in self)

    def as_json(self) -> list[Part]:
        return list(self)


def _key_part(part: Part) -> str:
    if part is None:
        return "0" * _KEY_WIDTH
    millis = int(Decimal(repr(part)) * 1000) + 1
    return f"{millis:0{_KEY_WIDTH}d}"


def canonical_json(document: Any) -> bytes:
    """The body's meaning as bytes: sorted keys, no insignificant white space, UTF-8.

    Raises ``UnicodeEncodeError`` for an unpaired surrogate escape, which no UTF-8 store or
    ticket system could keep, and ``ValueError`` for NaN or infinity, which JSON cannot write.
    A parsed document cannot refer to itself, so the encoder's cycle check is skipped.
    """
    text = _CANONICAL.encode(document)
    return text.encode("utf-8")


def content_hash(canonical: bytes) -> str:
    return hashlib.sha256(canonical).hexdigest()
