"""The ``servicenow`` adapter on the ServiceNow stand-in: each behaviour a real instance asks
of it (journal, data policies, closed records, users, routing, encoded queries)."""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType
from typing import Any

import pytest
from adapter_support import incident_row, servicenow_on, ticket_draft
from fakes_support import SNOW_USER

from local.fakes.servicenow import ServiceNowFake
from pandabridge.desk_config import single_target
from pandabridge.errors import PermanentError, RetryableError, StepFailedError
from pandabridge.http import HttpClient
from pandabridge.models import WebhookPayload
from pandabridge.names import Env
from pandabridge.sync import comment_key
from pandabridge.tickets.factory import servicenow_options
from pandabridge.tickets.mapping import draft_for
from pandabridge.tickets.model import Assignee, TicketRef
from pandabridge.tickets.servicenow import ServiceNowTarget
from tests.fifo_ids import HARD_IDS

NOTE = "Acknowledged by the on-call engineer"
DIN = Assignee(user_id="bp-1", email="din@example.com", name="Din")


@pytest.fixture
def make_snow(snow_fake: ServiceNowFake, client: HttpClient) -> Any:
    """``make_snow(**options)``: the adapter on the stand-in with those options."""
    return lambda **options: servicenow_on(snow_fake, client, **options)


@pytest.fixture
def snow(make_snow: Any) -> ServiceNowTarget:
    return make_snow()


@pytest.fixture
def ref(snow: ServiceNowTarget) -> TicketRef:
    """An incident created by the adapter."""
    return snow.create(ticket_draft())


def closed(fake: ServiceNowFake, snow: ServiceNowTarget, ref: TicketRef) -> None:
    """Resolves the incident, then lets the instance's auto-close job close it."""
    snow.resolve(ref, "Resolved in BigPanda")
    fake.tables.close_resolved()


def sent_queries(fake: ServiceNowFake, table: str) -> list[dict[str, list[str]]]:
    return [dict(r.query) for r in fake.requests if r.method == "GET" and r.path.endswith(table)]


# Comments: the journal is read after an unknown outcome.


def test_a_work_note_whose_first_attempt_never_arrived_is_added_after_the_unknown_outcome(
    snow_fake: ServiceNowFake, snow: ServiceNowTarget, ref: TicketRef
) -> None:
    # Given a work-note PATCH that the instance refused with a 503 (nothing was saved)
    snow_fake.failures.arm(503, 1)
    with pytest.raises(RetryableError):
        snow.comment(ref, NOTE, comment_key(NOTE))
    # When the comment is retried as an unknown outcome
    snow.comment(ref, NOTE, comment_key(NOTE), after_unknown_outcome=True)
    # Then the journal has it, once
    assert snow_fake.journal(ref.id) == [NOTE]


def test_the_same_note_on_another_incident_does_not_stop_a_work_note(
    snow_fake: ServiceNowFake, snow: ServiceNowTarget, ref: TicketRef
) -> None:
    # Given another incident whose journal holds the same text
    other = snow.create(ticket_draft("incident-2"))
    snow.comment(other, NOTE)
    # When the comment is added to this incident after an unknown outcome
    snow.comment(ref, NOTE, comment_key(NOTE), after_unknown_outcome=True)
    # Then this incident's journal has it
    assert snow_fake.journal(ref.id) == [NOTE]


def test_the_journal_lookup_reads_only_this_incidents_work_note_values(
    snow_fake: ServiceNowFake, snow: ServiceNowTarget, ref: TicketRef
) -> None:
    # When a comment is added after an unknown outcome
    snow.comment(ref, NOTE, comment_key(NOTE), after_unknown_outcome=True)
    # Then the journal was queried by element and element_id, for the value field only
    (query,) = sent_queries(snow_fake, "sys_journal_field")
    assert query["sysparm_query"][0].startswith(f"element=work_notes^element_id={ref.id}^")
    assert query["sysparm_fields"] == ["value"]


def test_a_work_note_without_an_unknown_outcome_does_not_read_the_journal(
    snow_fake: ServiceNowFake, snow: ServiceNowTarget, ref: TicketRef
) -> None:
    snow.comment(ref, NOTE, comment_key(NOTE))
    assert sent_queries(snow_fake, "sys_journal_field") == []


