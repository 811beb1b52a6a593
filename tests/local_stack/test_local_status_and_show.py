"""`make status` and `make show ID=...` against a running stack, through its moto endpoint only.

They run as the developer runs them, ``python -m local.demo.status`` / ``local.demo.show`` in
a process of their own, against the stack that played the sample and the story.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

from local import defaults
from local.demo.story import StoryStep
from tests.local_stack.harness import TOOL_SECONDS, StackProcess, free_port, run_module

SAMPLE_ID = json.loads(defaults.SAMPLE_EVENT.read_text())["incident"]["id"]
ESCAPE = "\x1b["


@pytest.fixture(scope="module")
def story_id(story: list[StoryStep]) -> str:
    assert story[-1].incident_id is not None
    return story[-1].incident_id


@pytest.fixture(scope="module")
def status(story_stack: StackProcess) -> subprocess.CompletedProcess[str]:
    """`python -m local.demo.status` against the stack, its output piped."""
    return run_module("local.demo.status", "--endpoint-url", story_stack.aws_endpoint)


@pytest.fixture(scope="module")
def show(story_stack: StackProcess, story_id: str) -> subprocess.CompletedProcess[str]:
    """`python -m local.demo.show` of the story's incident, its output piped."""
    return run_module("local.demo.show", story_id, "--endpoint-url", story_stack.aws_endpoint)


def row(output: str, incident_id: str) -> str:
    (line,) = [line for line in output.splitlines() if line.startswith(incident_id)]
    return line


def test_status_lists_each_incident_with_its_ticket_and_callback(
    status: subprocess.CompletedProcess[str], story_id: str
) -> None:
    # Given a stack that played the sample and the story
    # When `local.demo.status` has read its tables
    assert status.returncode == 0, status.stderr
    # Then the story's incident has its final status, its version, an open ticket, and a
    # confirmed callback with its latency
    line = row(status.stdout, story_id)
    assert line.split()[1] == "critical"
    assert "2023-11-26 20:32:16Z" in line  # the reopened step's updatedOn
    assert " open " in line
    assert "confirmed, " in line
    assert " ms after the " in line


def test_status_sorts_incidents_by_receipt_and_prints_plain_text_when_piped(
    status: subprocess.CompletedProcess[str], story_id: str
) -> None:
    # Given `local.demo.status` run with its output piped
    lines = status.stdout.splitlines()
    # When its rows are read
    ids = [line.split()[0] for line in lines[1:-1]]
    # Then the sample, received first, comes before the story, and no colour codes are written
    assert lines[0].split()[:2] == ["INCIDENT", "STATUS"]
    assert ids.index(SAMPLE_ID) < ids.index(story_id)
    assert ESCAPE not in status.stdout
    assert "incidents" in lines[-1]


def test_show_prints_the_summary_and_the_ticket_state(
    show: subprocess.CompletedProcess[str], story_id: str
) -> None:
    # Given the story's incident, stored and synced
    # When `local.demo.show` reads it
    assert show.returncode == 0, show.stderr
    # Then it prints the stored summary and the ticket state
    summary = show.stdout.split("stored payload")[0]
    assert f"incident  {story_id}" in summary
    assert "status    critical, severity critical, active, 3 alerts" in summary
    assert "comments  1 from BigPanda" in summary
    assert "callback  confirmed " in summary


def test_show_prints_the_stored_payload_as_json(
    show: subprocess.CompletedProcess[str], story: list[StoryStep]
) -> None:
    # Given the story's incident, stored at its last step
    # When `local.demo.show` prints it
    payload: Any = json.loads(show.stdout.split("stored payload\n", 1)[1])
    # Then the payload is the last step's, as it was posted
    assert payload == json.loads(story[-1].body)


def test_show_of_an_unknown_incident_exits_1(story_stack: StackProcess) -> None:
    # When `local.demo.show` is asked for an incident the stack never got
    shown = run_module(
        "local.demo.show", "no-such-incident", "--endpoint-url", story_stack.aws_endpoint
    )
    # Then it says so and exits 1
    assert shown.returncode == 1
    assert "no incident no-such-incident" in shown.stderr


def test_status_without_a_running_stack_exits_2() -> None:
    # Given no stack on the endpoint
    endpoint = f"http://{defaults.HOST}:{free_port()}"
    # When `local.demo.status` is run against it
    status = run_module("local.demo.status", "--endpoint-url", endpoint)
    # Then it says that no stack runs there and exits 2
    assert status.returncode == 2
    assert f"no local stack at {endpoint}" in status.stderr


def run_on_terminal(module: str, *args: str, env: dict[str, str]) -> str:
    """``python -m module`` with its standard output on a pseudo-terminal; what it wrote."""
    leader, follower = os.openpty()
    try:
        finished = subprocess.run(  # noqa: S603 - this interpreter, this repository's module
            [sys.executable, "-m", module, *args],
            cwd=defaults.REPO_ROOT,
            env=env,
            stdout=follower,
            stderr=subprocess.PIPE,
            timeout=TOOL_SECONDS,
            check=False,
        )
        os.close(follower)
        follower = -1
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal is closed once everything was read
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        if follower != -1:
            os.close(follower)
        os.close(leader)
    assert finished.returncode == 0, finished.stderr
    return b"".join(chunks).decode()


@pytest.mark.parametrize(
    ("no_color", "coloured"),
    [(None, True), ("1", False), ("", True)],
    ids=["tty", "NO_COLOR", "empty NO_COLOR"],
)
def test_status_is_coloured_on_a_terminal_unless_no_color_is_set(
    story_stack: StackProcess, no_color: str | None, coloured: bool
) -> None:
    # Given a terminal, and NO_COLOR set or not (an empty value counts as unset)
    env = {name: value for name, value in os.environ.items() if name != "NO_COLOR"}
    env["TERM"] = "xterm"
    if no_color is not None:
        env["NO_COLOR"] = no_color
    # When `local.demo.status` writes to it
    output = run_on_terminal(
        "local.demo.status", "--endpoint-url", story_stack.aws_endpoint, env=env
    )
    # Then it is coloured only when NO_COLOR is not set
    assert (ESCAPE in output) is coloured, output
