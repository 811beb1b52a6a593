"""What the local stack prints shows text from a webhook or a desk escaped: a newline cannot
forge a line, and an escape sequence or a bidi control never reaches the terminal raw."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Final

import pytest

from local.demo.console import Console, configure_logging
from local.demo.inventory import IncidentRow
from local.demo.journey import Journey
from local.demo.status import render
from local.demo.ticket_book import Change
from local.poller import BatchOutcome
from pandabridge.characters import UNSHOWABLE

# A forged journey line after a newline, a screen clear, a line separator and a bidi override.
HOSTILE: Final = {
    "newline": "Eve\n  ok    callback  confirmed for incident INC-1",
    "clear-screen": "see \x1b[2J\x1b[31mthis",
    "line-separator": "one\u2028  ok    ticket    resolved",
    "bidi-override": "INC-\u202e1-txe",
}
ESCAPE: Final = "\x1b"


@pytest.fixture
def screen() -> io.StringIO:
    return io.StringIO()


@pytest.fixture(params=[False, True], ids=["plain", "colour"])
def console(request: pytest.FixtureRequest, screen: io.StringIO) -> Console:
    """A console writing to ``screen``, without and with colour."""
    return Console(screen, colour=request.param)


def _shown_raw(screen: io.StringIO, console: Console) -> list[str]:
    """Characters of the output that the escaping should have replaced: none but the
    console's own colour codes, and one newline per line."""
    text = screen.getvalue()
    if console.colour:
        for code in ("\x1b[0m", "\x1b[1m", "\x1b[2m", "\x1b[31m", "\x1b[32m", "\x1b[33m"):
            text = text.replace(code, "")
    return [char for char in text.replace("\n", "") if UNSHOWABLE.match(char)]


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_an_assignee_name_shows_on_its_own_journey_line_escaped(
    console: Console, screen: io.StringIO, text: str
) -> None:
    # Given a journey, and a desk that assigns a ticket to a hostile name
    change = Change("T-1", "INC-1", "assigned", f"assigned to {text}", datetime.now(UTC))
    # When the journey prints the change
    Journey(console).ticket_changed(change)
    # Then it is one line, with nothing of the name reaching the terminal raw
    assert screen.getvalue().count("\n") == 1
    assert _shown_raw(screen, console) == []


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_failing_comment_shows_escaped_in_the_retry_line(
    console: Console, screen: io.StringIO, text: str
) -> None:
    # Given a ticket-sync batch that failed with a hostile comment in its reason
    record = {"messageId": "m-1", "body": '{"incident_id": "INC-1"}', "attributes": {}}
    outcome = BatchOutcome((record,), frozenset({"m-1"}), f"comment refused: {text}", 0.1)
    # When the journey prints the retry
    Journey(console).batch_done(outcome)
    # Then it is one line, escaped
    assert screen.getvalue().count("\n") == 1
    assert _shown_raw(screen, console) == []


def test_the_escaped_text_says_what_was_there(screen: io.StringIO) -> None:
    # Given a plain console / When a line with each hostile text is printed
    console = Console(screen, colour=False)
    console.ok("ticket", " | ".join(HOSTILE.values()))
    # Then each character shows as its escape
    shown = screen.getvalue()
    assert "Eve\\n  ok" in shown
    assert "see \\u001b[2J\\u001b[31mthis" in shown
    assert "one\\u2028" in shown
    assert "INC-\\u202e1-txe" in shown


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_hostile_incident_id_shows_escaped_in_the_status_table(
    console: Console, screen: io.StringIO, text: str
) -> None:
    # Given an incident row whose id is hostile (an id stored before ingest refused them)
    row = IncidentRow(
        incident_id=text,
        status="critical",
        severity="critical",
        active=True,
        resolved=False,
        alert_count=1,
        updated_on=1_700_000_000,
        version=[1_700_000_000],
        received_at=datetime.now(UTC),
        ticket=None,
    )
    # When the status table is rendered
    render(console, [row], "http://127.0.0.1:5000")
    # Then the header, the row and the summary are three lines, escaped
    assert screen.getvalue().count("\n") == 3
    assert _shown_raw(screen, console) == []


@pytest.fixture
def local_logging(console: Console) -> Iterator[Console]:
    """The local stack's logging sent through ``console``, as it was again afterwards."""
    logger = logging.getLogger("local")
    saved = (logger.handlers[:], logger.level, logger.propagate)
    configure_logging(console, "INFO")
    yield console
    logger.handlers[:], logger.level, logger.propagate = saved


@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_a_log_line_shows_a_hostile_message_escaped(
    local_logging: Console, screen: io.StringIO, text: str
) -> None:
    # Given the local stack's logging sent through the console
    console = local_logging
    # When a log line carries a hostile text
    logging.getLogger("local.test").warning("desk refused %s", text)
    # Then it is one line, escaped
    assert screen.getvalue().count("\n") == 1
    assert _shown_raw(screen, console) == []


def test_the_console_s_own_colour_still_reaches_the_terminal(screen: io.StringIO) -> None:
    # Given a colour console / When a step line is printed
    Console(screen, colour=True).ok("ticket", "created T-1")
    # Then its own codes are there, raw: escaping is for the text it is given
    assert f"{ESCAPE}[32m" in screen.getvalue()


def test_a_payload_shown_escaped_is_still_the_same_json(screen: io.StringIO) -> None:
    # Given a stored payload whose comment holds every hostile text, as `make show` prints it
    payload = {"incident": {"id": "INC-1"}, "metadata": {"comment": list(HOSTILE.values())}}
    text = json.dumps(payload, indent=2, ensure_ascii=False)
    # When the console prints it line by line
    Console(screen, colour=False).print(*text.split("\n"))
    # Then what shows is valid JSON of the same payload, with nothing raw in it
    assert json.loads(screen.getvalue()) == payload
    assert [char for char in screen.getvalue() if char != "\n" and UNSHOWABLE.match(char)] == []
