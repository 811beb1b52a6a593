"""The Jira adapter against the Jira fake, on the set-ups real customers have: classic and
simplified workflows, custom priority schemes, required create and transition fields, users
who cannot be assigned, rate limits, and answers that come too late.

Each test states the desk state that must result; the ones that pinned a defect of the earlier
adapter as an expected failure now prove its fix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from types import MappingProxyType
from typing import Any

import pytest
import urllib3

from local.fakes.jira import DEFAULT_API_TOKEN, DEFAULT_EMAIL, JiraFake
from local.fakes.jira_catalog import User
from pandabridge.desk_config import DeskConfig, single_target
from pandabridge.errors import PermanentError, RetryableError, StepFailedError
from pandabridge.http import HttpClient
from pandabridge.models import WebhookPayload
from pandabridge.names import Env
from pandabridge.settings import TicketTargetSettings
from pandabridge.tickets.factory import build_target
from pandabridge.tickets.jira import COMMENT_PROPERTY, JiraTarget
from pandabridge.tickets.mapping import draft_for
from pandabridge.tickets.model import (
    Assignee,
    PartlyCreatedError,
    TicketDraft,
    TicketRef,
    TicketStatus,
    TicketTarget,
)

TIMEOUT_SECONDS = 0.3
# Longer than the client waits: the desk saves the call, the client sees a timeout.
SLOW_SECONDS = 0.6
# Ids that must still make a valid label, JQL string and URL.
AWKWARD_IDS = ["事件-1", "id with spaces", "quo\"te's\\and\\back", "x" * 256]

# ``make_jira(**options)``: the adapter on the fake, with constructor options.
MakeJira = Callable[..., JiraTarget]


@pytest.fixture
def client() -> Iterator[HttpClient]:
    pool = urllib3.PoolManager(retries=False)
    yield HttpClient(timeout_seconds=TIMEOUT_SECONDS, pool=pool)
    pool.clear()


@pytest.fixture
def target(jira: JiraFake, client: HttpClient) -> TicketTarget:
    """The adapter as the factory builds it, with the stack's default settings."""
    return factory_target(jira, client)


def jira_desk(fake: JiraFake, section: dict[str, Any] | None = None, **options: Any) -> DeskConfig:
    """A configuration of one Jira target on the fake, project OPS and issue type Incident
    plus ``section`` in its ``jira`` keys, and ``options`` as its other keys (``workflow``)."""
    jira = {"project": "OPS", "issue_type": "Incident", **(section or {})}
    return single_target("jira", fake.url, jira=jira, **options)


def factory_target(
    jira: JiraFake, client: HttpClient, desk: DeskConfig | None = None, **options: Any
) -> TicketTarget:
    """The adapter as the factory builds it from ``desk`` (else ``jira_desk(**options)``)."""
    settings = {
        Env.TICKET_TARGET: "jira",
        Env.TICKET_BASE_URL: jira.url,
        Env.TICKET_SECRET_ID: "pandabridge/ticket-credentials",
    }
    credentials = {"email": DEFAULT_EMAIL, "api_token": DEFAULT_API_TOKEN}
    return build_target(
        TicketTargetSettings.model_validate(settings),
        credentials,
        client,
        desk=desk or jira_desk(jira, **options),
    )


@pytest.fixture
def make_jira(jira: JiraFake, client: HttpClient) -> MakeJira:
    def build(**options: Any) -> JiraTarget:
        values: dict[str, Any] = {
            "project_key": "OPS",
            "issue_type": "Incident",
            "api_token": DEFAULT_API_TOKEN,
            **options,
        }
        return JiraTarget(jira.url, email=DEFAULT_EMAIL, http=client, **values)

    return build


def ticket(incident_id: str = "5555370aabc20a001145d6g9", priority: str = "P2") -> TicketDraft:
    return TicketDraft(
        incident_id=incident_id,
        title="Database down",
        description="The primary stopped answering.",
        priority=priority,
        status=TicketStatus.OPEN,
    )


@pytest.fixture
def draft() -> TicketDraft:
    return ticket()


def transitions_posted(jira: JiraFake) -> list[Any]:
    return [r.body for r in jira.requests_to("POST", "*/transitions")]


