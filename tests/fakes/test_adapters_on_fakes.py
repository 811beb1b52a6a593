"""Today's ``servicenow`` and ``http`` adapters against the desks' stand-ins.

Each expected failure documents a known defect of the adapters: it fails today for the reason
it names (its ``raises``, so that a broken set-up is an error, not an expected failure), and
starts passing (so must lose its mark) when the defect is fixed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import urllib3
from fakes_support import DESK_SECRET, SNOW_PASSWORD, SNOW_USER

from local.demo.service_desk import DemoDesk
from local.fakes.servicenow import ServiceNowFake
from pandabridge.errors import PermanentError, RetryableError
from pandabridge.http import HttpClient
from pandabridge.names import Env
from pandabridge.tickets.factory import build_target
from pandabridge.tickets.model import Assignee, TicketDraft, TicketRef, TicketStatus, TicketTarget
from tests.unit.tickets.ticket_support import target_settings

# Short enough for a late answer to time out quickly, ample for a loopback call.
CLIENT_TIMEOUT_SECONDS = 0.3
LATE_SECONDS = 0.6
OLDER_CLOSE_CODE = "Solved (Permanently)"


def ticket_draft(incident_id: str = "incident-1", priority: str = "P3") -> TicketDraft:
    return TicketDraft(
        incident_id=incident_id,
        title="BigPanda Incident: P3 - db-1 - Active",
        description="Disk full on db-1",
        priority=priority,
        status=TicketStatus.OPEN,
    )


@pytest.fixture
def client() -> Iterator[HttpClient]:
    pool = urllib3.PoolManager(retries=False)
    yield HttpClient(timeout_seconds=CLIENT_TIMEOUT_SECONDS, pool=pool)
    pool.clear()


@pytest.fixture
def older_instance() -> Iterator[ServiceNowFake]:
    """An instance that kept the older close codes, so that today's resolve succeeds."""
    fake = ServiceNowFake(
        username=SNOW_USER, password=SNOW_PASSWORD, close_codes=(OLDER_CLOSE_CODE,)
    ).start()
    yield fake
    fake.stop()


def servicenow_on(fake: ServiceNowFake, client: HttpClient) -> TicketTarget:
    settings = target_settings("servicenow", fake.url.rstrip("/"))
    return build_target(settings, {"username": SNOW_USER, "password": SNOW_PASSWORD}, client)


@pytest.fixture
def snow(snow_fake: ServiceNowFake, client: HttpClient) -> TicketTarget:
    """Today's adapter on an instance with current releases' close codes."""
    return servicenow_on(snow_fake, client)


@pytest.fixture
def generic(desk: DemoDesk, client: HttpClient) -> TicketTarget:
    settings = target_settings("http", desk.url.rstrip("/"))
    return build_target(settings, {"hmac_secret": DESK_SECRET}, client)


def incident_row(fake: ServiceNowFake, ref: TicketRef) -> dict[str, str]:
    (row,) = [r for r in fake.tables.rows("incident") if r["sys_id"] == ref.id]
    return row


def test_a_servicenow_429_is_retried_after_the_instances_retry_after(
    snow_fake: ServiceNowFake, snow: TicketTarget
) -> None:
    """Given a rate-limited instance, the lookup is retryable after its Retry-After."""
    snow_fake.failures.arm(429, 1, retry_after=3)

    with pytest.raises(RetryableError) as raised:
        snow.find("incident-1")

    assert raised.value.retry_after == 3


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="known defect: a work note saved but answered late is added again on retry",
)
def test_a_servicenow_work_note_retried_after_a_timeout_is_in_the_journal_once(
    snow_fake: ServiceNowFake, snow: TicketTarget
) -> None:
    """Given the work-note PATCH answered after the client's timeout, when the comment is
    retried, the journal holds it once."""
    ref = snow.create(ticket_draft())
    snow_fake.slowness.arm(LATE_SECONDS, 1, "PATCH")
    with pytest.raises(RetryableError):
        snow.comment(ref, "Acknowledged")

    snow.comment(ref, "Acknowledged")

    assert snow_fake.journal(ref.id) == ["Acknowledged"]


