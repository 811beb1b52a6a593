"""The ``jira`` target talks Jira Cloud REST v3: search/jql, ADF, transitions by name."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_httpserver import HTTPServer, RequestHandler
from ticket_support import CREDENTIALS, INCIDENT_ID, Expect, TargetFactory, basic

from pandabridge.errors import PermanentError
from pandabridge.names import Env
from pandabridge.tickets.jira import adf
from pandabridge.tickets.model import Assignee, TicketDraft, TicketRef, TicketTarget

AUTH = {"Authorization": basic(CREDENTIALS["jira"]["email"], CREDENTIALS["jira"]["api_token"])}
API = "/rest/api/3"
REF = TicketRef(id="10042", key="OPS-42")
ISSUE = f"{API}/issue/10042"
LABEL = f"bigpanda-{INCIDENT_ID}"
TRANSITIONS = {
    "transitions": [
        {"id": "11", "name": "To Do", "to": {"name": "To Do"}},
        {"id": "21", "name": "In Progress", "to": {"name": "In Progress"}},
        {"id": "31", "name": "Done", "to": {"name": "Done"}},
    ]
}


@pytest.fixture
def jira(make_target: TargetFactory) -> TicketTarget:
    return make_target("jira")


@pytest.fixture
def expect(httpserver: HTTPServer) -> Expect:
    """``expect(method, path, ...)``: an ordered request carrying Jira's Basic auth."""

    def register(method: str, path: str, **match: Any) -> RequestHandler:
        return httpserver.expect_ordered_request(path, method=method, headers=AUTH, **match)

    return register


def search_for(incident_label: str) -> dict[str, Any]:
    return {
        "jql": f'project = "OPS" AND labels = "{incident_label}" ORDER BY created ASC',
        "fields": ["status", "summary"],
        "maxResults": 1,
    }


def test_find_searches_the_correlation_label_and_finds_nothing(
    expect: Expect, jira: TicketTarget
) -> None:
    # Given a project without an issue for the incident
    expect("POST", f"{API}/search/jql", json=search_for(LABEL)).respond_with_json(
        {"issues": [], "isLast": True}
    )
    # When the incident is looked up, Then there is none
    assert jira.find(INCIDENT_ID) is None


def test_find_returns_the_existing_issue(expect: Expect, jira: TicketTarget, base_url: str) -> None:
    expect("POST", f"{API}/search/jql", json=search_for(LABEL)).respond_with_json(
        {"issues": [{"id": "10042", "key": "OPS-42", "fields": {"summary": "s"}}]}
    )
    assert jira.find(INCIDENT_ID) == TicketRef(
        id="10042", key="OPS-42", url=f"{base_url}/browse/OPS-42"
    )


def test_create_posts_an_adf_issue_with_priority_and_label(
    expect: Expect, jira: TicketTarget, draft: TicketDraft, base_url: str
) -> None:
    # Given Jira creates issues
    expect(
        "POST",
        f"{API}/issue",
        json={
            "fields": {
                "project": {"key": "OPS"},
                "issuetype": {"name": "Incident"},
                "summary": "BigPanda Incident: P1 - Evyatar-11 - Critical",
                "description": adf(draft.description),
                "priority": {"name": "Highest"},
                "labels": [LABEL],
            }
        },
    ).respond_with_json({"id": "10042", "key": "OPS-42", "self": "x"}, status=201)
    # When the draft is created, Then the new issue comes back by id, key and browse URL
    assert jira.create(draft) == TicketRef(
        id="10042", key="OPS-42", url=f"{base_url}/browse/OPS-42"
    )


def test_update_puts_summary_description_and_priority(
    expect: Expect, jira: TicketTarget, draft: TicketDraft
) -> None:
    expect(
        "PUT",
        ISSUE,
        json={
            "fields": {
                "summary": draft.title,
                "description": adf(draft.description),
                "priority": {"name": "Highest"},
            }
        },
    ).respond_with_data("", status=204)
    jira.update(REF, draft)


def test_comment_posts_an_adf_body(expect: Expect, jira: TicketTarget) -> None:
    expect("POST", f"{ISSUE}/comment", json={"body": adf("Acknowledged")}).respond_with_json(
        {"id": "1"}, status=201
    )
    jira.comment(REF, "Acknowledged")


def status_is(expect: Expect, category: str) -> None:
    """The issue's status answer: category "done", "new" or "indeterminate"."""
    expect("GET", ISSUE, query_string={"fields": "status"}).respond_with_json(
        {"fields": {"status": {"name": category.title(), "statusCategory": {"key": category}}}}
    )