def resolved_on_classic(jira: JiraFake, target: TicketTarget, draft: TicketDraft) -> dict[str, Any]:
    """The state of a new issue on the classic workflow after ``target`` resolved it."""
    jira.configure_project(workflow="classic")
    ref = target.create(draft)
    target.resolve(ref, "")
    return jira.issue(str(ref.key))


# --- comments ---------------------------------------------------------------------------


def test_a_comment_retried_after_a_timeout_is_on_the_issue_once(
    jira: JiraFake, target: TicketTarget, draft: TicketDraft
) -> None:
    # Given the first comment call is saved by Jira but answers after the client gave up
    ref = target.create(draft)
    jira.slow(SLOW_SECONDS, method="POST", path="*/comment")
    with pytest.raises(RetryableError):
        target.comment(ref, "Incident resolved", "key-1")
    # When the message is retried, knowing the outcome of the first attempt is unknown
    target.comment(ref, "Incident resolved", "key-1", after_unknown_outcome=True)
    # Then the issue holds the comment once
    texts = [comment["text"] for comment in jira.issue(str(ref.key))["comments"]]
    assert texts == ["Incident resolved"]


def test_a_comment_carries_its_key_as_an_entity_property(
    jira: JiraFake, target: TicketTarget, draft: TicketDraft
) -> None:
    # Given an issue
    ref = target.create(draft)
    # When a comment is added with its key
    target.comment(ref, "Acknowledged", "key-7")
    # Then the comment is marked as ours with that key
    (comment,) = jira.issue(str(ref.key))["comments"]
    assert comment["properties"] == [{"key": COMMENT_PROPERTY, "value": {"key": "key-7"}}]


def test_a_comment_after_an_unknown_outcome_is_added_when_it_was_not_saved(
    jira: JiraFake, target: TicketTarget, draft: TicketDraft
) -> None:
    # Given an issue with another comment of ours
    ref = target.create(draft)
    target.comment(ref, "Acknowledged", "key-1")
    # When a different comment is retried after an unknown outcome that did not save it
    target.comment(ref, "Resolved", "key-2", after_unknown_outcome=True)
    # Then it is added
    texts = [comment["text"] for comment in jira.issue(str(ref.key))["comments"]]
    assert texts == ["Acknowledged", "Resolved"]


def test_a_saved_comment_is_found_beyond_the_first_page(
    jira: JiraFake, target: TicketTarget, draft: TicketDraft
) -> None:
    # Given an issue whose comment of interest is followed by more than a page of others
    ref = target.create(draft)
    target.comment(ref, "First", "key-first")
    for number in range(100):
        target.comment(ref, f"Note {number}", f"key-{number}")
    # When the first comment is retried after an unknown outcome
    target.comment(ref, "First", "key-first", after_unknown_outcome=True)
    # Then it is not added again
    assert len(jira.issue(str(ref.key))["comments"]) == 101


def test_a_comment_jira_refuses_is_a_failed_comment_step(
    jira: JiraFake, target: TicketTarget, draft: TicketDraft
) -> None:
    # Given an issue
    ref = target.create(draft)
    # When a blank comment is added, Then Jira's refusal fails that comment step alone
    with pytest.raises(StepFailedError) as caught:
        target.comment(ref, "   ", "key-blank")
    assert (caught.value.step, caught.value.status) == ("comment", 400)


# --- workflow ---------------------------------------------------------------------------


def test_resolve_on_a_classic_workflow_reaches_a_done_status(
    jira: JiraFake, target: TicketTarget, draft: TicketDraft
) -> None:
    # Given an open issue on the classic workflow ("Resolve Issue" requires a resolution)
    # When the adapter resolves it
    issue = resolved_on_classic(jira, target, draft)
    # Then the issue is in a done status, with a resolution
    assert issue["statusCategory"] == "done"
    assert issue["fields"]["resolution"] is not None


def test_reopen_on_a_classic_workflow_leaves_the_done_category(
    jira: JiraFake, target: TicketTarget, draft: TicketDraft
) -> None:
    # Given a resolved issue on the classic workflow
    jira.configure_project(workflow="classic")
    ref = target.create(draft)
    target.resolve(ref, "")
    # When the adapter reopens it
    target.reopen(ref, "")
    # Then the issue is reopened
    assert jira.issue(str(ref.key))["status"] == "Reopened"


