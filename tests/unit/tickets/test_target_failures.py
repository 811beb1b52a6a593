"""Every target fails the same way: retry later, or a PermanentError naming the setting to fix,
and never with a secret in the message."""

from __future__ import annotations

import re
import time

import pytest
from pytest_httpserver import HTTPServer
from ticket_support import INCIDENT_ID, SECRETS, TargetFactory
from werkzeug import Request, Response

from pandabridge.errors import PermanentError, RetryableError
from pandabridge.http import HttpClient
from pandabridge.names import Env
from pandabridge.tickets.model import TicketDraft

KINDS = ["http", "jira", "servicenow"]
ANY_PATH = re.compile(r".*")
# The setting a 404 on create points at: the project for Jira, the base URL otherwise.
RESOURCE_SETTING = {
    "http": Env.TICKET_BASE_URL,
    "jira": "targets.jira.jira.project",
    "servicenow": Env.TICKET_BASE_URL,
}

pytestmark = pytest.mark.parametrize("kind", KINDS)


def test_rate_limit_is_retryable_after_the_targets_delay(
    httpserver: HTTPServer, make_target: TargetFactory, kind: str
) -> None:
    # Given a target that is rate limiting
    httpserver.expect_request(ANY_PATH).respond_with_data(
        "slow down", status=429, headers={"Retry-After": "30"}
    )
    # When a ticket is looked up, Then the call is retried after the target's delay
    with pytest.raises(RetryableError) as caught:
        make_target(kind).find(INCIDENT_ID)
    assert caught.value.retry_after == 30


def test_unavailable_target_is_retryable(
    httpserver: HTTPServer, make_target: TargetFactory, kind: str
) -> None:
    httpserver.expect_request(ANY_PATH).respond_with_data("maintenance", status=503)
    with pytest.raises(RetryableError, match="answered 503"):
        make_target(kind).find(INCIDENT_ID)


def test_slow_target_is_retryable(
    httpserver: HTTPServer, make_target: TargetFactory, kind: str
) -> None:
    # Given a target slower than the client's timeout
    def slow(_: Request) -> Response:
        time.sleep(0.3)
        return Response("{}", content_type="application/json")

    httpserver.expect_request(ANY_PATH).respond_with_handler(slow)
    target = make_target(kind, client=HttpClient(timeout_seconds=0.05))
    # When a ticket is looked up, Then the call times out and is retried
    with pytest.raises(RetryableError, match="timed out"):
        target.find(INCIDENT_ID)


def test_unreachable_target_is_retryable(
    make_target: TargetFactory, closed_port_url: str, kind: str
) -> None:
    with pytest.raises(RetryableError, match="could not connect"):
        make_target(kind, url=closed_port_url).find(INCIDENT_ID)


def test_rejected_credentials_name_the_secret(
    httpserver: HTTPServer, make_target: TargetFactory, kind: str
) -> None:
    httpserver.expect_request(ANY_PATH).respond_with_json({"error": "denied"}, status=401)
    with pytest.raises(PermanentError) as caught:
        make_target(kind).find(INCIDENT_ID)
    assert (caught.value.setting, caught.value.status) == (Env.TICKET_SECRET_ID, 401)


def test_missing_project_names_the_project_setting(
    httpserver: HTTPServer, make_target: TargetFactory, draft: TicketDraft, kind: str
) -> None:
    httpserver.expect_request(ANY_PATH).respond_with_json({"error": "not found"}, status=404)
    with pytest.raises(PermanentError) as caught:
        make_target(kind).create(draft)
    assert (caught.value.setting, caught.value.status) == (RESOURCE_SETTING[kind], 404)


def test_errors_never_show_a_secret(
    httpserver: HTTPServer, make_target: TargetFactory, kind: str
) -> None:
    # Given a target that echoes everything it was sent, secrets included
    secrets = SECRETS[kind]

    def echo(request: Request) -> Response:
        headers = " ".join(f"{k}: {v}" for k, v in request.headers.items())
        return Response(f"denied {headers} {' '.join(secrets)}", status=401)

    httpserver.expect_request(ANY_PATH).respond_with_handler(echo)
    # When the call fails
    with pytest.raises(PermanentError) as caught:
        make_target(kind).find(INCIDENT_ID)
    # Then neither the credentials nor any header value derived from them appear
    sent = httpserver.log[0][0].headers
    credentials = [sent.get(name, "").split()[-1:] for name in ("Authorization", "X-Signature")]
    leaks = [*secrets, *(value for values in credentials for value in values)]
    message = f"{caught.value} {caught.value!r}"
    assert "denied" in message
    assert [leak for leak in leaks if leak in message] == []
