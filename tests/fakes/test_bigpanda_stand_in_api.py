"""The BigPanda stand-in's Incidents API v2 over raw HTTP: BigPanda's documented behaviours,
awkward ones included, its rate limits, and the knobs other tests drive it with."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
import urllib3

from local.demo.bigpanda import BigPandaStandIn
from local.fakes.bigpanda_api import ALL_ENVIRONMENT_ID, API_PREFIX
from pandabridge.names import BIGPANDA_CALLBACK_PATH, Limits
from tests.conftest import BIGPANDA_STAND_IN_KEY, StoppedClock

INCIDENT = "5555370aabc20a001145d6g9"
INCIDENT_PATH = f"/environments/{ALL_ENVIRONMENT_ID}/incidents/{INCIDENT}"


class Answer:
    def __init__(self, response: urllib3.BaseHTTPResponse) -> None:
        self.status = response.status
        self.headers = response.headers
        self.raw = response.data

    def json(self) -> Any:
        return json.loads(self.raw)


# ``call(method, path, document=None, *, key=..., **query)``: one request to the stand-in;
# a path under /resources/v2.0 unless it starts with "/_".
Call = Callable[..., Answer]


@pytest.fixture
def call(bigpanda_stand_in: BigPandaStandIn) -> Iterator[Call]:
    pool = urllib3.PoolManager(retries=False)

    def send(
        method: str,
        path: str,
        document: Any = None,
        *,
        key: str | None = BIGPANDA_STAND_IN_KEY,
        **query: str,
    ) -> Answer:
        base = bigpanda_stand_in.api_base + ("" if path.startswith("/_") else API_PREFIX)
        headers = {"Content-Type": "application/json"}
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        body = json.dumps(document).encode() if document is not None else None
        url = base + path + (f"?{urlencode(query)}" if query else "")
        return Answer(pool.request(method, url, body=body, headers=headers))

    yield send
    pool.clear()


@pytest.fixture
def shared(bigpanda_stand_in: BigPandaStandIn, sample: dict[str, Any]) -> str:
    return bigpanda_stand_in.api.share(sample)


def test_a_call_without_the_key_is_refused(call: Call) -> None:
    # When the API is called without a bearer token / Then BigPanda answers 401
    assert call("GET", "/environments", key=None).status == 401


def test_environments_are_a_bare_array_with_all(call: Call) -> None:
    # When the environments are listed / Then a bare array holds the built-in "All"
    answer = call("GET", "/environments")
    assert answer.status == 200
    assert {"id": ALL_ENVIRONMENT_ID, "name": "All"} in answer.json()


def test_get_of_an_unknown_incident_is_404(call: Call) -> None:
    assert call("GET", f"/environments/{ALL_ENVIRONMENT_ID}/incidents/nope").status == 404


def test_an_incident_is_found_only_in_its_environments(
    bigpanda_stand_in: BigPandaStandIn, call: Call, shared: str
) -> None:
    # Given another environment the sample was not shared in
    bigpanda_stand_in.api.add_environment("env-db", "Databases")
    # When the incident is read there / Then BigPanda does not know it there
    assert call("GET", f"/environments/env-db/incidents/{shared}").status == 404


def test_search_with_expanded_alerts_refuses_pages_above_ten(call: Call) -> None:
    # When a search expands alerts with 11 a page / Then BigPanda answers 400
    answer = call(
        "GET", f"/environments/{ALL_ENVIRONMENT_ID}/incidents", expand="alerts", page_size="11"
    )
    assert answer.status == 400


def test_search_fails_in_an_environment_with_incident_tags_but_not_in_all(
    bigpanda_stand_in: BigPandaStandIn, call: Call, shared: str
) -> None:
    # Given an environment that uses incident tags, holding the incident
    bigpanda_stand_in.api.add_environment("env-tagged", "Tagged", uses_incident_tags=True)
    bigpanda_stand_in.api.share(
        {"incident": {"id": shared, "changedOn": 1649576282}}, environments=("env-tagged",)
    )
    # When both it and "All" are searched
    tagged = call("GET", "/environments/env-tagged/incidents")
    everything = call("GET", f"/environments/{ALL_ENVIRONMENT_ID}/incidents")
    # Then the tagged one answers 500, as documented, and "All" finds the incident
    assert tagged.status == 500
    assert [i["id"] for i in everything.json()["items"]] == [shared]


def test_resolve_is_accepted_once_then_conflicts(call: Call, shared: str) -> None:
    # When the incident is resolved twice / Then 202 (asynchronous), then 409
    assert call("POST", f"{INCIDENT_PATH}/resolve", {"comments": "done"}).status == 202
    assert call("POST", f"{INCIDENT_PATH}/resolve", {"comments": "done"}).status == 409


def test_a_comment_is_204_and_recorded(call: Call, shared: str) -> None:
    # When a comment is posted
    answer = call("POST", f"{INCIDENT_PATH}/comments", {"comment": "hello"})
    # Then BigPanda answers 204 and the stand-in lists the write
    assert answer.status == 204
    writes = call("GET", "/_fake/writes", kind="comment").json()["writes"]
    assert [(w["incident_id"], w["body"]) for w in writes] == [(shared, {"comment": "hello"})]


def test_tag_values_need_an_active_definition(
    bigpanda_stand_in: BigPandaStandIn, call: Call, shared: str
) -> None:
    # Given no definition, then an inactive one
    undefined = call("POST", f"{INCIDENT_PATH}/tags/ticket_link", {"tag_value": "OPS-1"})
    bigpanda_stand_in.api.define_tag("ticket_link", active=False)
    inactive = call("POST", f"{INCIDENT_PATH}/tags/ticket_link", {"tag_value": "OPS-1"})
    # Then both are refused, 404 and 400
    assert (undefined.status, inactive.status) == (404, 400)


def test_tag_definitions_have_unique_names_of_1_to_20_characters(call: Call) -> None:
    # When definitions are created: valid, the same name again, a name too long
    created = call("POST", "/incidents/tags/definitions", {"name": "ticket_link", "type": "Text"})
    again = call("POST", "/incidents/tags/definitions", {"name": "ticket_link", "type": "Text"})
    too_long = call("POST", "/incidents/tags/definitions", {"name": "x" * 21, "type": "Text"})
    # Then 201, 409 and 400; the listing is a bare array
    assert (created.status, again.status, too_long.status) == (201, 409, 400)
    assert [d["name"] for d in call("GET", "/incidents/tags/definitions").json()] == ["ticket_link"]


def test_scim_lists_deactivated_users_unless_asked_for_active_ones(
    bigpanda_stand_in: BigPandaStandIn, call: Call
) -> None:
    # Given a deactivated user
    bigpanda_stand_in.api.add_user("gone@example.com", active=False)
    by_name = 'userName eq "gone@example.com"'
    # When they are looked up without and with "active eq true"
    plain = call("GET", "/scim/Users", filter=by_name).json()
    active = call("GET", "/scim/Users", filter=f"{by_name} and active eq true").json()
    # Then the plain lookup finds them, the active one does not
    assert [u["userName"] for u in plain["Resources"]] == ["gone@example.com"]
    assert active["totalResults"] == 0


def test_an_assignment_to_an_unknown_user_is_refused(call: Call, shared: str) -> None:
    assert call("PUT", f"{INCIDENT_PATH}/assignment", {"assignee": "nobody"}).status == 400


def test_the_sixth_action_of_a_second_is_429_without_retry_after(sample: dict[str, Any]) -> None:
    # Given a stand-in on a stopped clock
    stand_in = BigPandaStandIn(BIGPANDA_STAND_IN_KEY, clock=StoppedClock()).start()
    stand_in.api.share(sample)
    pool = urllib3.PoolManager(retries=False)
    url = f"{stand_in.api_base}{API_PREFIX}{INCIDENT_PATH}/comments"
    headers = {"Authorization": f"Bearer {BIGPANDA_STAND_IN_KEY}"}
    try:
        # When six comments are posted in one second
        statuses = [
            pool.request("POST", url, json={"comment": f"c{n}"}, headers=headers)
            for n in range(Limits.BIGPANDA_ACTIONS_PER_SECOND + 1)
        ]
    finally:
        stand_in.stop()
    # Then the sixth is refused with 429, and BigPanda says nothing of when to come back
    assert [r.status for r in statuses] == [204] * 5 + [429]
    assert "Retry-After" not in statuses[-1].headers


def test_callbacks_use_up_the_minute_but_are_never_refused() -> None:
    # Given a stand-in on a stopped clock, and a minute's worth of callbacks
    stand_in = BigPandaStandIn(BIGPANDA_STAND_IN_KEY, clock=StoppedClock()).start()
    pool = urllib3.PoolManager(retries=False)
    headers = {"Authorization": f"Bearer {BIGPANDA_STAND_IN_KEY}"}
    body = {"event_type": "incident#new", "incident_id": INCIDENT, "app_key": "app"}
    try:
        callbacks = [
            pool.request(
                "POST", stand_in.api_base + BIGPANDA_CALLBACK_PATH, json=body, headers=headers
            ).status
            for _ in range(Limits.BIGPANDA_API_REQUESTS_PER_MINUTE + 1)
        ]
        # When the v2 API is called in the same minute
        after = pool.request(
            "GET", f"{stand_in.api_base}{API_PREFIX}/environments", headers=headers
        )
    finally:
        stand_in.stop()
    # Then every callback went through, and the API call met the org's spent minute
    assert set(callbacks) == {200}
    assert after.status == 429


def test_a_dropped_delivery_is_shared_but_not_sent(
    bigpanda_stand_in: BigPandaStandIn, call: Call, sample: dict[str, Any]
) -> None:
    # Given the next delivery to be dropped
    assert call("POST", "/_fake/drop", count="1").status == 200
    sent: list[str] = []
    # When two deliveries are made
    for n in range(2):
        sample["incident"]["id"] = f"inc-{n}"
        bigpanda_stand_in.deliver(sample, lambda body: sent.append(body["incident"]["id"]))
    # Then only the second reached the webhook, while both were shared
    assert sent == ["inc-1"]
    for n in range(2):
        activities = call("GET", f"/_fake/incidents/inc-{n}").json()["activities"]
        assert [a["type"] for a in activities] == ["incident_shared"]


def test_the_share_target_is_configurable(call: Call, sample: dict[str, Any]) -> None:
    # Given another share target
    call("POST", "/_fake/share-target", value="webhook.other")
    # When a webhook body is shared through the knob
    shared = call("POST", "/_fake/share", sample).json()["incident_id"]
    # Then its share activity names that target
    [activity] = call("GET", f"/_fake/incidents/{shared}").json()["activities"]
    assert activity["params"] == {"share_target": "webhook.other"}
    assert activity["created_by"]


def test_planned_failures_answer_the_next_v2_calls(call: Call) -> None:
    # Given two planned 503s
    call("POST", "/_fake/fail", status="503", count="2")
    # When three calls are made / Then two fail and the third is answered
    assert [call("GET", "/environments").status for _ in range(3)] == [503, 503, 200]
