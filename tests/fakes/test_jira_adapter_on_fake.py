"""Today's Jira adapter against the Jira fake, on set-ups real customers have.

Each test states the right desk state and is expected to fail today for the named defect
(strict: it turns into a failure once the defect is fixed, so the mark must then go).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import urllib3

from local.fakes.jira import DEFAULT_API_TOKEN, DEFAULT_EMAIL, JiraFake
from local.fakes.jira_catalog import User
from pandabridge.desk_config import single_target
from pandabridge.errors import PermanentError, RetryableError
from pandabridge.http import HttpClient
from pandabridge.names import Env
from pandabridge.settings import TicketTargetSettings
from pandabridge.tickets.factory import build_target
from pandabridge.tickets.model import Assignee, TicketDraft, TicketStatus, TicketTarget

TIMEOUT_SECONDS = 0.3
# Longer than the client waits: the desk saves the call, the client sees a timeout.
SLOW_SECONDS = 0.6


@pytest.fixture
def target(jira: JiraFake) -> Iterator[TicketTarget]:
    """The adapter as the factory builds it, with the stack's default settings."""
    settings = TicketTargetSettings.model_validate(
        {
            Env.TICKET_TARGET: "jira",
            Env.TICKET_BASE_URL: jira.url,
            Env.TICKET_SECRET_ID: "pandabridge/ticket-credentials",
        }
    )
    desk = single_target(
        "jira", jira.url, jira={"project": "OPS", "issue_type": "Incident"}
    ).selected
    pool = urllib3.PoolManager(retries=False)
    credentials = {"email": DEFAULT_EMAIL, "api_token": DEFAULT_API_TOKEN}
    yield build_target(
        settings, credentials, HttpClient(timeout_seconds=TIMEOUT_SECONDS, pool=pool), desk=desk
    )
    pool.clear()


@pytest.fixture
def draft() -> TicketDraft:
    return TicketDraft(
        incident_id="5555370aabc20a001145d6g9",
        title="Database down",
        description="The primary stopped answering.",
        priority="P2",
        status=TicketStatus.OPEN,
    )


@pytest.mark.xfail(
    strict=True,
    raises=PermanentError,
    reason="known defect: the hard-coded Highest..Lowest names are refused by a custom scheme",
)
def test_a_create_on_a_custom_priority_scheme_makes_a_ticket(
    jira: JiraFake, target: TicketTarget, draft: TicketDraft
) -> None:
    # Given a project whose priority scheme is "P1 - Critical".."P5 - Informational"
    jira.configure_project(priorities="custom")
    # When the adapter creates the ticket for a P2 incident
    target.create(draft)
    # Then one issue exists, with the scheme's own P2
    assert [issue["fields"]["priority"]["name"] for issue in jira.issues()] == ["P2 - High"]


@pytest.mark.xfail(
    strict=True,
    raises=PermanentError,
    reason="known defect: a classic workflow has no transition named 'Done'",
)
def test_resolve_on_a_classic_workflow_reaches_a_done_status(
    jira: JiraFake, target: TicketTarget, draft: TicketDraft
) -> None:
    # Given an open issue on the classic workflow ("Resolve Issue" requires a resolution)
    jira.configure_project(workflow="classic")
    ref = target.create(draft)
    # When the adapter resolves it
    target.resolve(ref, "")
    # Then the issue is in a done status, with a resolution
    issue = jira.issue(str(ref.key))
    assert issue["statusCategory"] == "done"
    assert issue["fields"]["resolution"] is not None


@pytest.mark.xfail(
    strict=True,
    raises=PermanentError,
    reason="known defect: /user/search returns a user who cannot be assigned, then the PUT 400s",
)
def test_assign_leaves_the_issue_unassigned_for_a_user_who_cannot_be_assigned(
    jira: JiraFake, target: TicketTarget, draft: TicketDraft
) -> None:
    # Given the incident's assignee is a Jira user without the Assignable User permission
    jira.add_user(User("acc-bo", "Bo-Katan Kryze", "bo@example.com", assignable=False))
    ref = target.create(draft)
    # When the adapter assigns the ticket
    assigned = target.assign(ref, Assignee(user_id="bp-1", email="bo@example.com", name="Bo"))
    # Then it reports no assignment, without trying one Jira must refuse
    assert assigned is False
    assert jira.requests_to("PUT", "*/assignee") == []


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="known defect: a comment saved by Jira whose answer timed out is posted again",
)
def test_a_comment_retried_after_a_timeout_is_on_the_issue_once(
    jira: JiraFake, target: TicketTarget, draft: TicketDraft
) -> None:
    # Given the first comment call is saved by Jira but answers after the client gave up
    ref = target.create(draft)
    jira.slow(SLOW_SECONDS, method="POST", path="*/comment")
    with pytest.raises(RetryableError):
        target.comment(ref, "Incident resolved")
    # When the message is retried
    target.comment(ref, "Incident resolved")
    # Then the issue holds the comment once
    texts = [comment["text"] for comment in jira.issue(str(ref.key))["comments"]]
    assert texts == ["Incident resolved"]
