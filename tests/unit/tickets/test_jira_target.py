"""What only a scripted server shows of the ``jira`` target: transition names as other sites
spell them, and the ADF it writes. The behaviour on real set-ups is tested against the Jira
fake (tests/fakes/test_jira_adapter_on_fake.py)."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_httpserver import HTTPServer, RequestHandler
from ticket_support import CREDENTIALS, Expect, TargetFactory, basic

from pandabridge.tickets.jira import adf
from pandabridge.tickets.model import Assignee, TicketRef, TicketTarget

AUTH = {"Authorization": basic(CREDENTIALS["jira"]["email"], CREDENTIALS["jira"]["api_token"])}
API = "/rest/api/3"
REF = TicketRef(id="10042", key="OPS-42")
ISSUE = f"{API}/issue/10042"


@pytest.fixture
def jira(make_target: TargetFactory) -> TicketTarget:
    return make_target("jira")


@pytest.fixture
def expect(httpserver: HTTPServer) -> Expect:
    """``expect(method, path, ...)``: an ordered request carrying Jira's Basic auth."""

    def register(method: str, path: str, **match: Any) -> RequestHandler:
        return httpserver.expect_ordered_request(path, method=method, headers=AUTH, **match)

    return register


def status_is(expect: Expect, category: str) -> None:
    """The issue's status answer: category "done", "new" or "indeterminate"."""
    expect("GET", ISSUE, query_string={"fields": "status"}).respond_with_json(
        {"fields": {"status": {"name": category.title(), "statusCategory": {"key": category}}}}
    )


def test_transition_name_matches_case_insensitively(expect: Expect, jira: TicketTarget) -> None:
    # Given an issue in progress whose workflow spells its transition "DONE"
    status_is(expect, "indeterminate")
    expect("GET", f"{ISSUE}/transitions").respond_with_json(
        {"transitions": [{"id": "41", "name": "DONE"}]}
    )
    # When it is resolved, Then that transition is taken
    expect("POST", f"{ISSUE}/transitions", json={"transition": {"id": "41"}}).respond_with_data(
        "", status=204
    )
    jira.resolve(REF, "")


def test_transition_matches_by_target_status_name(expect: Expect, jira: TicketTarget) -> None:
    # Given a done issue whose only transition has another name but leads to "To Do"
    status_is(expect, "done")
    expect("GET", f"{ISSUE}/transitions").respond_with_json(
        {"transitions": [{"id": "51", "name": "Back to queue", "to": {"name": "To Do"}}]}
    )
    # When it is reopened, Then that transition is taken
    expect("POST", f"{ISSUE}/transitions", json={"transition": {"id": "51"}}).respond_with_data(
        "", status=204
    )
    jira.reopen(REF, "")


def test_assign_without_email_changes_nothing(jira: TicketTarget) -> None:
    assert jira.assign(REF, Assignee(user_id="u1", email=None, name="Someone")) is False


def test_search_is_not_trusted_to_be_consistent(jira: TicketTarget) -> None:
    assert (jira.name, jira.find_is_consistent, jira.supports_assignment) == ("jira", False, True)


def test_adf_has_a_paragraph_per_block_and_breaks_between_lines() -> None:
    assert adf("one\ntwo\n\nsee https://x.example/a.") == {
        "type": "doc",
        "version": 1,
        "content": [
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": "one"},
                    {"type": "hardBreak"},
                    {"type": "text", "text": "two"},
                ],
            },
            {
                "type": "paragraph",
                "content": [
                    {"type": "text", "text": "see "},
                    {
                        "type": "text",
                        "text": "https://x.example/a",
                        "marks": [{"type": "link", "attrs": {"href": "https://x.example/a"}}],
                    },
                    {"type": "text", "text": "."},
                ],
            },
        ],
    }


def test_adf_of_empty_text_is_still_a_valid_document() -> None:
    assert adf("  ") == {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": []}],
    }