def test_resolve_without_a_named_candidate_takes_a_transition_to_the_done_category(
    jira: JiraFake, make_jira: MakeJira, draft: TicketDraft
) -> None:
    # Given an open issue and candidate names that the workflow lacks
    adapter = make_jira(resolve_transitions=("Finish",))
    ref = adapter.create(draft)
    # When it is resolved
    adapter.resolve(ref, "")
    # Then a transition to a done status was taken
    assert jira.issue(str(ref.key))["statusCategory"] == "done"


def test_resolve_with_no_usable_transition_names_the_transitions_available(
    jira: JiraFake, make_jira: MakeJira, draft: TicketDraft
) -> None:
    # Given candidate names that the workflow lacks, and no fallback on the category
    adapter = make_jira(resolve_transitions=("Finish",), resolve_category=None)
    ref = adapter.create(draft)
    # When it is resolved, Then the step fails naming the setting and what is available
    with pytest.raises(StepFailedError) as caught:
        adapter.resolve(ref, "")
    assert caught.value.step == "resolve"
    assert "targets.jira.workflow.resolve.transitions" in caught.value.setting
    assert "Done" in caught.value.setting
    assert transitions_posted(jira) == []


def test_resolve_whose_screen_requires_an_unconfigured_field_names_that_field(
    jira: JiraFake, make_jira: MakeJira, draft: TicketDraft
) -> None:
    # Given a classic workflow whose resolve screen requires a resolution, and none configured
    jira.configure_project(workflow="classic")
    adapter = make_jira(
        resolve_transitions=("Resolve Issue",), resolve_category=None, resolve_fields={}
    )
    ref = adapter.create(draft)
    # When it is resolved, Then the step fails naming the field to configure, sending nothing
    with pytest.raises(StepFailedError) as caught:
        adapter.resolve(ref, "")
    assert (caught.value.step, caught.value.setting) == (
        "resolve",
        "targets.jira.workflow.resolve.fields.resolution",
    )
    assert transitions_posted(jira) == []


def test_resolve_passes_over_a_candidate_whose_required_field_is_not_configured(
    jira: JiraFake, make_jira: MakeJira, draft: TicketDraft
) -> None:
    # Given a classic workflow, the default candidates, and no resolution configured
    adapter = make_jira(resolve_fields={})
    # When an issue is resolved
    issue = resolved_on_classic(jira, adapter, draft)
    # Then "Close Issue", which needs no field, was taken instead of "Resolve Issue"
    assert issue["status"] == "Closed"


def test_resolve_sends_the_configured_value_of_a_required_field(
    jira: JiraFake, make_jira: MakeJira, draft: TicketDraft
) -> None:
    # Given a classic workflow and a configured resolution
    adapter = make_jira(resolve_fields={"resolution": {"name": "Won't Do"}})
    # When an issue is resolved
    issue = resolved_on_classic(jira, adapter, draft)
    # Then the issue has that resolution
    assert issue["fields"]["resolution"]["name"] == "Won't Do"


def test_a_transition_jira_refuses_is_a_failed_resolve_step(
    jira: JiraFake, target: TicketTarget, draft: TicketDraft
) -> None:
    # Given an open issue, and Jira refusing the transition (a validator, say)
    ref = target.create(draft)
    jira.fail(400, 1, method="POST", path="*/transitions")
    # When it is resolved, Then the resolve step fails naming the workflow setting
    with pytest.raises(StepFailedError) as caught:
        target.resolve(ref, "")
    assert (caught.value.step, caught.value.setting) == (
        "resolve",
        "targets.jira.workflow.resolve.transitions",
    )


def test_resolving_an_issue_that_is_already_done_only_adds_the_note(
    jira: JiraFake, target: TicketTarget, draft: TicketDraft
) -> None:
    # Given a resolved issue
    ref = target.create(draft)
    target.resolve(ref, "")
    # When it is resolved again with a note
    target.resolve(ref, "Still resolved")
    # Then no second transition was taken, and the note was added
    assert len(transitions_posted(jira)) == 1
    assert [c["text"] for c in jira.issue(str(ref.key))["comments"]] == ["Still resolved"]


def test_reopening_an_issue_in_progress_leaves_it_there(
    jira: JiraFake, target: TicketTarget, draft: TicketDraft
) -> None:
    # Given an issue people moved to In Progress
    ref = target.create(draft)
    move_by_hand(jira, ref, "21")
    # When it is reopened, Then it stays where people put it
    target.reopen(ref, "")
    assert jira.issue(str(ref.key))["status"] == "In Progress"


