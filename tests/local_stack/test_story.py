"""`make run` plays the incident story: six webhooks of one incident, one ticket, one callback.

The stack plays ``events/story/`` itself at start-up, each step once the one before is synced;
these tests read the outcome from the demo desk, the BigPanda stand-in and the output.
"""

from __future__ import annotations

import json
import re
import signal
import time
from collections.abc import Callable
from typing import Any

import pytest

from local.demo.story import StoryStep
from tests.local_stack.harness import SERVING_MARK, StackProcess


@pytest.fixture(scope="module")
def story_id(story: list[StoryStep]) -> str:
    incident_id = story[0].incident_id
    assert incident_id is not None
    return incident_id


@pytest.fixture(scope="module")
def ticket(story_stack: StackProcess, story_id: str) -> dict[str, Any]:
    """The story's only ticket on the demo desk."""
    tickets = story_stack.desk_tickets(story_id)
    assert len(tickets) == 1, tickets
    return tickets[0]


def status_changes(ticket: dict[str, Any]) -> list[str]:
    return [c["kind"] for c in ticket["history"] if c["kind"] in ("resolved", "reopened")]


def test_the_story_gives_one_ticket_resolved_then_reopened(ticket: dict[str, Any]) -> None:
    # Given a stack that played the story at start-up
    # When its one ticket's history is read
    # Then the ticket was created, resolved, then reopened, in that order, and is open
    assert ticket["history"][0]["kind"] == "created"
    assert status_changes(ticket) == ["resolved", "reopened"]
    assert ticket["status"] == "open"


def test_the_storys_comment_is_on_the_ticket_once(
    ticket: dict[str, Any], story: list[StoryStep]
) -> None:
    # Given the story's one comment (sendComments)
    (comment,) = [
        metadata["comment"]["comment"]
        for metadata in (json.loads(step.body)["metadata"] for step in story)
        if "comment" in metadata
    ]
    # When the ticket's comments are read
    bodies = [entry["body"] for entry in ticket["comments"]]
    # Then it is there exactly once
    assert bodies.count(comment) == 1, bodies


def test_the_storys_assignee_is_the_tickets(ticket: dict[str, Any], story: list[StoryStep]) -> None:
    # Given the assignee that the story's later steps carry (addAssignments)
    assignee = json.loads(story[-1].body)["metadata"]["assignee"]
    # When the ticket is read
    # Then it is assigned to that person
    assert ticket["assignee"] == {
        "user_id": assignee["userId"],
        "email": assignee["email"],
        "name": assignee["name"],
    }


def test_the_story_is_confirmed_to_bigpanda_by_exactly_one_callback(
    story_stack: StackProcess, story_id: str
) -> None:
    # Given a stack that played all six steps of the story
    # When the BigPanda stand-in is asked for the calls about the incident
    records = story_stack.callbacks(story_id)
    # Then there was one, for the new incident, and BigPanda accepted it
    assert [(r["body"]["event_type"], r["status"]) for r in records] == [("incident#new", 200)]


def test_start_up_prints_each_steps_journey_and_the_storys_time(
    story_stack: StackProcess, story_id: str, ticket: dict[str, Any]
) -> None:
    # Given a stack that played the story at start-up
    # When its output up to "serving" is read
    output = story_stack.output
    played = output[: output.index(f"ok   {SERVING_MARK}")]
    # Then each step's answer, its ticket change and one callback are there, and the total time
    assert f"story 1/6  01-new: created incident {story_id}" in played
    assert f"story 6/6  06-reopened: updated incident {story_id}" in played
    # And each step's delivery has one line: the story's, not the journey's too
    assert played.count(f"incident {story_id} version [") == 6
    for change in ("created", "commented", "assigned", "resolved", "reopened"):
        assert f"{change} {ticket['id']} for incident {story_id}" in played
    assert played.count(f"confirmed for incident {story_id}") == 1
    assert re.search(
        rf"story\s+incident {story_id}: ticket {ticket['id']} created, .*reopened", played
    )
    assert re.search(r"\(\d+\.\d\d s in all\)", played)


def test_sigint_while_the_story_plays_stops_the_stack_within_5_seconds(
    start_stack: Callable[..., StackProcess],
) -> None:
    # Given a stack playing the story (the sample skipped, so that it starts at once)
    stack = start_stack("--no-sample", story=True)
    stack.wait_for_output("story 1/6")
    # When it is interrupted
    started = time.monotonic()
    code = stack.stop(signal.SIGINT)
    # Then it stops at once, cleanly, without starting to serve
    assert code == 0, stack.output
    assert time.monotonic() - started < 5, stack.output
    assert "stopped" in stack.output
    assert f"ok   {SERVING_MARK}" not in stack.output