# Resolve: close code and notes, and the instance's data policy.


def test_resolve_sends_the_configured_close_code_and_close_notes(
    snow_fake: ServiceNowFake, make_snow: Any
) -> None:
    # Given an adapter configured with its own close code and a close-notes template
    snow = make_snow(close_code="Workaround provided", close_notes="BigPanda: {note}")
    ref = snow.create(ticket_draft())
    # When the incident is resolved
    snow.resolve(ref, "the incident is no longer active")
    # Then it is Resolved with that code and the note in the template
    row = incident_row(snow_fake, ref)
    assert (row["state"], row["close_code"], row["close_notes"]) == (
        "6",
        "Workaround provided",
        "BigPanda: the incident is no longer active",
    )


def test_a_data_policy_refusal_of_resolve_is_a_resolve_step_failure_with_the_instances_message(
    make_snow: Any,
) -> None:
    # Given a close code that the instance's choice list lacks
    snow = make_snow(close_code="Solved (Permanently)")
    ref = snow.create(ticket_draft())
    # When the incident is resolved, Then the resolve step fails alone, naming the options
    with pytest.raises(StepFailedError) as raised:
        snow.resolve(ref, "Resolved in BigPanda")
    assert (raised.value.step, raised.value.status) == ("resolve", 403)
    assert raised.value.setting == (
        "targets.servicenow.servicenow.close_code, targets.servicenow.servicenow.close_notes"
    )
    assert "Invalid choice 'Solved (Permanently)'" in raised.value.reason


def test_a_data_policy_refusal_of_a_create_names_the_routing_keys_of_the_desk_file(
    snow_fake: ServiceNowFake, make_snow: Any
) -> None:
    # Given a category and an extra field whose value the instance's data policy refuses
    snow = make_snow(category="software")
    draft = ticket_draft(close_code="Solved (Permanently)")
    # When a ticket is created, Then nothing is created and the error names both keys as
    # the desk configuration file spells them
    with pytest.raises(PermanentError) as raised:
        snow.create(draft)
    assert raised.value.setting == (
        "targets.servicenow.servicenow.category, "
        "targets.servicenow.servicenow.extra_fields.close_code"
    )
    assert snow_fake.tables.rows("incident") == []


def test_an_acl_refusal_of_a_field_on_a_closed_incident_names_that_field(
    snow_fake: ServiceNowFake, snow: ServiceNowTarget, ref: TicketRef
) -> None:
    # Given a closed incident (its fields are read-only by ACL)
    closed(snow_fake, snow, ref)
    # When its title is updated, Then the field step fails with the instance's message
    with pytest.raises(StepFailedError) as raised:
        snow.update(ref, ticket_draft(priority="P1"), fields=frozenset({"priority"}))
    assert raised.value.step == "field:impact"
    assert "ACL Exception" in raised.value.reason


def test_resolving_an_incident_the_instance_closed_already_leaves_it_closed(
    snow_fake: ServiceNowFake, snow: ServiceNowTarget, ref: TicketRef
) -> None:
    # Given an incident closed by the instance (its close notes then read-only by ACL)
    closed(snow_fake, snow, ref)
    # When it is resolved again with another note, Then that succeeds and it stays Closed
    snow.resolve(ref, "Resolved in BigPanda, again")
    assert incident_row(snow_fake, ref)["state"] == "7"


def test_an_acl_refusal_of_an_assignment_names_the_assignee(
    snow_fake: ServiceNowFake, snow: ServiceNowTarget, ref: TicketRef
) -> None:
    # Given a closed incident and an active user
    snow_fake.tables.add_user("din", "din@example.com")
    closed(snow_fake, snow, ref)
    # When it is assigned, Then the assign step fails alone, naming the user
    with pytest.raises(StepFailedError) as raised:
        snow.assign(ref, DIN)
    assert raised.value.step == "assign"
    assert "din@example.com" in raised.value.setting


def test_rejected_credentials_name_the_secret_and_are_no_step_failure(
    snow_fake: ServiceNowFake, client: HttpClient
) -> None:
    snow = ServiceNowTarget(snow_fake.url, http=client, username=SNOW_USER, password="wrong")
    with pytest.raises(PermanentError) as raised:
        snow.find("incident-1")
    assert not isinstance(raised.value, StepFailedError)
    assert (raised.value.setting, raised.value.status) == (Env.TICKET_SECRET_ID, 401)


