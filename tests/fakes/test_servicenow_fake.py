"""The ServiceNow stand-in behaves as ServiceNow's Table API documentation says an instance
does, over real HTTP: the shapes, the encoded queries, the incident rules and the faults."""

from __future__ import annotations

import time

import pytest
import urllib3
from fakes_support import SNOW_TOKEN, SnowCall

from local.fakes.servicenow import ServiceNowFake

INCIDENTS = "/api/now/table/incident"
USERS = "/api/now/table/sys_user"


def incident_path(record: dict[str, str]) -> str:
    return f"{INCIDENTS}/{record['sys_id']}"


def resolve_fields(**overrides: str) -> dict[str, str]:
    return {
        "state": "6",
        "close_code": "Solution provided",
        "close_notes": "Fixed.",
        **overrides,
    }


def test_every_answer_is_wrapped_in_result(snow: SnowCall, incident: dict[str, str]) -> None:
    """Given an incident, when it is read alone and in a list, both answers are {"result"}."""
    one = snow("GET", incident_path(incident)).json()
    many = snow("GET", INCIDENTS).json()

    assert one["result"]["number"] == incident["number"]
    assert [record["sys_id"] for record in many["result"]] == [incident["sys_id"]]


def test_a_create_answers_201_with_the_records_location(snow: SnowCall) -> None:
    """When an incident is created, the answer is 201 and Location reads the new record."""
    answer = snow("POST", INCIDENTS, {"short_description": "Disk full"})

    assert answer.status == 201
    created = answer.json()["result"]
    assert created["number"] == "INC0010001"
    assert created["state"] == "1"
    path = answer.headers["Location"].split("127.0.0.1", 1)[1].split("/", 1)[1]
    assert snow("GET", "/" + path).json()["result"]["sys_id"] == created["sys_id"]


def test_an_invalid_query_term_is_ignored_and_widens_the_query(
    snow: SnowCall, incident: dict[str, str]
) -> None:
    """Given one incident, when the query's only term names an unknown field (the case of a
    value that smuggled in a ``^``), then every incident matches instead of none."""
    typo = snow("GET", INCIDENTS, sysparm_query="correlation_idd=nothing").json()["result"]
    smuggled = snow("GET", INCIDENTS, sysparm_query="correlation_id=x^ORnumberSTARTSWITHINC")

    assert [record["sys_id"] for record in typo] == [incident["sys_id"]]
    assert len(smuggled.json()["result"]) == 1


def test_a_javascript_value_is_evaluated_by_the_instance(
    snow: SnowCall, snow_fake: ServiceNowFake
) -> None:
    """Given an incident called in by the API user, when a query's value is
    ``javascript:gs.getUserID()``, then the instance runs it and matches the API user."""
    user = snow_fake.tables.api_user_sys_id
    snow("POST", INCIDENTS, {"short_description": "Mine", "caller_id": user})
    snow("POST", INCIDENTS, {"short_description": "Not mine"})

    mine = snow("GET", INCIDENTS, sysparm_query="caller_id=javascript:gs.getUserID()")

    assert [r["short_description"] for r in mine.json()["result"]] == ["Mine"]
    assert snow_fake.tables.evaluated_scripts == ["gs.getUserID()"]


def test_resolving_without_a_close_code_is_refused_by_the_data_policy(
    snow: SnowCall, incident: dict[str, str]
) -> None:
    """When an incident is set to Resolved without close_code, the answer is 403 in
    ServiceNow's error shape and the incident stays New."""
    answer = snow("PATCH", incident_path(incident), {"state": "6", "close_notes": "Fixed."})

    assert answer.status == 403
    document = answer.json()
    assert document["status"] == "failure"
    assert document["error"]["message"] == "Operation Failed"
    assert document["error"]["detail"].startswith("Data Policy Exception:")
    assert snow("GET", incident_path(incident)).json()["result"]["state"] == "1"


def test_a_close_code_outside_the_choice_list_is_refused(
    snow: SnowCall, incident: dict[str, str]
) -> None:
    """Given current releases' choices, when the older "Solved (Permanently)" is sent, the
    resolve is refused like any data policy breach."""
    answer = snow(
        "PATCH", incident_path(incident), resolve_fields(close_code="Solved (Permanently)")
    )

    assert answer.status == 403
    assert "Solved (Permanently)" in answer.json()["error"]["detail"]


