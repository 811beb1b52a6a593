"""The functions' Powertools JSON lines, as the local stack's console shows them below DEBUG."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from local.demo.console import Console, configure_logging
from local.demo.function_logs import ReadableLines

# A line as the ingest handler writes it in Lambda (shortened: the context keys stay).
_CONTEXT = {
    "location": "reject:60",
    "timestamp": "2026-12-04 21:02:32,349+0000",
    "service": "bigpanda-webhook",
    "cold_start": False,
    "function_name": "bigpanda-webhook-ingest",
    "function_memory_size": 128,
    "function_arn": "arn:aws:lambda:us-east-1:123456789012:function:bigpanda-webhook-ingest",
    "function_request_id": "1eb36cda-d34b-437c-a3b4-0ac87b2fb785",
    "correlation_id": "01a684de-5793-46c5-9f37-5ec96dbc6b14",
}


@pytest.fixture
def screen() -> Iterator[io.StringIO]:
    """The local stack's logging on a plain console, as it was again afterwards."""
    screen = io.StringIO()
    logger = logging.getLogger("local")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    configure_logging(Console(screen, colour=False), "INFO")
    yield screen
    logger.handlers[:], logger.level, logger.propagate = saved


def _line(level: str, message: str, **extra: object) -> str:
    return json.dumps({"level": level, "message": message, **_CONTEXT, **extra}) + "\n"


def test_an_error_line_becomes_one_readable_line_naming_the_function(screen: io.StringIO) -> None:
    # Given the functions' log stream at the default threshold
    stream = ReadableLines(logging.ERROR)
    # When a function logs an error with a key of its own
    stream.write(_line("ERROR", "desk call failed", status=503))
    # Then the console shows one line: the function, the level, the message and that key only
    [shown] = screen.getvalue().splitlines()
    assert shown.endswith("ingest  error: desk call failed (status 503)")
    assert "{" not in shown


def test_a_warning_under_the_threshold_is_not_shown(screen: io.StringIO) -> None:
    # Given the functions' log stream at the default threshold
    stream = ReadableLines(logging.ERROR)
    # When a function logs a 4xx refusal as a warning (the journey tells it already)
    stream.write(_line("WARNING", "webhook rejected", status=422, reason="incident.id"))
    # Then nothing is shown
    assert screen.getvalue() == ""


def test_a_line_written_in_two_pieces_is_shown_once_whole(screen: io.StringIO) -> None:
    # Given the functions' log stream
    stream = ReadableLines(logging.ERROR)
    line = _line("ERROR", "callback failed")
    # When a line arrives in two writes
    stream.write(line[:20])
    stream.write(line[20:])
    # Then it is shown once, readable
    assert screen.getvalue().count("error: callback failed") == 1