def move_by_hand(jira: JiraFake, ref: TicketRef, transition_id: str) -> None:
    """Moves the issue as a person would, through the fake's own API."""
    answer = by_hand(
        jira, "POST", f"/issue/{ref.key}/transitions", {"transition": {"id": transition_id}}
    )
    assert answer.status == 204


def by_hand(jira: JiraFake, method: str, path: str, document: Any) -> urllib3.BaseHTTPResponse:
    """One call to the fake's API as a person's browser would send it."""
    auth = urllib3.make_headers(basic_auth=f"{DEFAULT_EMAIL}:{DEFAULT_API_TOKEN}")
    url = f"{jira.url.rstrip('/')}/rest/api/3{path}"
    return urllib3.PoolManager(retries=False).request(method, url, json=document, headers=auth)


def test_the_configured_transition_setting_is_the_first_candidate(
    jira: JiraFake, client: HttpClient, draft: TicketDraft
) -> None:
    # Given a classic workflow and a configuration whose resolve candidates are "Close Issue"
    workflow = {"resolve": {"transitions": ["Close Issue"]}}
    target = factory_target(jira, client, workflow=workflow)
    # When an issue is resolved
    issue = resolved_on_classic(jira, target, draft)
    # Then that transition was taken rather than the default "Resolve Issue"
    assert issue["status"] == "Closed"


# --- fields and priorities --------------------------------------------------------------


def test_a_create_on_a_custom_priority_scheme_makes_a_ticket(
    jira: JiraFake, make_jira: MakeJira, draft: TicketDraft
) -> None:
    # Given a project whose priority scheme is "P1 - Critical".."P5 - Informational"
    jira.configure_project(priorities="custom")
    adapter = make_jira(priority_map={"P2": {"name": "P2 - High"}})
    # When the adapter creates the ticket for a P2 incident
    adapter.create(draft)
    # Then one issue exists, with the scheme's own P2
    assert [issue["fields"]["priority"]["name"] for issue in jira.issues()] == ["P2 - High"]


def test_a_priority_may_be_mapped_by_id(
    jira: JiraFake, make_jira: MakeJira, draft: TicketDraft
) -> None:
    jira.configure_project(priorities="custom")
    make_jira(priority_map={"P2": {"id": "10000"}}).create(draft)
    assert [issue["fields"]["priority"]["name"] for issue in jira.issues()] == ["P1 - Critical"]


def test_a_refused_priority_still_makes_the_ticket_and_names_the_map_entry(
    jira: JiraFake, target: TicketTarget, draft: TicketDraft
) -> None:
    # Given a custom scheme and the default Highest..Lowest names
    jira.configure_project(priorities="custom")
    # When a P2 ticket is created
    with pytest.raises(PartlyCreatedError) as caught:
        target.create(draft)
    # Then one issue exists without our priority, and the error names the entry to fix
    (issue,) = jira.issues()
    assert caught.value.ref == TicketRef(
        id=issue["id"], key=issue["key"], url=f"{jira.url.rstrip('/')}/browse/{issue['key']}"
    )
    assert (caught.value.step, caught.value.setting) == (
        "field:priority",
        "targets.jira.fields.priority_map.P2",
    )
    assert issue["fields"]["priority"]["name"] == "P3 - Medium"


def test_an_update_writes_only_the_fields_it_is_given(
    jira: JiraFake, target: TicketTarget, draft: TicketDraft
) -> None:
    # Given an issue whose priority an agent changed
    ref = target.create(draft)
    move_priority_by_hand(jira, ref, "Lowest")
    # When only the summary is updated
    target.update(ref, ticket(priority="P1"), frozenset({"title"}))
    # Then the agent's priority is kept
    assert jira.issue(str(ref.key))["fields"]["priority"]["name"] == "Lowest"


def move_priority_by_hand(jira: JiraFake, ref: TicketRef, name: str) -> None:
    """Edits the priority as an agent would, through the fake's own API."""
    answer = by_hand(jira, "PUT", f"/issue/{ref.key}", {"fields": {"priority": {"name": name}}})
    assert answer.status == 204