def test_the_close_code_choices_are_configurable() -> None:
    """Given an instance whose admin kept the older list, "Solved (Permanently)" is a choice."""
    fake = ServiceNowFake(close_codes=("Solved (Permanently)",))
    rows = fake.tables.query("sys_choice", "element=close_code")

    assert [row["value"] for row in rows] == ["Solved (Permanently)"]


def test_a_closed_incident_cannot_be_reopened(
    snow: SnowCall, snow_fake: ServiceNowFake, incident: dict[str, str]
) -> None:
    """Given a Closed incident, when its state is set to In Progress, the answer is 200 and
    the state stays Closed."""
    snow("PATCH", incident_path(incident), resolve_fields())
    snow_fake.tables.close_resolved()

    answer = snow("PATCH", incident_path(incident), {"state": "2", "work_notes": "Back again"})

    assert answer.status == 200
    assert answer.json()["result"]["state"] == "7"
    assert snow("GET", incident_path(incident)).json()["result"]["state"] == "7"


def test_other_fields_of_a_closed_incident_are_refused_by_the_acl(
    snow: SnowCall, snow_fake: ServiceNowFake, incident: dict[str, str]
) -> None:
    """Given a Closed incident, when its description is changed, the answer is 403."""
    snow("PATCH", incident_path(incident), resolve_fields())
    snow_fake.tables.close_resolved()

    answer = snow("PATCH", incident_path(incident), {"short_description": "Edited"})

    assert answer.status == 403
    assert answer.json()["error"]["detail"].startswith("ACL Exception")


def test_a_resolved_incident_is_auto_closed_after_the_delay(
    snow: SnowCall, snow_fake: ServiceNowFake, incident: dict[str, str]
) -> None:
    """Given auto-close after 0.2 s, a Resolved incident reads Resolved at once and Closed
    after the delay."""
    snow_fake.tables.auto_close_seconds = 0.2
    snow("PATCH", incident_path(incident), resolve_fields())
    at_once = snow("GET", incident_path(incident)).json()["result"]["state"]

    time.sleep(0.3)

    assert at_once == "6"
    assert snow("GET", incident_path(incident)).json()["result"]["state"] == "7"


def test_a_work_note_is_written_to_the_journal(snow: SnowCall, incident: dict[str, str]) -> None:
    """When a work note is PATCHed, sys_journal_field holds it for the incident, the field
    itself reads empty and sys_mod_count counts the update."""
    updated = snow("PATCH", incident_path(incident), {"work_notes": "Looking into it"})
    query = f"element=work_notes^element_id={incident['sys_id']}"
    journal = snow("GET", "/api/now/table/sys_journal_field", sysparm_query=query)

    assert [entry["value"] for entry in journal.json()["result"]] == ["Looking into it"]
    assert updated.json()["result"]["work_notes"] == ""
    assert updated.json()["result"]["sys_mod_count"] == "1"


def test_inactive_users_are_returned_unless_the_query_asks_for_active_ones(
    snow: SnowCall, snow_fake: ServiceNowFake
) -> None:
    """Given two accounts with one e-mail, the older one deactivated, a lookup by e-mail
    returns both (the inactive first) and only ``active=true`` leaves the active one."""
    old = snow_fake.tables.add_user("din.old", "din@example.com", active=False)
    new = snow_fake.tables.add_user("din", "din@example.com")

    by_email = snow("GET", USERS, sysparm_query="email=din@example.com", sysparm_fields="sys_id")
    active = snow("GET", USERS, sysparm_query="email=din@example.com^active=true")

    assert [user["sys_id"] for user in by_email.json()["result"]] == [old, new]
    assert [user["sys_id"] for user in active.json()["result"]] == [new]


def test_queries_order_and_or_as_documented(snow: SnowCall) -> None:
    """Given three incidents, ``^OR`` joins two terms and ORDERBYDESC sorts by number."""
    for text in ("alpha", "beta", "gamma"):
        snow("POST", INCIDENTS, {"short_description": text})

    query = "short_description=alpha^ORshort_descriptionLIKEmm^ORDERBYDESCnumber"
    found = snow("GET", INCIDENTS, sysparm_query=query, sysparm_fields="short_description")

    assert found.json()["result"] == [
        {"short_description": "gamma"},
        {"short_description": "alpha"},
    ]


