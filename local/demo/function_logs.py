"""The functions' logs on the local stack's console: raw at DEBUG, for a person otherwise.

The handlers log as in Lambda, one Powertools JSON object per line on stdout, about 600
characters each: right for CloudWatch, unreadable between the journey's lines. Below DEBUG the
local stack points their log handler at ``ReadableLines`` instead, which turns each JSON line
into a record of the local stack's own logging (``HH:MM:SS  ingest  error: ...``) and keeps
only errors: the functions' warnings are refusals and retries, which the journey tells
already. The Lambda code is untouched; at ``--log-level DEBUG`` the lines stay exactly as
CloudWatch would get them.
"""

from __future__ import annotations

import io
import json
import logging
from typing import Any, Final

from pandabridge.names import SERVICE_NAME

# Keys every Powertools line carries; the others are what the handler chose to say.
_STANDARD_KEYS: Final = frozenset(
    {
        "level",
        "location",
        "message",
        "timestamp",
        "service",
        "sampling_rate",
        "cold_start",
        "function_name",
        "function_memory_size",
        "function_arn",
        "function_request_id",
        "correlation_id",
        "xray_trace_id",
        "exception_name",
        "stack_trace",
    }
)


class ReadableLines(io.TextIOBase):
    """A stream for the functions' log handler: each JSON line becomes a readable log record
    of ``local.<function>``, if it is at ``threshold`` or above."""

    def __init__(self, threshold: int) -> None:
        super().__init__()
        self._threshold = threshold
        self._partial = ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        lines = (self._partial + text).split("\n")
        self._partial = lines.pop()
        for line in lines:
            if line.strip():
                self._relay(line)
        return len(text)

    def _relay(self, line: str) -> None:
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        if not isinstance(entry, dict):
            logging.getLogger("local.functions").warning("%s", line)
            return
        level = logging.getLevelName(str(entry.get("level", "WARNING")).upper())
        level = level if isinstance(level, int) else logging.WARNING
        if level < self._threshold:
            return
        function = str(entry.get("function_name") or SERVICE_NAME)
        source = function.removeprefix(f"{SERVICE_NAME}-")
        logging.getLogger(f"local.{source}").log(level, "%s", readable(entry))


def readable(entry: dict[str, Any]) -> str:
    """A Powertools log line as a sentence: its message, then what the handler added."""
    extras = {key: value for key, value in entry.items() if key not in _STANDARD_KEYS}
    exception = extras.pop("exception", None)
    text = str(entry.get("message", ""))
    if extras:
        text += " (" + ", ".join(f"{key} {value}" for key, value in extras.items()) + ")"
    if exception:
        text += f": {exception}"
    return text


def route_function_logs(level: str) -> None:
    """Below DEBUG, send the functions' JSON log lines through ``ReadableLines``; call once
    the handlers are imported (their Powertools loggers exist from then on)."""
    if level == "DEBUG":
        return
    threshold = max(logging.ERROR, logging.getLevelName(level))
    for handler in logging.getLogger(SERVICE_NAME).handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(ReadableLines(threshold))