def test_a_403_that_is_not_an_operation_failure_names_the_secret(
    snow_fake: ServiceNowFake, snow: ServiceNowTarget, ref: TicketRef
) -> None:
    # Given a 403 without ServiceNow's "Operation Failed" (the API user's roles)
    snow_fake.failures.arm(403, 1)
    # When a step is written, Then the credentials (the account) are named
    with pytest.raises(PermanentError) as raised:
        snow.resolve(ref, "Resolved in BigPanda")
    assert not isinstance(raised.value, StepFailedError)
    assert raised.value.setting == Env.TICKET_SECRET_ID


# Reopen: a Closed or Canceled incident becomes a new, linked one.


def test_reopening_a_closed_incident_returns_the_new_incident(
    snow_fake: ServiceNowFake, snow: ServiceNowTarget, ref: TicketRef
) -> None:
    closed(snow_fake, snow, ref)

    new = snow.reopen(ref, "Reopened: active again")

    assert new is not None
    assert new.id != ref.id
    assert incident_row(snow_fake, new)["parent_incident"] == ref.id


def test_the_new_incident_of_a_reopen_carries_the_old_ones_fields_and_a_note_naming_it(
    snow_fake: ServiceNowFake, make_snow: Any
) -> None:
    # Given a routed incident, closed
    group = snow_fake.tables.add_group("Database")
    snow = make_snow(assignment_group=group, category="database")
    ref = snow.create(ticket_draft(priority="P1"))
    closed(snow_fake, snow, ref)
    # When it is reopened
    new = snow.reopen(ref, "Reopened: active again")
    # Then the new one has its fields and a work note naming the old number
    assert new is not None
    old, row = incident_row(snow_fake, ref), incident_row(snow_fake, new)
    carried = ("correlation_id", "short_description", "impact", "urgency", "assignment_group")
    assert {name: row[name] for name in (*carried, "category")} == {
        name: old[name] for name in (*carried, "category")
    }
    (note,) = snow_fake.journal(new.id)
    assert old["number"] in note
    assert "Reopened: active again" in note


def test_reopening_a_canceled_incident_returns_a_new_incident(
    snow_fake: ServiceNowFake, snow: ServiceNowTarget, ref: TicketRef
) -> None:
    snow_fake.tables.update("incident", ref.id, {"state": "8"}, "agent")

    new = snow.reopen(ref, "Reopened: active again")

    assert new is not None
    assert incident_row(snow_fake, new)["state"] == "2"


def test_reopening_a_resolved_incident_sets_it_in_progress_and_makes_no_new_one(
    snow_fake: ServiceNowFake, snow: ServiceNowTarget, ref: TicketRef
) -> None:
    snow.resolve(ref, "Resolved in BigPanda")

    assert snow.reopen(ref, "Reopened: active again") is None

    assert [row["state"] for row in snow_fake.tables.rows("incident")] == ["2"]


def test_after_a_reopen_the_incident_id_finds_the_new_incident(
    snow_fake: ServiceNowFake, snow: ServiceNowTarget, ref: TicketRef
) -> None:
    closed(snow_fake, snow, ref)
    new = snow.reopen(ref, "Reopened: active again")

    assert snow.find("incident-1") == new


# Assignment: active users, in a stable order, by a neutralised e-mail.


def test_assignment_chooses_the_oldest_of_two_active_accounts_with_the_email(
    snow_fake: ServiceNowFake, snow: ServiceNowTarget, ref: TicketRef
) -> None:
    first = snow_fake.tables.add_user("din", "din@example.com")
    snow_fake.tables.add_user("din.2", "din@example.com")

    assert snow.assign(ref, DIN) is True

    assert incident_row(snow_fake, ref)["assigned_to"] == first


def test_an_email_that_would_widen_the_user_lookup_assigns_nobody(
    snow_fake: ServiceNowFake, snow: ServiceNowTarget, ref: TicketRef
) -> None:
    # Given an e-mail whose "^OR" would match every active user
    sneaky = Assignee(user_id="bp-2", email="nobody@example.com^ORactive=true", name=None)
    # When the incident is assigned to it, Then nobody is
    assert snow.assign(ref, sneaky) is False
    assert incident_row(snow_fake, ref)["assigned_to"] == ""