def test_references_take_display_values_with_sysparm_input_display_value(
    snow: SnowCall, snow_fake: ServiceNowFake
) -> None:
    """Given a group "Network Ops", when an incident is created with that name and
    ``sysparm_input_display_value=true``, assignment_group holds the group's sys_id and reads
    back with its display value."""
    group = snow_fake.tables.add_group("Network Ops")

    created = snow(
        "POST", INCIDENTS, {"assignment_group": "Network Ops"}, sysparm_input_display_value="true"
    ).json()["result"]
    shown = snow(
        "GET",
        incident_path(created),
        sysparm_display_value="true",
        sysparm_fields="assignment_group,state",
    ).json()["result"]

    assert created["assignment_group"]["value"] == group
    assert shown["assignment_group"]["display_value"] == "Network Ops"
    assert shown["state"] == "New"


@pytest.mark.parametrize("authorization", [None, "Basic bm9ib2R5Om5vcGU=", "Bearer wrong"])
def test_a_call_without_valid_credentials_answers_401(
    snow: SnowCall, authorization: str | None
) -> None:
    """When a call has no, or wrong, Basic or Bearer credentials, the answer is 401."""
    headers = {"Authorization": authorization} if authorization else {}

    answer = snow("GET", INCIDENTS, auth=False, headers=headers)

    assert answer.status == 401
    assert answer.json()["status"] == "failure"


def test_a_bearer_token_is_accepted(snow: SnowCall) -> None:
    """When a call carries the configured OAuth token, it is answered."""
    answer = snow("GET", INCIDENTS, auth=False, headers={"Authorization": f"Bearer {SNOW_TOKEN}"})

    assert answer.status == 200


def test_planned_429s_carry_retry_after_and_rate_limit_headers(
    snow: SnowCall, snow_fake: ServiceNowFake
) -> None:
    """Given two planned 429s, the next two calls answer 429 with Retry-After and
    X-RateLimit-*, and the third is served."""
    snow_fake.failures.arm(429, 2, retry_after=1)

    limited = [snow("GET", INCIDENTS) for _ in range(2)]
    served = snow("GET", INCIDENTS)

    assert [answer.status for answer in limited] == [429, 429]
    assert limited[0].headers["Retry-After"] == "1"
    assert limited[0].headers["X-RateLimit-Remaining"] == "0"
    assert {"X-RateLimit-Limit", "X-RateLimit-Reset"} <= set(limited[0].headers)
    assert served.status == 200


def test_a_503_burst_is_armed_through_the_control_route(
    snow: SnowCall, snow_fake: ServiceNowFake, pool: urllib3.PoolManager
) -> None:
    """When a person arms a burst of 503s at /_fake/fail, the next calls answer 503."""
    pool.request("POST", snow_fake.url + "_fake/fail?status=503&count=1")

    assert [snow("GET", INCIDENTS).status for _ in range(2)] == [503, 200]


def test_a_slow_answer_times_out_the_client_but_the_write_happened(
    snow: SnowCall, snow_fake: ServiceNowFake, incident: dict[str, str]
) -> None:
    """Given the next PATCH answered after 0.5 s, a client that waits 0.1 s times out, and the
    work note is in the journal all the same."""
    snow_fake.slowness.arm(0.5, 1, "PATCH")

    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        snow("PATCH", incident_path(incident), {"work_notes": "Saved"}, timeout=0.1)

    assert snow_fake.journal(incident["sys_id"]) == ["Saved"]


def test_every_table_api_request_is_recorded(
    snow: SnowCall, snow_fake: ServiceNowFake, incident: dict[str, str]
) -> None:
    """Given a create, a query is recorded with its method, path and query parameters."""
    snow("GET", INCIDENTS, sysparm_query="active=true")

    assert [(r.method, r.path) for r in snow_fake.requests] == [
        ("POST", INCIDENTS),
        ("GET", INCIDENTS),
    ]
    assert snow_fake.requests[1].query["sysparm_query"] == ["active=true"]


def test_people_turn_the_knobs_through_the_control_routes(
    snow: SnowCall, snow_fake: ServiceNowFake, incident: dict[str, str], pool: urllib3.PoolManager
) -> None:
    """When a person adds a deactivated user and closes resolved incidents at /_fake/, the
    Table API shows both."""
    knobs = snow_fake.url + "_fake/"
    pool.request(
        "POST", knobs + "users", json={"user_name": "old", "email": "o@x", "active": False}
    )
    snow("PATCH", incident_path(incident), resolve_fields())

    closed = pool.request("POST", knobs + "auto_close").json()["closed"]

    users = snow("GET", USERS, sysparm_query="user_name=old", sysparm_fields="active").json()
    assert users["result"] == [{"active": "false"}]
    assert closed == [incident["sys_id"]]
    assert snow("GET", incident_path(incident)).json()["result"]["state"] == "7"
