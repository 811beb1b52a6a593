"""The ``servicenow`` and ``http`` adapters against the desks' stand-ins, on what real
instances do that a naive adapter gets wrong: a saved note whose answer is lost, data-policy
refusals, auto-closed incidents, deactivated users, scripts in queries, agents' triage edits,
and incident ids that no header can carry as they are.
"""

from __future__ import annotations

from typing import Any

import pytest
from adapter_support import LATE_SECONDS, incident_row, servicenow_on, ticket_draft
from fakes_support import DESK_SECRET, SNOW_PASSWORD, SNOW_USER

from local.demo.service_desk import DemoDesk
from local.fakes.servicenow import ServiceNowFake
from pandabridge.errors import PermanentError, RetryableError
from pandabridge.http import HttpClient
from pandabridge.names import Env
from pandabridge.sync import comment_key
from pandabridge.tickets.factory import build_target
from pandabridge.tickets.model import Assignee, TicketTarget
from tests.unit.core.deliveries import later, with_comment
from tests.unit.core.world import World
from tests.unit.tickets.ticket_support import target_settings

OLDER_CLOSE_CODE = "Solved (Permanently)"


Payload = dict[str, Any]


@pytest.fixture
def snow(snow_fake: ServiceNowFake, client: HttpClient) -> TicketTarget:
    """The adapter as the factory builds it, on an instance with current releases' codes."""
    settings = target_settings("servicenow", snow_fake.url.rstrip("/"))
    return build_target(settings, {"username": SNOW_USER, "password": SNOW_PASSWORD}, client)


@pytest.fixture
def generic(desk: DemoDesk, client: HttpClient) -> TicketTarget:
    settings = target_settings("http", desk.url.rstrip("/"))
    return build_target(settings, {"hmac_secret": DESK_SECRET}, client)


def test_a_servicenow_429_is_retried_after_the_instances_retry_after(
    snow_fake: ServiceNowFake, snow: TicketTarget
) -> None:
    """Given a rate-limited instance, the lookup is retryable after its Retry-After."""
    snow_fake.failures.arm(429, 1, retry_after=3)

    with pytest.raises(RetryableError) as raised:
        snow.find("incident-1")

    assert raised.value.retry_after == 3


def test_a_servicenow_work_note_retried_after_a_timeout_is_in_the_journal_once(
    snow_fake: ServiceNowFake, snow: TicketTarget
) -> None:
    """Given the work-note PATCH answered after the client's timeout, when the comment is
    retried, the journal holds it once."""
    ref = snow.create(ticket_draft())
    snow_fake.slowness.arm(LATE_SECONDS, 1, "PATCH")
    with pytest.raises(RetryableError):
        snow.comment(ref, "Acknowledged", comment_key("Acknowledged"))

    snow.comment(ref, "Acknowledged", comment_key("Acknowledged"), after_unknown_outcome=True)

    assert snow_fake.journal(ref.id) == ["Acknowledged"]


def test_servicenow_resolve_passes_the_data_policy_of_a_current_instance(
    snow_fake: ServiceNowFake, snow: TicketTarget
) -> None:
    """Given an instance on current releases' close codes, resolving leaves it Resolved."""
    ref = snow.create(ticket_draft())

    snow.resolve(ref, "Resolved in BigPanda")

    assert incident_row(snow_fake, ref)["state"] == "6"


def test_a_servicenow_data_policy_refusal_does_not_name_the_credentials(
    snow_fake: ServiceNowFake, client: HttpClient
) -> None:
    """Given an instance whose close codes lack the configured one, when the instance refuses
    a resolve by data policy, the error does not point at the credentials (they worked: the
    create before it succeeded)."""
    snow = servicenow_on(snow_fake, client, close_code=OLDER_CLOSE_CODE)
    ref = snow.create(ticket_draft())

    with pytest.raises(PermanentError) as raised:
        snow.resolve(ref, "Resolved in BigPanda")

    assert raised.value.setting != Env.TICKET_SECRET_ID


