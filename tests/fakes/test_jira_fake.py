"""The Jira fake behaves as Atlassian's REST API v3 documentation says, over real HTTP.

Each test sets up the desk through the fake's knobs (Given), calls the API as any client
would (When), and checks the documented answer or the desk's state (Then).
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import urllib3

from local.fakes.jira import DEFAULT_API_TOKEN, DEFAULT_EMAIL, JiraFake
from local.fakes.jira_catalog import User
from pandabridge.errors import RetryableError
from pandabridge.http import HttpClient

API = "/rest/api/3"
AUTH = "Basic " + base64.b64encode(f"{DEFAULT_EMAIL}:{DEFAULT_API_TOKEN}".encode()).decode()
# Lags and delays are fractions of a second so the suite stays fast.
LAG_SECONDS = 0.3

Call = Callable[..., urllib3.BaseHTTPResponse]


def adf(text: str) -> dict[str, Any]:
    return {
        "type": "doc",
        "version": 1,
        "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}],
    }


@pytest.fixture
def call(jira: JiraFake) -> Iterator[Call]:
    """``call(method, path, body=None, auth=AUTH)``: one request, the raw answer."""
    pool = urllib3.PoolManager(retries=False, timeout=5)

    def send(
        method: str, path: str, body: Any = None, *, auth: str | None = AUTH
    ) -> urllib3.BaseHTTPResponse:
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = auth
        data = json.dumps(body).encode() if body is not None else None
        return pool.request(method, f"{jira.url.rstrip('/')}{path}", body=data, headers=headers)

    yield send
    pool.clear()


def issue_fields(**overrides: Any) -> dict[str, Any]:
    fields = {
        "project": {"key": "OPS"},
        "issuetype": {"name": "Incident"},
        "summary": "Database down",
        "description": adf("The primary stopped answering."),
        "labels": ["pandabridge-1"],
    }
    return {"fields": {**fields, **overrides}}


@pytest.fixture
def create(call: Call) -> Callable[..., str]:
    """Creates an issue (``create(**fields)``) and returns its key."""

    def make(**overrides: Any) -> str:
        answer = call("POST", f"{API}/issue", issue_fields(**overrides))
        assert answer.status == 201, answer.data
        return str(answer.json()["key"])

    return make


def errors_of(answer: urllib3.BaseHTTPResponse) -> dict[str, Any]:
    document = answer.json()
    assert set(document) == {"errorMessages", "errors"}
    return dict(document)


def transition_names(call: Call, key: str) -> list[str]:
    answer = call("GET", f"{API}/issue/{key}/transitions?expand=transitions.fields")
    return [t["name"] for t in answer.json()["transitions"]]


def transition_id(call: Call, key: str, name: str) -> str:
    answer = call("GET", f"{API}/issue/{key}/transitions")
    return next(t["id"] for t in answer.json()["transitions"] if t["name"] == name)


# --- create ------------------------------------------------------------------------------


def test_create_answers_201_with_id_key_and_self(call: Call, jira: JiraFake) -> None:
    # When an issue is created with valid fields
    answer = call("POST", f"{API}/issue", issue_fields())
    # Then Jira answers its id, key and self link, and the issue exists
    assert answer.status == 201
    created = answer.json()
    assert set(created) == {"id", "key", "self"}
    assert created["key"] == "OPS-1"
    assert created["self"].endswith(f"{API}/issue/{created['id']}")
    assert jira.issue("OPS-1")["fields"]["summary"] == "Database down"


def test_create_without_a_field_the_create_screen_requires_is_a_400_naming_it(
    call: Call, jira: JiraFake
) -> None:
    # Given a project whose create screen requires Components
    jira.configure_project(required_fields={"components": "Components"})
    # When an issue is created without it
    answer = call("POST", f"{API}/issue", issue_fields())
    # Then the 400 names the field in Jira's error shape
    assert answer.status == 400
    assert errors_of(answer) == {
        "errorMessages": [],
        "errors": {"components": "Components is required."},
    }


def test_create_with_a_priority_outside_the_project_scheme_is_a_400_on_priority(
    call: Call, jira: JiraFake
) -> None:
    # Given a project on a custom priority scheme ("P1 - Critical".."P5 - Informational")
    jira.configure_project(priorities="custom")
    # When an issue is created with a default scheme's name
    answer = call("POST", f"{API}/issue", issue_fields(priority={"name": "High"}))
    # Then the create is refused on the priority field
    assert answer.status == 400
    assert list(errors_of(answer)["errors"]) == ["priority"]


def test_create_with_a_label_holding_a_space_is_a_400_on_labels(call: Call) -> None:
    answer = call("POST", f"{API}/issue", issue_fields(labels=["two words"]))
    assert answer.status == 400
    assert errors_of(answer)["errors"] == {
        "labels": "The label 'two words' contains spaces which is invalid."
    }


def test_create_with_an_unknown_issue_type_is_a_400_on_issuetype(call: Call) -> None:
    answer = call("POST", f"{API}/issue", issue_fields(issuetype={"name": "Outage"}))
    assert answer.status == 400
    assert list(errors_of(answer)["errors"]) == ["issuetype"]


def test_a_request_without_the_api_token_is_a_401(call: Call, jira: JiraFake) -> None:
    wrong = "Basic " + base64.b64encode(f"{DEFAULT_EMAIL}:wrong-token".encode()).decode()
    answer = call("POST", f"{API}/issue", issue_fields(), auth=wrong)
    assert answer.status == 401
    assert jira.issues() == []


# --- read and edit -----------------------------------------------------------------------


def test_an_issue_reads_back_with_status_category_priority_and_adf_description(
    call: Call, create: Callable[..., str]
) -> None:
    key = create(priority={"name": "High"})
    fields = call("GET", f"{API}/issue/{key}").json()["fields"]
    assert fields["status"]["name"] == "To Do"
    assert fields["status"]["statusCategory"]["key"] == "new"
    assert fields["priority"]["name"] == "High"
    assert fields["description"] == adf("The primary stopped answering.")
    assert fields["labels"] == ["pandabridge-1"]
    assert fields["assignee"] is None


def test_an_edit_answers_204_and_changes_the_fields(
    call: Call, create: Callable[..., str], jira: JiraFake
) -> None:
    key = create()
    answer = call("PUT", f"{API}/issue/{key}", {"fields": {"summary": "Database back"}})
    assert answer.status == 204
    assert jira.issue(key)["fields"]["summary"] == "Database back"


# --- search ------------------------------------------------------------------------------


def test_the_classic_search_endpoint_is_gone(call: Call) -> None:
    answer = call("POST", f"{API}/search", {"jql": "project = OPS"})
    assert answer.status == 410


def test_a_new_issue_is_missing_from_search_until_the_lag_has_passed(
    call: Call, create: Callable[..., str], jira: JiraFake
) -> None:
    # Given search lags creates by a fraction of a second
    jira.search_lag_seconds = LAG_SECONDS
    create()
    search = {"jql": 'project = OPS AND labels = "pandabridge-1"', "fields": ["summary"]}
    # When searching at once, then after the lag
    at_once = call("POST", f"{API}/search/jql", search).json()["issues"]
    time.sleep(LAG_SECONDS + 0.05)
    later = call("POST", f"{API}/search/jql", search).json()["issues"]
    # Then the issue is found only after the lag
    assert at_once == []
    assert [issue["key"] for issue in later] == ["OPS-1"]


def test_search_without_fields_returns_ids_only(call: Call, create: Callable[..., str]) -> None:
    create()
    answer = call("GET", f"{API}/search/jql?jql=labels%20%3D%20pandabridge-1")
    assert answer.json()["issues"] == [{"id": "10001"}]


def test_search_orders_by_created_and_pages_with_next_page_token(
    call: Call, create: Callable[..., str]
) -> None:
    # Given three issues with one label
    for summary in ("first", "second", "third"):
        create(summary=summary)
    query = {"jql": 'labels = "pandabridge-1" ORDER BY created ASC', "fields": ["summary"]}
    # When reading them two at a time
    first = call("POST", f"{API}/search/jql", {**query, "maxResults": 2}).json()
    token = first["nextPageToken"]
    second = call("POST", f"{API}/search/jql", {**query, "maxResults": 2, "nextPageToken": token})
    # Then they come oldest first, over two pages
    summaries = [i["fields"]["summary"] for i in first["issues"] + second.json()["issues"]]
    assert summaries == ["first", "second", "third"]
    assert (first["isLast"], second.json()["isLast"]) == (False, True)


def test_search_with_jql_it_cannot_read_is_a_400(call: Call) -> None:
    answer = call("POST", f"{API}/search/jql", {"jql": "summary ~ database"})
    assert answer.status == 400


# --- workflows ---------------------------------------------------------------------------


def test_a_simplified_workflow_offers_done(call: Call, create: Callable[..., str]) -> None:
    key = create()
    assert transition_names(call, key) == ["In Progress", "Done"]


def test_a_classic_workflow_has_no_done_and_its_resolve_screen_requires_resolution(
    call: Call, create: Callable[..., str], jira: JiraFake
) -> None:
    # Given a project on the classic workflow
    jira.configure_project(workflow="classic")
    key = create()
    # When its transitions are listed with their fields
    listed = call("GET", f"{API}/issue/{key}/transitions?expand=transitions.fields").json()
    by_name = {t["name"]: t for t in listed["transitions"]}
    # Then there is no "Done", and "Resolve Issue" leads to a done status requiring resolution
    assert sorted(by_name) == ["Close Issue", "Resolve Issue", "Start Progress"]
    resolve = by_name["Resolve Issue"]
    assert resolve["to"]["statusCategory"]["key"] == "done"
    assert resolve["fields"]["resolution"]["required"] is True


def test_the_transitions_offered_depend_on_the_current_status(
    call: Call, create: Callable[..., str], jira: JiraFake
) -> None:
    # Given a classic issue that has been resolved
    jira.configure_project(workflow="classic")
    key = create()
    resolve = {
        "transition": {"id": transition_id(call, key, "Resolve Issue")},
        "fields": {"resolution": {"name": "Done"}},
    }
    assert call("POST", f"{API}/issue/{key}/transitions", resolve).status == 204
    # Then only closing and reopening remain
    assert transition_names(call, key) == ["Close Issue", "Reopen Issue"]
    assert jira.issue(key)["fields"]["resolution"]["name"] == "Done"


def test_a_transition_without_its_required_resolution_is_a_400(
    call: Call, create: Callable[..., str], jira: JiraFake
) -> None:
    jira.configure_project(workflow="classic")
    key = create()
    resolve = {"transition": {"id": transition_id(call, key, "Resolve Issue")}}
    answer = call("POST", f"{API}/issue/{key}/transitions", resolve)
    assert answer.status == 400
    assert errors_of(answer)["errors"] == {"resolution": "Resolution is required."}
    assert jira.issue(key)["status"] == "Open"


def test_a_transition_not_available_from_the_current_status_is_a_400(
    call: Call, create: Callable[..., str], jira: JiraFake
) -> None:
    # Given a classic issue that is Open ("Reopen Issue" leaves Resolved and Closed only)
    jira.configure_project(workflow="classic")
    key = create()
    answer = call("POST", f"{API}/issue/{key}/transitions", {"transition": {"id": "3"}})
    assert answer.status == 400
    assert errors_of(answer)["errorMessages"] == ["Transition id '3' is not valid for this issue."]


# --- priorities, create metadata, permissions --------------------------------------------


def test_priority_search_lists_the_project_scheme_with_ids(call: Call, jira: JiraFake) -> None:
    project = jira.configure_project(priorities="custom")
    answer = call("GET", f"{API}/priority/search?projectId={project.id}").json()
    names = [(p["id"], p["name"]) for p in answer["values"]]
    assert names[0] == ("10000", "P1 - Critical")
    assert len(names) == 5


def test_create_metadata_marks_the_fields_the_screen_requires(call: Call, jira: JiraFake) -> None:
    jira.configure_project(required_fields={"customfield_10050": "Service"})
    types = call("GET", f"{API}/issue/createmeta/OPS/issuetypes").json()["issueTypes"]
    incident = next(t["id"] for t in types if t["name"] == "Incident")
    fields = call("GET", f"{API}/issue/createmeta/OPS/issuetypes/{incident}").json()["fields"]
    required = {f["fieldId"] for f in fields if f["required"]}
    assert required == {"summary", "issuetype", "project", "customfield_10050"}


def test_my_permissions_report_what_the_api_user_lacks(call: Call, jira: JiraFake) -> None:
    jira.configure_project(denied_permissions={"ASSIGN_ISSUES"})
    path = f"{API}/mypermissions?projectKey=OPS&permissions=BROWSE_PROJECTS,ASSIGN_ISSUES"
    permissions = call("GET", path).json()["permissions"]
    assert permissions["BROWSE_PROJECTS"]["havePermission"] is True
    assert permissions["ASSIGN_ISSUES"]["havePermission"] is False


# --- people ------------------------------------------------------------------------------


@pytest.fixture
def people(jira: JiraFake) -> JiraFake:
    jira.add_user(User("acc-din", "Din Djarin", "din@example.com"))
    jira.add_user(User("acc-bo", "Bo-Katan Kryze", "bo@example.com", assignable=False))
    jira.add_user(User("acc-cara", "Cara Dune", "cara@example.com", active=False))
    jira.add_user(User("acc-grogu", "Grogu", "grogu@example.com", email_visible=False))
    return jira


def test_assigning_a_user_who_cannot_be_assigned_is_a_400(
    call: Call, create: Callable[..., str], people: JiraFake
) -> None:
    key = create()
    answer = call("PUT", f"{API}/issue/{key}/assignee", {"accountId": "acc-bo"})
    assert answer.status == 400
    assert errors_of(answer)["errors"] == {"assignee": "User 'acc-bo' cannot be assigned issues."}
    assert people.issue(key)["fields"]["assignee"] is None


def test_user_search_finds_a_user_the_assignable_search_leaves_out(
    call: Call, create: Callable[..., str], people: JiraFake
) -> None:
    key = create()
    found = call("GET", f"{API}/user/search?query=bo%40example.com").json()
    assignable = call("GET", f"{API}/user/assignable/search?issueKey={key}&query=bo").json()
    assert [u["accountId"] for u in found] == ["acc-bo"]
    assert assignable == []


def test_assignable_search_returns_only_active_assignable_users(
    call: Call, create: Callable[..., str], people: JiraFake
) -> None:
    key = create()
    users = call("GET", f"{API}/user/assignable/search?issueKey={key}").json()
    assert sorted(u["accountId"] for u in users) == ["acc-din", "acc-grogu"]


def test_an_email_hidden_by_privacy_settings_is_left_out(call: Call, people: JiraFake) -> None:
    users = call("GET", f"{API}/user/search?query=grogu%40example.com").json()
    assert len(users) == 1
    assert "emailAddress" not in users[0]


def test_assigning_an_assignable_user_sets_the_assignee(
    call: Call, create: Callable[..., str], people: JiraFake
) -> None:
    key = create()
    answer = call("PUT", f"{API}/issue/{key}/assignee", {"accountId": "acc-din"})
    assert answer.status == 204
    assert people.issue(key)["fields"]["assignee"]["accountId"] == "acc-din"


# --- comments ----------------------------------------------------------------------------


def test_comment_properties_round_trip(call: Call, create: Callable[..., str]) -> None:
    # Given a comment posted with an entity property
    key = create()
    marker = {"key": "pandabridge", "value": {"version": 3}}
    posted = call(
        "POST", f"{API}/issue/{key}/comment", {"body": adf("Resolved"), "properties": [marker]}
    )
    assert posted.status == 201
    # When the comments are read with their properties, and without
    with_properties = call("GET", f"{API}/issue/{key}/comment?expand=properties").json()
    plain = call("GET", f"{API}/issue/{key}/comment").json()
    # Then the property comes back only when asked for
    assert with_properties["comments"][0]["properties"] == [marker]
    assert with_properties["comments"][0]["body"] == adf("Resolved")
    assert "properties" not in plain["comments"][0]


def test_a_comment_body_that_is_not_adf_is_a_400(call: Call, create: Callable[..., str]) -> None:
    key = create()
    answer = call("POST", f"{API}/issue/{key}/comment", {"body": "plain text"})
    assert answer.status == 400
    assert list(errors_of(answer)["errors"]) == ["comment"]


# --- faults ------------------------------------------------------------------------------


def test_a_planned_429_carries_retry_after_and_does_not_take_effect(
    call: Call, jira: JiraFake
) -> None:
    # Given the next create is rate limited
    jira.fail(429, 1, retry_after=7, method="POST", path=f"{API}/issue")
    # When creating twice
    limited = call("POST", f"{API}/issue", issue_fields())
    accepted = call("POST", f"{API}/issue", issue_fields())
    # Then the first answers 429 with Retry-After and made nothing; the second creates
    assert (limited.status, limited.headers["Retry-After"]) == (429, "7")
    assert accepted.status == 201
    assert [issue["key"] for issue in jira.issues()] == ["OPS-1"]


def test_a_503_burst_hits_only_the_matching_calls(
    call: Call, create: Callable[..., str], jira: JiraFake
) -> None:
    key = create()
    jira.fail(503, 2, path=f"{API}/issue/*/comment")
    statuses = [
        call("POST", f"{API}/issue/{key}/comment", {"body": adf("note")}).status for _ in range(3)
    ]
    assert statuses == [503, 503, 201]
    assert call("GET", f"{API}/issue/{key}").status == 200


def test_a_slow_create_times_out_for_a_short_timeout_client_yet_the_issue_exists(
    jira: JiraFake,
) -> None:
    # Given creates answer half a second late, and a client that waits a fifth of one
    jira.slow(0.5, method="POST", path=f"{API}/issue")
    pool = urllib3.PoolManager(retries=False)
    client = HttpClient(timeout_seconds=0.2, pool=pool)
    # When the client creates an issue
    with pytest.raises(RetryableError):
        client.request(
            "POST",
            f"{jira.url.rstrip('/')}{API}/issue",
            json_body=issue_fields(),
            headers={"Authorization": AUTH},
        )
    # Then it saw a timeout, but the desk has the issue
    assert [issue["key"] for issue in jira.issues()] == ["OPS-1"]
    pool.clear()


def test_the_control_route_arms_a_failure_like_the_python_api(call: Call, jira: JiraFake) -> None:
    armed = call("POST", "/_fake/fail?status=429&count=1&retry_after=2", auth=None)
    assert armed.status == 200
    assert call("GET", f"{API}/project/OPS").status == 429
    assert call("GET", f"{API}/project/OPS").status == 200


def test_every_api_request_is_recorded_with_its_body(call: Call, jira: JiraFake) -> None:
    call("POST", f"{API}/issue", issue_fields())
    recorded = jira.requests_to("POST", f"{API}/issue")
    assert [r.body for r in recorded] == [issue_fields()]