@pytest.mark.parametrize(
    ("action", "category", "transition_id"),
    [("resolve", "new", "31"), ("reopen", "done", "11")],
    ids=["resolve", "reopen"],
)
def test_status_change_takes_the_transition_found_by_name(
    expect: Expect, jira: TicketTarget, action: str, category: str, transition_id: str
) -> None:
    # Given an issue on the other side, whose workflow offers "Done" and "To Do"
    status_is(expect, category)
    expect("GET", f"{ISSUE}/transitions").respond_with_json(TRANSITIONS)
    expect(
        "POST", f"{ISSUE}/transitions", json={"transition": {"id": transition_id}}
    ).respond_with_data("", status=204)
    expect("POST", f"{ISSUE}/comment", json={"body": adf("why")}).respond_with_json({}, 201)
    # When the issue is resolved or reopened, Then that transition is taken and noted
    getattr(jira, action)(REF, "why")


def test_transition_name_matches_case_insensitively(expect: Expect, jira: TicketTarget) -> None:
    status_is(expect, "indeterminate")
    expect("GET", f"{ISSUE}/transitions").respond_with_json(
        {"transitions": [{"id": "41", "name": "DONE"}]}
    )
    expect("POST", f"{ISSUE}/transitions", json={"transition": {"id": "41"}}).respond_with_data(
        "", status=204
    )
    jira.resolve(REF, "")


def test_transition_matches_by_target_status_name(expect: Expect, jira: TicketTarget) -> None:
    status_is(expect, "done")
    expect("GET", f"{ISSUE}/transitions").respond_with_json(
        {"transitions": [{"id": "51", "name": "Reopen issue", "to": {"name": "To Do"}}]}
    )
    expect("POST", f"{ISSUE}/transitions", json={"transition": {"id": "51"}}).respond_with_data(
        "", status=204
    )
    jira.reopen(REF, "")


def test_missing_transition_names_the_setting_and_what_exists(
    expect: Expect, jira: TicketTarget
) -> None:
    # Given an open issue whose workflow has no "Done"
    status_is(expect, "new")
    expect("GET", f"{ISSUE}/transitions").respond_with_json(
        {"transitions": [{"id": "5", "name": "Close"}, {"id": "6", "name": "Escalate"}]}
    )
    # When it is resolved, Then the error says which setting to fix and what is available
    with pytest.raises(PermanentError) as caught:
        jira.resolve(REF, "why")
    assert caught.value.setting == Env.JIRA_RESOLVE_TRANSITION
    assert "'Done'" in caught.value.reason
    assert "Close, Escalate" in caught.value.reason


def test_missing_reopen_transition_names_its_setting(expect: Expect, jira: TicketTarget) -> None:
    status_is(expect, "done")
    expect("GET", f"{ISSUE}/transitions").respond_with_json({"transitions": []})
    with pytest.raises(PermanentError) as caught:
        jira.reopen(REF, "")
    assert caught.value.setting == Env.JIRA_REOPEN_TRANSITION


def test_resolving_an_issue_that_is_already_done_only_adds_the_note(
    expect: Expect, jira: TicketTarget
) -> None:
    status_is(expect, "done")
    expect("POST", f"{ISSUE}/comment", json={"body": adf("why")}).respond_with_json({}, 201)
    jira.resolve(REF, "why")


def test_reopening_an_issue_in_progress_leaves_it_there(expect: Expect, jira: TicketTarget) -> None:
    status_is(expect, "indeterminate")
    jira.reopen(REF, "")


def test_assign_looks_the_user_up_by_email(
    expect: Expect, jira: TicketTarget, assignee: Assignee
) -> None:
    # Given a Jira user with the assignee's e-mail
    expect(
        "GET", f"{API}/user/search", query_string={"query": "Din.Djarin@example.com"}
    ).respond_with_json(
        [
            {"accountId": "other", "emailAddress": "din.djarin@example.com.au"},
            {"accountId": "5b10ac8d", "emailAddress": "din.djarin@example.com", "active": True},
        ]
    )
    expect("PUT", f"{ISSUE}/assignee", json={"accountId": "5b10ac8d"}).respond_with_data(
        "", status=204
    )
    # When the issue is assigned, Then that account gets it
    assert jira.assign(REF, assignee) is True


def test_assign_to_an_unknown_user_changes_nothing(
    expect: Expect, jira: TicketTarget, assignee: Assignee
) -> None:
    expect("GET", f"{API}/user/search").respond_with_json([])
    assert jira.assign(REF, assignee) is False


def test_assign_without_email_changes_nothing(jira: TicketTarget) -> None:
    assert jira.assign(REF, Assignee(user_id="u1", email=None, name="Someone")) is False


def test_unknown_issue_type_names_its_setting(
    expect: Expect, jira: TicketTarget, draft: TicketDraft
) -> None:
    expect("POST", f"{API}/issue").respond_with_json(
        {"errorMessages": [], "errors": {"issuetype": "Specify a valid issue type"}}, status=400
    )
    with pytest.raises(PermanentError) as caught:
        jira.create(draft)
    assert caught.value.setting == Env.JIRA_ISSUE_TYPE


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
