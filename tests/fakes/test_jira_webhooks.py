"""The Jira fake's admin webhook: deliveries shaped, signed and retried as Jira Cloud's are,
and read back by the desk-events parser as the changes they carry."""

from __future__ import annotations

import json
from typing import Any

import pytest
import urllib3
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from local.fakes.jira import DEFAULT_API_TOKEN, DEFAULT_EMAIL, JiraFake
from local.fakes.jira_catalog import User
from pandabridge.desk_event_auth import Verdict, check
from pandabridge.desk_events import parse_jira

SECRET = "jira-webhook-secret-0123456789"
AGENT = User("agent-0001", "Dana Levi", "dana@example.com")
API = "/rest/api/3"


@pytest.fixture
def received(httpserver: HTTPServer) -> list[Request]:
    """Every delivery the receiving end got, in order; it answers 200 unless told otherwise."""
    got: list[Request] = []

    def record(request: Request) -> Response:
        got.append(request)
        return Response("{}", status=200)

    httpserver.expect_request("/desk/ops-jira/events", method="POST").respond_with_handler(record)
    return got


@pytest.fixture
def webhook_jira(jira: JiraFake, httpserver: HTTPServer) -> JiraFake:
    """The fake with its webhook pointed at the receiving end, and an agent."""
    jira.register_webhook(httpserver.url_for("/desk/ops-jira/events"), SECRET, backoff_seconds=0.01)
    jira.add_user(AGENT)
    return jira


@pytest.fixture
def issue(webhook_jira: JiraFake) -> str:
    """An issue created through the REST API, labelled as ours."""
    auth = urllib3.make_headers(basic_auth=f"{DEFAULT_EMAIL}:{DEFAULT_API_TOKEN}")
    fields = {
        "project": {"key": "OPS"},
        "issuetype": {"name": "Incident"},
        "summary": "Database down",
        "labels": ["bigpanda-incident-1"],
    }
    answer = urllib3.request(
        "POST",
        f"{webhook_jira.url.rstrip('/')}{API}/issue",
        body=json.dumps({"fields": fields}).encode(),
        headers={**auth, "Content-Type": "application/json"},
    )
    assert answer.status == 201
    return str(answer.json()["key"])


def delivered(jira: JiraFake, received: list[Request]) -> list[Request]:
    assert jira.webhook.sender is not None
    jira.webhook.sender.wait()
    return received


def headers_of(request: Request) -> dict[str, Any]:
    return dict(request.headers.items())


def test_an_agents_resolve_is_delivered_signed_with_the_secret(
    webhook_jira: JiraFake, issue: str, received: list[Request]
) -> None:
    # Given an issue of ours / When an agent moves it to Done
    webhook_jira.transition_as(issue, "Done", AGENT.account_id)
    [request] = delivered(webhook_jira, received)
    body = request.get_data()
    # Then the delivery carries Jira's headers, and its signature verifies with the secret only
    headers = headers_of(request)
    assert headers["X-Atlassian-Webhook-Identifier"]
    assert headers["X-Hub-Signature"].startswith("sha256=")
    assert check("jira", body, headers, SECRET, now=0) is Verdict.ALLOWED
    assert check("jira", body, headers, "another-secret-0123456789", now=0) is Verdict.FORGED
    # And it reads as a resolve by the agent, with the issue's labels
    [change] = parse_jira(
        body, target="ops-jira", delivery_id=headers["X-Atlassian-Webhook-Identifier"]
    )
    assert (change.kind, change.ticket_key, change.actor) == ("resolved", issue, AGENT.account_id)
    assert change.correlations == ("bigpanda-incident-1",)


def test_a_comment_event_carries_the_text_and_no_labels(
    webhook_jira: JiraFake, issue: str, received: list[Request]
) -> None:
    # Given an issue of ours / When an agent comments on it
    webhook_jira.comment_as(issue, "Restarted the primary", AGENT.account_id)
    [request] = delivered(webhook_jira, received)
    document = json.loads(request.get_data())
    # Then it is a comment_created event whose issue, as in Jira, has no labels
    assert document["webhookEvent"] == "comment_created"
    assert "labels" not in document["issue"]["fields"]
    assert document["comment"]["body"] == "Restarted the primary"
    assert document["comment"]["author"]["accountId"] == AGENT.account_id


def test_our_own_rest_transition_comes_back_as_an_event_by_the_api_user(
    webhook_jira: JiraFake, issue: str, received: list[Request]
) -> None:
    # Given an issue of ours / When the API user (ticket sync) resolves it through REST
    auth = urllib3.make_headers(basic_auth=f"{DEFAULT_EMAIL}:{DEFAULT_API_TOKEN}")
    url = f"{webhook_jira.url.rstrip('/')}{API}/issue/{issue}/transitions"
    answer = urllib3.request(
        "POST",
        url,
        body=json.dumps({"transition": {"id": "31"}}).encode(),
        headers={**auth, "Content-Type": "application/json"},
    )
    assert answer.status == 204
    [request] = delivered(webhook_jira, received)
    # Then Jira tells of it like of any change: the echo the write-back must drop
    document = json.loads(request.get_data())
    assert document["user"]["accountId"] == "api-user-0001"


def test_a_delivery_answered_with_a_5xx_or_429_is_retried_with_the_same_identifier(
    webhook_jira: JiraFake, issue: str, httpserver: HTTPServer
) -> None:
    # Given a receiving end that answers 503, then 429, then 200
    answers = iter([503, 429, 200])
    got: list[Request] = []

    def flaky(request: Request) -> Response:
        got.append(request)
        return Response("{}", status=next(answers))

    httpserver.clear()
    httpserver.expect_request("/desk/ops-jira/events").respond_with_handler(flaky)
    # When an agent resolves the issue
    webhook_jira.transition_as(issue, "Done", AGENT.account_id)
    delivered(webhook_jira, got)
    # Then the one delivery was sent three times, numbered as retries
    assert len({r.headers["X-Atlassian-Webhook-Identifier"] for r in got}) == 1
    assert [r.headers.get("X-Atlassian-Webhook-Retry") for r in got] == [None, "1", "2"]