# Routing: incidents land in a queue.


def test_a_create_routes_to_the_assignment_group_and_caller_given_by_name(
    snow_fake: ServiceNowFake, make_snow: Any
) -> None:
    group = snow_fake.tables.add_group("Database")
    caller = snow_fake.tables.add_user("bp", "bp@example.com", name="BigPanda Bot")
    snow = make_snow(assignment_group="Database", caller_id="BigPanda Bot")

    row = incident_row(snow_fake, snow.create(ticket_draft()))

    assert (row["assignment_group"], row["caller_id"]) == (group, caller)


def test_a_create_routes_to_the_assignment_group_given_by_sys_id(
    snow_fake: ServiceNowFake, make_snow: Any
) -> None:
    group = snow_fake.tables.add_group("Database")

    row = incident_row(snow_fake, make_snow(assignment_group=group).create(ticket_draft()))

    assert row["assignment_group"] == group


def test_a_create_sets_category_subcategory_and_extra_fields(
    snow_fake: ServiceNowFake, make_snow: Any
) -> None:
    snow = make_snow(category="database", subcategory="oracle")
    draft = replace(ticket_draft(), extra_fields=MappingProxyType({"urgency": "1"}))

    row = incident_row(snow_fake, snow.create(draft))

    assert (row["category"], row["subcategory"], row["urgency"]) == ("database", "oracle", "1")


def test_a_templated_extra_field_carries_each_incidents_value(
    snow_fake: ServiceNowFake, client: HttpClient, sample: dict[str, Any]
) -> None:
    # Given an extra field templated on an incident tag in the configuration
    section = {"category": "software", "extra_fields": {"subcategory": "{tag:service}"}}
    target = single_target("servicenow", snow_fake.url, servicenow=section).selected
    snow = servicenow_on(snow_fake, client, **servicenow_options(target))
    sample["incidentTags"] = [{"id": "service", "value": "checkout"}]
    payload = WebhookPayload.model_validate(sample)
    # When the incident's ticket is created from its draft
    ref = snow.create(draft_for(payload, mapping=target.draft_mapping))
    # Then the record's field holds this incident's tag value
    assert incident_row(snow_fake, ref)["subcategory"] == "checkout"


def test_an_update_leaves_routing_and_unnamed_fields_as_agents_set_them(
    snow_fake: ServiceNowFake, make_snow: Any
) -> None:
    # Given a routed incident whose impact an agent raised
    snow = make_snow(category="database")
    ref = snow.create(ticket_draft())
    snow_fake.tables.update("incident", ref.id, {"impact": "1", "category": "network"}, "agent")
    # When only its title is updated
    snow.update(ref, ticket_draft(priority="P5"), fields=frozenset({"title"}))
    # Then the agent's impact and category stay
    row = incident_row(snow_fake, ref)
    assert (row["impact"], row["category"]) == ("1", "network")


# Encoded queries: no value changes the query.


@pytest.mark.parametrize("incident_id", ["a^ORb", "a\nORb", "javascript:gs.getUserID()"])
def test_an_incident_id_that_could_change_the_query_finds_only_its_own_incident(
    snow_fake: ServiceNowFake, snow: ServiceNowTarget, incident_id: str
) -> None:
    # Given incidents for "b" and for the api user's sys_id (what the script would give)
    snow.create(ticket_draft("b"))
    snow.create(ticket_draft(snow_fake.tables.api_user_sys_id))
    # When the id is looked up before and after its own create
    before = snow.find(incident_id)
    own = snow.create(ticket_draft(incident_id))
    # Then nothing else was found, its own incident is, and no script ran
    assert (before, snow.find(incident_id)) == (None, own)
    assert snow_fake.tables.evaluated_scripts == []


@pytest.mark.parametrize("incident_id", list(HARD_IDS.values()), ids=list(HARD_IDS))
def test_any_incident_id_is_created_and_found_again(
    snow: ServiceNowTarget, incident_id: str
) -> None:
    ref = snow.create(ticket_draft(incident_id))
    assert snow.find(incident_id) == ref
