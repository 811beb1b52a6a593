"""The desk configuration reaches the desk: a target built from a configuration file's section
creates its tickets where and as the file says (against the Jira fake)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import urllib3

from local.fakes.jira import DEFAULT_API_TOKEN, DEFAULT_EMAIL, JiraFake
from pandabridge.desk_config import single_target
from pandabridge.http import HttpClient
from pandabridge.names import Env
from pandabridge.settings import TicketTargetSettings
from pandabridge.tickets.factory import build_target
from pandabridge.tickets.model import TicketDraft, TicketStatus


@pytest.fixture
def client() -> Iterator[HttpClient]:
    pool = urllib3.PoolManager(retries=False)
    yield HttpClient(timeout_seconds=2.0, pool=pool)
    pool.clear()


def test_the_configured_project_and_issue_type_reach_the_jira_issue(
    jira: JiraFake, client: HttpClient
) -> None:
    # Given a Jira site with a second project, and a configuration that files Bugs there
    jira.add_project("ACME")
    desk = single_target("jira", jira.url, jira={"project": "ACME", "issue_type": "Bug"})
    settings = TicketTargetSettings.model_validate(
        {
            Env.TICKET_TARGET: "jira",
            Env.TICKET_BASE_URL: jira.url,
            Env.TICKET_SECRET_ID: "pandabridge/ticket-credentials",
        }
    )
    credentials = {"email": DEFAULT_EMAIL, "api_token": DEFAULT_API_TOKEN}
    target = build_target(settings, credentials, client, desk=desk)
    draft = TicketDraft(
        incident_id="5555370aabc20a001145d6g9",
        title="Database down",
        description="The primary stopped answering.",
        priority="P2",
        status=TicketStatus.OPEN,
    )
    # When the target creates the incident's ticket
    ref = target.create(draft)
    # Then the issue is in the configured project, created with the configured type
    assert jira.issue(str(ref.key))["key"].startswith("ACME-")
    (created,) = jira.requests_to("POST", "*/issue")
    assert created.body["fields"]["issuetype"] == {"name": "Bug"}
