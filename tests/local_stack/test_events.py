"""The committed events: the incident story `make run` plays, and the console events around it.

No stack runs here: these read the files as BigPanda's deliveries and the API Gateway console's
events, so a story edited by hand that stops telling one consistent story fails at once.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from events import make_console_events
from local import defaults
from local.demo.story import StoryStep
from pandabridge.parsing import parse_webhook
from pandabridge.versioning import Version

STORY_EVENTS = [
    ("01-new", "incident#new"),
    ("02-severity-update", "incident#updated"),
    ("03-comment", "incident#commented"),
    ("04-assigned", "incident#updated"),
    ("05-resolved", "incident#closed"),
    ("06-reopened", "incident#reopen"),
]


def payload(step: StoryStep) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(step.body)
    return document


def version(step: StoryStep) -> Version:
    return parse_webhook(step.body.decode()).version


def test_the_console_events_are_up_to_date_with_their_bodies() -> None:
    # Given the committed sample and story bodies and their API Gateway console events
    # When the events are rendered again from the bodies
    outdated = make_console_events.stale()
    # Then none differs: run `python -m events.make_console_events` after editing a body
    assert outdated == []


def test_every_console_event_carries_its_body_byte_for_byte() -> None:
    # Given each body file and its console event
    for body, event in make_console_events.bodies():
        # When the event is read
        proxy = json.loads(event.read_text())
        # Then it posts that body to the webhook, as the console's Test button does
        assert (proxy["httpMethod"], proxy["path"]) == ("POST", "/webhook")
        assert proxy["body"] == body.read_text()


def test_the_story_is_one_new_incident(story: list[StoryStep]) -> None:
    # Given the story's steps
    # When their incident ids are read
    ids = {step.incident_id for step in story}
    # Then it is one incident, valid as a webhook, and not the sample's
    sample_id = json.loads(defaults.SAMPLE_EVENT.read_text())["incident"]["id"]
    assert [step.name for step in story] == [name for name, _ in STORY_EVENTS]
    assert len(ids) == 1
    assert None not in ids
    assert ids != {sample_id}


def test_each_step_is_a_newer_version_than_the_one_before(story: list[StoryStep]) -> None:
    # Given the story's steps in order
    # When their versions (updatedOn, changedOn, newest event time) are compared
    versions = [version(step) for step in story]
    # Then every part grows, so each step is stored as an update of the one before
    for older, newer in itertools.pairwise(versions):
        assert all(new > old for old, new in zip(older, newer, strict=True)), (older, newer)


@pytest.mark.parametrize(("name", "event"), STORY_EVENTS)
def test_each_step_names_its_event_type(story: list[StoryStep], name: str, event: str) -> None:
    # Given one step of the story
    (step,) = [step for step in story if step.name == name]
    # When its event types are read
    events = [entry["event"] for entry in payload(step)["event_types"]]
    # Then the first is the trigger BigPanda documents for that change
    assert events[0] == event


def test_the_incident_is_resolved_then_reopened(story: list[StoryStep]) -> None:
    # Given the story's steps
    # When their incident state is read
    states = [
        (p["incident"]["status"], p["incident"]["active"], p["incident"]["endedOn"] is not None)
        for p in map(payload, story)
    ]
    # Then it starts critical, turns warning, is resolved (ok, inactive, ended), and reopens
    assert states[0] == ("Critical", True, False)
    assert states[1][0] == "Warning"
    assert states[4] == ("Ok", False, True)
    assert states[5] == ("Critical", True, False)


def test_only_the_comment_step_carries_a_comment(story: list[StoryStep]) -> None:
    # Given the story's steps
    # When their metadata is read
    comments = [payload(step)["metadata"].get("comment") for step in story]
    # Then the comment step has the sendComments shape, and no other step has a comment
    assert [name for (name, _), c in zip(STORY_EVENTS, comments, strict=True) if c] == [
        "03-comment"
    ]
    assert set(comments[2]) == {"comment", "environment"}


def test_the_assignment_is_carried_from_its_step_on(story: list[StoryStep]) -> None:
    # Given the story's steps
    # When their assignees are read
    assignees = [payload(step)["metadata"].get("assignee") for step in story]
    # Then there is none before the assignment, and the addAssignments shape from it on
    assert assignees[:3] == [None, None, None]
    assert all(set(person) == {"email", "name", "userId"} for person in assignees[3:])
    assert all(payload(step)["metadata"]["assigner"] for step in story[3:])