def test_an_update_refused_on_priority_is_a_failed_field_step(
    jira: JiraFake, target: TicketTarget, draft: TicketDraft
) -> None:
    # Given an issue on a project that later moved to a custom priority scheme
    ref = target.create(draft)
    jira.configure_project(priorities="custom")
    # When its priority is updated, Then the field step fails naming the map entry
    with pytest.raises(StepFailedError) as caught:
        target.update(ref, draft, frozenset({"priority"}))
    assert (caught.value.step, caught.value.setting) == (
        "field:priority",
        "targets.jira.fields.priority_map.P2",
    )


def test_a_required_create_field_names_its_custom_field_setting(
    jira: JiraFake, target: TicketTarget, draft: TicketDraft
) -> None:
    # Given a create screen that requires a custom field
    jira.configure_project(required_fields={"customfield_10050": "Service"})
    # When a ticket is created without it, Then the error names that field, not the project
    with pytest.raises(PermanentError) as caught:
        target.create(draft)
    assert caught.value.setting == "targets.jira.jira.custom_fields.customfield_10050"
    assert jira.issues() == []


def test_configured_fields_are_set_on_create(
    jira: JiraFake, make_jira: MakeJira, draft: TicketDraft
) -> None:
    # Given a screen requiring a custom field, constant labels and components, and a draft
    # carrying that field
    jira.configure_project(required_fields={"customfield_10050": "Service"})
    adapter = make_jira(labels=("ops team",), components=("Database",), issue_type="10001")
    with_field = replace(draft, extra_fields=MappingProxyType({"customfield_10050": "payments"}))
    # When a ticket is created
    adapter.create(with_field)
    # Then the issue carries them (labels made valid), with the issue type given by id
    (issue,) = jira.issues()
    assert issue["fields"]["customfield_10050"] == "payments"
    assert issue["fields"]["components"] == [{"name": "Database"}]
    assert "ops_team" in issue["fields"]["labels"]
    assert jira.requests_to("POST", "*/issue")[0].body["fields"]["issuetype"] == {"id": "10001"}


def test_a_templated_custom_field_carries_each_incidents_value(
    jira: JiraFake, client: HttpClient, sample: dict[str, Any]
) -> None:
    # Given a custom field templated on the incident's environment tag in the configuration
    jira.configure_project(required_fields={"customfield_10010": "Environment"})
    desk = jira_desk(jira, {"custom_fields": {"customfield_10010": "env {environment}"}})
    target = factory_target(jira, client, desk)
    sample["incidentTags"] = [{"id": "environment", "value": "production"}]
    payload = WebhookPayload.model_validate(sample)
    # When the incident's ticket is created from its draft
    ref = target.create(draft_for(payload, mapping=desk.selected.draft_mapping))
    # Then the issue's custom field holds this incident's environment
    assert jira.issue(str(ref.key))["fields"]["customfield_10010"] == "env production"


def test_a_refused_custom_field_leaves_a_ticket_without_it(
    jira: JiraFake, target: TicketTarget, draft: TicketDraft
) -> None:
    # Given a draft with a custom field that is not on the project's create screen
    with_field = replace(draft, extra_fields=MappingProxyType({"customfield_10099": "x"}))
    # When the ticket is created
    with pytest.raises(PartlyCreatedError) as caught:
        target.create(with_field)
    # Then the issue exists without the field, and the step names the field's setting
    (issue,) = jira.issues()
    assert "customfield_10099" not in issue["fields"]
    assert caught.value.ref.key == issue["key"]
    assert (caught.value.step, caught.value.setting) == (
        "field:customfield_10099",
        "targets.jira.jira.custom_fields.customfield_10099",
    )


@pytest.mark.parametrize(
    ("options", "setting"),
    [
        ({"issue_type": "Epic"}, "targets.jira.jira.issue_type"),
        ({"project_key": "NOPE"}, "targets.jira.jira.project"),
        ({"api_token": "wrong-token-0123"}, Env.TICKET_SECRET_ID),
    ],
    ids=["issue-type", "project", "credentials"],
)
def test_a_create_refused_as_a_whole_names_its_setting(
    jira: JiraFake, make_jira: MakeJira, draft: TicketDraft, options: dict[str, str], setting: str
) -> None:
    # Given an issue type, a project or a token that Jira does not accept
    adapter = make_jira(**options)
    # When a ticket is created, Then the error names that setting, and nothing was created
    with pytest.raises(PermanentError) as caught:
        adapter.create(draft)
    assert caught.value.setting == setting
    assert jira.issues() == []