def test_reopening_an_auto_closed_servicenow_incident_leaves_an_open_linked_one(
    snow_fake: ServiceNowFake, snow: TicketTarget
) -> None:
    """Given an incident resolved and then auto-closed, when it is reopened, an open incident
    linked to the closed one (parent_incident) exists."""
    ref = snow.create(ticket_draft())
    snow.resolve(ref, "Resolved in BigPanda")
    snow_fake.tables.close_resolved()

    snow.reopen(ref, "Active again in BigPanda")

    rows = snow_fake.tables.rows("incident")
    assert [r["state"] for r in rows if r["parent_incident"] == ref.id] == ["2"]


def test_servicenow_assignment_skips_a_deactivated_account_with_the_same_email(
    snow_fake: ServiceNowFake, snow: TicketTarget
) -> None:
    """Given a deactivated and an active account with one e-mail, the active one is
    assigned."""
    snow_fake.tables.add_user("din.old", "din@example.com", active=False)
    active = snow_fake.tables.add_user("din", "din@example.com")
    ref = snow.create(ticket_draft())

    snow.assign(ref, Assignee(user_id="bp-1", email="din@example.com", name="Din"))

    assert incident_row(snow_fake, ref)["assigned_to"] == active


def test_a_servicenow_lookup_never_makes_the_instance_run_a_script(
    snow_fake: ServiceNowFake, snow: TicketTarget
) -> None:
    """When an incident id starts with ``javascript:``, looking its ticket up runs nothing."""
    snow.find("javascript:gs.getUserID()")

    assert snow_fake.tables.evaluated_scripts == []


def test_a_new_version_keeps_the_servicenow_agents_priority(
    snow_fake: ServiceNowFake, snow: TicketTarget, sample: Payload
) -> None:
    """Failure 9 on ServiceNow: given an agent who raised the incident's impact and urgency,
    a new version whose severity renders another priority leaves them as the agent set them
    (the priority is written on create only), while the short description follows."""
    world = World(target=snow)  # type: ignore[arg-type]  # the real adapter, not the fake desk
    ref = world.sync(sample).ticket
    assert ref is not None
    snow_fake.tables.update("incident", ref.id, {"impact": "1", "urgency": "1"}, "agent")

    world.sync(later(sample, severity="Warning", status="Warning"))

    row = incident_row(snow_fake, ref)
    assert (row["impact"], row["urgency"]) == ("1", "1")
    assert row["short_description"].endswith("- Warning")


def test_an_incident_id_outside_latin_1_becomes_an_http_ticket(
    desk: DemoDesk, generic: TicketTarget
) -> None:
    """When the incident id is CJK text, the ticket is created and found by that id."""
    ref = generic.create(ticket_draft("事件-1"))

    assert generic.find("事件-1") == ref


def test_an_http_comment_retried_after_a_timeout_is_posted_once(
    desk: DemoDesk, generic: TicketTarget
) -> None:
    """Given the comment POST answered after the client's timeout, when the comment is
    retried, the ticket has it once."""
    ref = generic.create(ticket_draft())
    desk.slowness.arm(LATE_SECONDS, 1, "POST")
    key = comment_key("Acknowledged")
    with pytest.raises(RetryableError):
        generic.comment(ref, "Acknowledged", key)

    generic.comment(ref, "Acknowledged", key, after_unknown_outcome=True)

    (record,) = desk.book.records()
    assert [comment["body"] for comment in record["comments"]] == ["Acknowledged"]


def test_a_version_rendering_the_same_fields_keeps_the_http_agents_title(
    desk: DemoDesk, generic: TicketTarget, sample: Payload
) -> None:
    """Failure 9 on http: given an agent who retitled the ticket, a new version whose
    rendered fields did not change (a comment only) writes no field."""
    world = World(target=generic)  # type: ignore[arg-type]  # the real adapter
    ref = world.sync(sample).ticket
    assert ref is not None
    desk.book.update(ref.id, {"title": "Agent's title"})

    world.sync(with_comment(sample, "looking"))

    (record,) = desk.book.records()
    assert record["title"] == "Agent's title"
    assert [comment["body"] for comment in record["comments"]] == ["looking"]
