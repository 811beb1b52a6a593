"""The ServiceNow fake plays the business rule of ``desks/servicenow/``: an incident's state,
assignee, comment or work note change is posted with the bearer token, in the body the
desk-events parser reads."""

from __future__ import annotations

import json

import pytest
import urllib3
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from local.fakes.servicenow import ServiceNowFake
from pandabridge.desk_event_auth import Verdict, check
from pandabridge.desk_events import parse_servicenow
from tests.fakes.fakes_support import SNOW_USER

TOKEN = "servicenow-rule-token-0123456789"


@pytest.fixture
def received(snow_fake: ServiceNowFake, httpserver: HTTPServer) -> list[Request]:
    """What the rule posted, with the rule installed; the receiving end answers 200."""
    got: list[Request] = []

    def record(request: Request) -> Response:
        got.append(request)
        return Response("{}", status=200)

    httpserver.expect_request("/desk/snow/events", method="POST").respond_with_handler(record)
    snow_fake.install_rule(httpserver.url_for("/desk/snow/events"), TOKEN, backoff_seconds=0.01)
    snow_fake.tables.add_user("dana.levi", "dana@example.com", name="Dana Levi")
    return got


@pytest.fixture
def incident_id(snow_fake: ServiceNowFake) -> str:
    """An incident ticket sync created, correlated with its BigPanda incident."""
    row = snow_fake.tables.insert(
        "incident",
        {"short_description": "Disk full", "correlation_id": "incident-1"},
        SNOW_USER,
    )
    return row["sys_id"]


def posted(snow_fake: ServiceNowFake, received: list[Request]) -> list[Request]:
    assert snow_fake.rule is not None
    snow_fake.rule.wait()
    return received


def test_an_agents_resolve_with_a_work_note_is_posted_with_the_bearer_token(
    snow_fake: ServiceNowFake, incident_id: str, received: list[Request]
) -> None:
    # Given an incident of ours / When an agent resolves it, with a work note, in one update
    values = {
        "state": "6",
        "close_code": "Solution provided",
        "close_notes": "Restarted",
        "work_notes": "Restarted the disk cleaner",
    }
    snow_fake.act_as(incident_id, values, "dana.levi")
    [request] = posted(snow_fake, received)
    body = request.get_data()
    # Then the rule's token authenticates it
    headers = dict(request.headers.items())
    assert check("servicenow", body, headers, TOKEN, now=0) is Verdict.ALLOWED
    # And it reads as a resolve and a comment by the agent, deduplicated on the update
    changes = parse_servicenow(body, target="snow")
    assert [c.kind for c in changes] == ["resolved", "commented"]
    mod_count = json.loads(body)["sys_mod_count"]
    assert {c.event_id.rsplit(":", 1)[0] for c in changes} == {f"{incident_id}:{mod_count}"}
    assert {c.actor_name for c in changes} == {"Dana Levi"}
    assert changes[0].correlations == ("incident-1",)
    assert changes[1].comment == "Restarted the disk cleaner"


def test_an_update_of_other_fields_posts_nothing(
    snow_fake: ServiceNowFake, incident_id: str, received: list[Request]
) -> None:
    # Given an incident of ours / When only its description changes
    snow_fake.act_as(incident_id, {"short_description": "Disk almost full"}, "dana.levi")
    # Then the rule's condition does not hold, and nothing is posted
    assert posted(snow_fake, received) == []


def test_the_rule_can_be_installed_through_the_control_route(
    snow_fake: ServiceNowFake, incident_id: str, httpserver: HTTPServer
) -> None:
    # Given the rule installed by a person, through the fake's knob
    answer = urllib3.request(
        "POST",
        f"{snow_fake.url.rstrip('/')}/_fake/rule",
        body=json.dumps({"url": httpserver.url_for("/x"), "token": TOKEN}).encode(),
    )
    # Then it is installed
    assert answer.status == 200
    assert snow_fake.rule is not None