def test_a_rate_limited_create_is_retryable_after_the_desks_delay(
    jira: JiraFake, target: TicketTarget, draft: TicketDraft
) -> None:
    # Given Jira answers the create 429 with Retry-After
    jira.fail(429, 1, retry_after=7, method="POST", path="*/issue")
    # When a ticket is created, Then the desk's delay is passed on, and nothing was created
    with pytest.raises(RetryableError) as caught:
        target.create(draft)
    assert caught.value.retry_after == 7
    assert jira.issues() == []


@pytest.mark.parametrize("incident_id", AWKWARD_IDS, ids=["non-ascii", "spaces", "quotes", "256"])
def test_any_incident_id_makes_a_ticket_that_find_returns(
    jira: JiraFake, target: TicketTarget, incident_id: str
) -> None:
    # Given an incident id that is not a plain label
    # When its ticket is created and looked up
    ref = target.create(ticket(incident_id))
    # Then the search finds exactly that ticket
    assert target.find(incident_id) == ref
    assert target.find(incident_id + "-other") is None


# --- assignment -------------------------------------------------------------------------


def assigned_to(
    jira: JiraFake, target: TicketTarget, draft: TicketDraft, email: str
) -> tuple[bool, str | None]:
    """What ``assign`` answered for a new issue and the assignee's ``email``, and the account
    the issue is then assigned to."""
    ref = target.create(draft)
    answered = target.assign(ref, Assignee(user_id="bp-1", email=email, name="Someone"))
    assignee = jira.issue(str(ref.key))["fields"]["assignee"]
    return answered, assignee["accountId"] if assignee else None


def test_assign_leaves_the_issue_unassigned_for_a_user_who_cannot_be_assigned(
    jira: JiraFake, target: TicketTarget, draft: TicketDraft
) -> None:
    # Given the incident's assignee is a Jira user without the Assignable User permission
    jira.add_user(User("acc-bo", "Bo-Katan Kryze", "bo@example.com", assignable=False))
    # When the adapter assigns the ticket
    assigned = assigned_to(jira, target, draft, "bo@example.com")
    # Then it reports no assignment, without trying one Jira must refuse
    assert assigned == (False, None)
    assert jira.requests_to("PUT", "*/assignee") == []


def test_assign_prefers_the_user_with_that_exact_email(
    jira: JiraFake, target: TicketTarget, draft: TicketDraft
) -> None:
    # Given two assignable users whose e-mails start alike
    jira.add_user(User("acc-long", "Din Long", "din@example.com.au"))
    jira.add_user(User("acc-din", "Din Djarin", "din@example.com"))
    # When the ticket is assigned by e-mail, in another case, Then the exact match gets it
    assert assigned_to(jira, target, draft, "Din@Example.com") == (True, "acc-din")


def test_assign_takes_the_single_user_whose_email_is_hidden(
    jira: JiraFake, target: TicketTarget, draft: TicketDraft
) -> None:
    # Given the only matching user hides their e-mail address
    jira.add_user(User("acc-cara", "Cara Dune", "cara@example.com", email_visible=False))
    # When the ticket is assigned by e-mail, Then that user gets it
    assert assigned_to(jira, target, draft, "cara@example.com") == (True, "acc-cara")


def test_assign_to_no_known_user_changes_nothing(
    jira: JiraFake, target: TicketTarget, draft: TicketDraft
) -> None:
    # Given no Jira user with the e-mail, When the ticket is assigned, Then nothing changes
    assert assigned_to(jira, target, draft, "nobody@example.com") == (False, None)


def test_an_assignment_jira_refuses_is_a_failed_assign_step(
    jira: JiraFake, target: TicketTarget, draft: TicketDraft
) -> None:
    # Given an assignable user, and Jira refusing the assignment all the same
    jira.add_user(User("acc-din", "Din Djarin", "din@example.com"))
    ref = target.create(draft)
    jira.fail(400, 1, method="PUT", path="*/assignee")
    # When the ticket is assigned, Then the assign step fails naming the user
    with pytest.raises(StepFailedError) as caught:
        target.assign(ref, Assignee(user_id="u", email="din@example.com", name="Din"))
    assert caught.value.step == "assign"
    assert "din@example.com" in caught.value.setting
