"""`make run --desk jira|servicenow`: the desk's own events reach POST /desk/local/events
through the local gateway (no API key: the event is verified by the function), and are
stored once, as the deployed stack stores them."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from local import defaults
from local.fakes.jira import DEFAULT_API_TOKEN, DEFAULT_EMAIL, DEFAULT_PROJECT
from local.names import CONTROL_TABLE
from tests.local_stack.harness import StackProcess, aws_client, http_request, serving_stack
from tests.local_stack.test_local_desks import basic

WAIT_SECONDS = 10.0
AGENT = "agent-0001"


def eventually(read: Callable[[], list[Any]], stack: StackProcess, what: str) -> list[Any]:
    deadline = time.monotonic() + WAIT_SECONDS
    while not (found := read()):
        if time.monotonic() > deadline:
            pytest.fail(f"no {what}\noutput:\n{stack.output}")
        time.sleep(0.2)
    return found


def desk_events(stack: StackProcess) -> list[dict[str, Any]]:
    """The desk events the stack stored."""
    items = aws_client("dynamodb", stack.aws_endpoint).scan(
        TableName=CONTROL_TABLE.local_name, ConsistentRead=True
    )["Items"]
    return [i for i in items if i["pk"]["S"] == "desk-event#local"]


@pytest.fixture(scope="module")
def jira_stack() -> Iterator[StackProcess]:
    with serving_stack("--desk", "jira") as running:
        yield running


def test_an_agents_resolve_in_the_jira_fake_is_stored_as_a_desk_event(
    jira_stack: StackProcess,
) -> None:
    # Given the sample's issue in the Jira fake
    search = f"{jira_stack.desk_url}rest/api/3/search/jql?jql=project%3D{DEFAULT_PROJECT}"
    headers = basic(DEFAULT_EMAIL, DEFAULT_API_TOKEN)

    def issues() -> list[Any]:
        return list(http_request("GET", search, headers=headers).json().get("issues", []))

    [issue] = eventually(issues, jira_stack, "issue")
    key = http_request(
        "GET", f"{jira_stack.desk_url}rest/api/3/issue/{issue['id']}", headers=headers
    ).json()["key"]
    # When an agent resolves it in Jira (the fake's webhook posts the signed delivery)
    act = {"issue": key, "status": "Done", "accountId": AGENT}
    answer = http_request("POST", f"{jira_stack.desk_url}_fake/act", body=json.dumps(act).encode())
    assert answer.status == 200
    # Then the stack stored the resolve as a desk event of the sample's incident
    [event] = eventually(lambda: desk_events(jira_stack), jira_stack, "desk event")
    assert (event["kind"]["S"], event["ticket_key"]["S"]) == ("resolved", key)
    assert event["actor"]["S"] == AGENT
    assert "queued_at" in event


def test_an_unsigned_post_to_the_desk_route_is_refused(jira_stack: StackProcess) -> None:
    # Given the local gateway's desk-events route
    url = f"http://{defaults.HOST}:{jira_stack.port}/desk/local/events"
    # When a body is posted without Jira's signature (and without an API key)
    answer = http_request("POST", url, body=b"{}", headers={"Content-Type": "application/json"})
    # Then the function itself refuses it as unauthenticated
    assert answer.status == 401
    assert answer.json()["message"] == "no signature or token"
