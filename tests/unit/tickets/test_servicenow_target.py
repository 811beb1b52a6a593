"""The ``servicenow`` target uses the Table API on ``incident``, correlated by incident id."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from pytest_httpserver import HTTPServer, RequestHandler
from ticket_support import CREDENTIALS, INCIDENT_ID, Expect, TargetFactory, basic

from pandabridge.tickets.model import Assignee, TicketDraft, TicketRef, TicketTarget
from pandabridge.tickets.servicenow import (
    MAX_DESCRIPTION_CHARS,
    MAX_SHORT_DESCRIPTION_CHARS,
    NEWEST_FIRST,
)

USER = CREDENTIALS["servicenow"]
AUTH = {"Authorization": basic(USER["username"], USER["password"])}
TABLE = "/api/now/table/incident"
SYS_ID = "9d385017c611228701d22104cc95c371"
REF = TicketRef(id=SYS_ID, key="INC0010001")
RECORD = f"{TABLE}/{SYS_ID}"


@pytest.fixture
def snow(make_target: TargetFactory) -> TicketTarget:
    return make_target("servicenow")


@pytest.fixture
def expect(httpserver: HTTPServer) -> Expect:
    """``expect(method, path, ...)``: an ordered request carrying the Basic credentials."""

    def register(method: str, path: str, **match: Any) -> RequestHandler:
        return httpserver.expect_ordered_request(path, method=method, headers=AUTH, **match)

    return register


def find_query(incident_id: str) -> dict[str, str]:
    return {
        "sysparm_query": f"correlation_id={incident_id}^{NEWEST_FIRST}",
        "sysparm_fields": "sys_id,number,state",
        "sysparm_limit": "1",
    }


def test_find_queries_the_correlation_id_and_finds_nothing(
    expect: Expect, snow: TicketTarget
) -> None:
    expect("GET", TABLE, query_string=find_query(INCIDENT_ID)).respond_with_json({"result": []})
    assert snow.find(INCIDENT_ID) is None


def test_find_url_encodes_the_query(
    httpserver: HTTPServer, expect: Expect, snow: TicketTarget
) -> None:
    expect("GET", TABLE).respond_with_json({"result": []})
    snow.find(INCIDENT_ID)
    request, _ = httpserver.log[0]
    assert f"sysparm_query=correlation_id%3D{INCIDENT_ID}" in request.environ["REQUEST_URI"]


def test_create_posts_correlation_and_impact_urgency(
    expect: Expect, snow: TicketTarget, draft: TicketDraft, base_url: str
) -> None:
    # Given an instance that creates incidents
    expect(
        "POST",
        TABLE,
        query_string={"sysparm_fields": "sys_id,number"},
        json={
            "correlation_id": INCIDENT_ID,
            "correlation_display": "BigPanda",
            "short_description": "BigPanda Incident: P1 - Evyatar-11 - Critical",
            "description": draft.description,
            "impact": "1",
            "urgency": "1",
        },
    ).respond_with_json({"result": {"sys_id": SYS_ID, "number": "INC0010001"}}, status=201)
    # When the draft is created, Then the record's sys_id and number come back
    assert snow.create(draft) == TicketRef(
        id=SYS_ID, key="INC0010001", url=f"{base_url}/incident.do?sys_id={SYS_ID}"
    )


@pytest.mark.parametrize(
    ("priority", "impact", "urgency"),
    [("P1", "1", "1"), ("P2", "1", "2"), ("P3", "2", "2"), ("P4", "2", "3"), ("P5", "3", "3")],
)
def test_update_patches_text_and_priority_as_impact_and_urgency(
    expect: Expect, snow: TicketTarget, draft: TicketDraft, priority: str, impact: str, urgency: str
) -> None:
    expect(
        "PATCH",
        RECORD,
        json={
            "short_description": draft.title,
            "description": draft.description,
            "impact": impact,
            "urgency": urgency,
        },
    ).respond_with_json({"result": {}})
    snow.update(REF, replace(draft, priority=priority))


def test_long_title_and_description_are_cut_to_the_fields(
    httpserver: HTTPServer, expect: Expect, snow: TicketTarget, draft: TicketDraft
) -> None:
    # Given a draft longer than ServiceNow's fields
    long = replace(draft, title="t" * 300, description="d\n" * 5000)
    expect("PATCH", RECORD).respond_with_json({"result": {}})
    # When the incident is updated
    snow.update(REF, long)
    # Then both fit their fields
    sent = httpserver.log[0][0].get_json()
    assert len(sent["short_description"]) == MAX_SHORT_DESCRIPTION_CHARS
    assert len(sent["description"]) <= MAX_DESCRIPTION_CHARS


def test_long_incident_id_gets_a_correlation_id_that_fits(
    httpserver: HTTPServer, expect: Expect, snow: TicketTarget
) -> None:
    expect("GET", TABLE).respond_with_json({"result": []})
    snow.find("x" * 150)
    query = httpserver.log[0][0].args["sysparm_query"]
    correlation = query.removeprefix("correlation_id=").removesuffix(f"^{NEWEST_FIRST}")
    assert correlation.startswith("xxx")
    assert len(correlation) == 100


def test_assign_to_an_unknown_user_changes_nothing(
    expect: Expect, snow: TicketTarget, assignee: Assignee
) -> None:
    expect("GET", "/api/now/table/sys_user").respond_with_json({"result": []})
    assert snow.assign(REF, assignee) is False


def test_a_reopen_answered_200_with_the_state_unchanged_makes_a_linked_incident(
    expect: Expect, snow: TicketTarget, base_url: str
) -> None:
    # Given an incident that reads Resolved, but that the instance closes before the PATCH
    # (so the PATCH answers 200 and keeps it Closed)
    expect("GET", RECORD).respond_with_json({"result": {"state": "6"}})
    expect("PATCH", RECORD).respond_with_json({"result": {"state": "7"}})
    expect("GET", RECORD).respond_with_json(
        {"result": {"number": "INC0010001", "short_description": "Disk full"}}
    )
    expect(
        "POST",
        TABLE,
        json={
            "short_description": "Disk full",
            "state": "2",
            "parent_incident": SYS_ID,
            "work_notes": "Reopens INC0010001, which is closed and cannot be reopened.\nnote",
        },
    ).respond_with_json({"result": {"sys_id": "new-1", "number": "INC0010002"}}, status=201)
    # When it is reopened, Then the new incident is the ticket now
    assert snow.reopen(REF, "note") == TicketRef(
        id="new-1", key="INC0010002", url=f"{base_url}/incident.do?sys_id=new-1"
    )


def test_token_credentials_are_sent_as_bearer(
    httpserver: HTTPServer, make_target: TargetFactory
) -> None:
    snow = make_target("servicenow", credentials={"token": "oauth-access-token-123"})
    httpserver.expect_request(
        TABLE, headers={"Authorization": "Bearer oauth-access-token-123"}
    ).respond_with_json({"result": []})
    assert snow.find(INCIDENT_ID) is None


def test_reads_are_consistent(snow: TicketTarget) -> None:
    assert (snow.name, snow.find_is_consistent, snow.supports_assignment) == (
        "servicenow",
        True,
        True,
    )
