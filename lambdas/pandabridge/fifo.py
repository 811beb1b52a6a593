"""The one place an incident id becomes an SQS FIFO message group or deduplication id.

SQS takes 1 to 128 characters from ``!`` to ``~`` and refuses the send otherwise; ingest
accepts ids of up to 256 characters of any text. An id within SQS's rule is used as it is, so
groups stay readable; any other becomes the SHA-256 of its UTF-8 bytes, the same on every call
and in every process, so one incident keeps one group.
"""

from __future__ import annotations

import hashlib

from pandabridge.names import Limits


def is_valid_fifo_id(value: str) -> bool:
    """Whether SQS accepts ``value`` as a ``MessageGroupId`` or ``MessageDeduplicationId``."""
    return 1 <= len(value) <= Limits.SQS_FIFO_ID_MAX_CHARS and all("!" <= c <= "~" for c in value)


def fifo_id(incident_id: str) -> str:
    """A message group / deduplication id for an incident that SQS always accepts."""
    if is_valid_fifo_id(incident_id):
        return incident_id
    return hashlib.sha256(incident_id.encode("utf-8", "surrogatepass")).hexdigest()