@pytest.mark.xfail(
    strict=True,
    raises=PermanentError,
    reason="known defect: close_code 'Solved (Permanently)' is not a current release's code",
)
def test_servicenow_resolve_passes_the_data_policy_of_a_current_instance(
    snow_fake: ServiceNowFake, snow: TicketTarget
) -> None:
    """Given an instance on current releases' close codes, resolving leaves it Resolved."""
    ref = snow.create(ticket_draft())

    snow.resolve(ref, "Resolved in BigPanda")

    assert incident_row(snow_fake, ref)["state"] == "6"


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="known defect: a data-policy 403 is blamed on the credentials secret",
)
def test_a_servicenow_data_policy_refusal_does_not_name_the_credentials(
    snow: TicketTarget,
) -> None:
    """When the instance refuses a resolve by data policy, the error does not point at the
    credentials (they worked: the create before it succeeded)."""
    ref = snow.create(ticket_draft())

    with pytest.raises(PermanentError) as raised:
        snow.resolve(ref, "Resolved in BigPanda")

    assert raised.value.setting != Env.TICKET_SECRET_ID


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="known defect: reopening an auto-closed incident answers 200 and changes nothing",
)
def test_reopening_an_auto_closed_servicenow_incident_leaves_an_open_linked_one(
    older_instance: ServiceNowFake, client: HttpClient
) -> None:
    """Given an incident resolved and then auto-closed, when it is reopened, an open incident
    linked to the closed one (parent_incident) exists."""
    snow = servicenow_on(older_instance, client)
    ref = snow.create(ticket_draft())
    snow.resolve(ref, "Resolved in BigPanda")
    older_instance.tables.close_resolved()

    snow.reopen(ref, "Active again in BigPanda")

    rows = older_instance.tables.rows("incident")
    assert [r["state"] for r in rows if r["parent_incident"] == ref.id] == ["2"]


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="known defect: the sys_user lookup by e-mail may choose a deactivated account",
)
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


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="known defect: 'javascript:' in an incident id reaches sysparm_query unchanged",
)
def test_a_servicenow_lookup_never_makes_the_instance_run_a_script(
    snow_fake: ServiceNowFake, snow: TicketTarget
) -> None:
    """When an incident id starts with ``javascript:``, looking its ticket up runs nothing."""
    snow.find("javascript:gs.getUserID()")

    assert snow_fake.tables.evaluated_scripts == []


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="known defect: an update with unchanged values overwrites the agent's triage edit",
)
def test_an_unchanged_servicenow_update_keeps_the_agents_priority(
    snow_fake: ServiceNowFake, snow: TicketTarget
) -> None:
    """Given an agent who raised the incident's impact and urgency, an update whose rendered
    values did not change leaves them as the agent set them."""
    draft = ticket_draft()
    ref = snow.create(draft)
    snow_fake.tables.update("incident", ref.id, {"impact": "1", "urgency": "1"}, "agent")

    snow.update(ref, draft)

    assert (incident_row(snow_fake, ref)["impact"], incident_row(snow_fake, ref)["urgency"]) == (
        "1",
        "1",
    )


@pytest.mark.xfail(
    strict=True,
    raises=UnicodeEncodeError,
    reason="known defect: an incident id outside Latin-1 goes raw into Idempotency-Key",
)
def test_an_incident_id_outside_latin_1_becomes_an_http_ticket(
    desk: DemoDesk, generic: TicketTarget
) -> None:
    """When the incident id is CJK text, the ticket is created and found by that id."""
    ref = generic.create(ticket_draft("事件-1"))

    assert generic.find("事件-1") == ref


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="known defect: an http comment saved but answered late is posted again on retry",
)
def test_an_http_comment_retried_after_a_timeout_is_posted_once(
    desk: DemoDesk, generic: TicketTarget
) -> None:
    """Given the comment POST answered after the client's timeout, when the comment is
    retried, the ticket has it once."""
    ref = generic.create(ticket_draft())
    desk.slowness.arm(LATE_SECONDS, 1, "POST")
    with pytest.raises(RetryableError):
        generic.comment(ref, "Acknowledged")

    generic.comment(ref, "Acknowledged")

    (record,) = desk.book.records()
    assert [comment["body"] for comment in record["comments"]] == ["Acknowledged"]


@pytest.mark.xfail(
    strict=True,
    raises=AssertionError,
    reason="known defect: an update with unchanged values overwrites the agent's title",
)
def test_an_unchanged_http_update_keeps_the_agents_title(
    desk: DemoDesk, generic: TicketTarget
) -> None:
    """Given an agent who retitled the ticket, an update whose rendered values did not change
    leaves the agent's title."""
    draft = ticket_draft()
    ref = generic.create(draft)
    desk.book.update(ref.id, {"title": "Agent's title"})

    generic.update(ref, draft)

    (record,) = desk.book.records()
    assert record["title"] == "Agent's title"
