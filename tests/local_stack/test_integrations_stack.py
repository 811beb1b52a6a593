"""`make run --config <file with integrations>`: two BigPanda integrations on one local stack,
each on its own path with its own token, routed to two desks (two demo desks): ops's critical
incidents go to ops's desk, the rest of its incidents and all of default's to the other.

The same BigPanda incident id delivered by both integrations is two incidents, two tickets in
two targets and two callbacks, each with its integration's app key; one integration's token on
the other's path is refused (403) and stores nothing, also when API Gateway's cached decision
for that token is an Allow on its own path.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local import defaults
from local.client import Credentials
from local.integrations import integration_token
from local.names import INCIDENTS_TABLE
from pandabridge.names import WEBHOOK_PATH
from tests.local_stack.harness import (
    APP_KEY,
    BEARER_TOKEN,
    HttpAnswer,
    StackProcess,
    aws_client,
    http_request,
    serving_stack,
)

OPS_APP_KEY = "ops-app-key-5e7c"
CONFIG = f"""
target = "desk"

[targets.desk]
kind = "http"
base_url = "https://desk.example.com"

[targets.ops-desk]
kind = "http"
base_url = "https://ops-desk.example.com"
secret = "local/ops-desk"

[integrations.ops]
app_key = "{OPS_APP_KEY}"
token_secret = "local/ops-tokens"
key_secret = "local/ops-bigpanda"
target = "desk"

[[integrations.ops.routes]]
target = "ops-desk"
severities = ["critical"]
"""
OPS_PATH = f"{WEBHOOK_PATH}/ops"
OPS_TOKEN = integration_token("ops", BEARER_TOKEN)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    config = Path(tmp_path_factory.mktemp("integrations")) / "pandabridge.toml"
    config.write_text(CONFIG, encoding="utf-8")
    with serving_stack("--config", str(config)) as running:
        yield running


@pytest.fixture(scope="module")
def ops_desk_url(stack: StackProcess) -> str:
    health = http_request("GET", f"{stack.base_url}{defaults.HEALTH_PATH}").json()
    assert json.loads(health["integrations"]) == {"ops": OPS_PATH}
    return str(json.loads(health["routed_desks"])["ops-desk"])


def post(stack: StackProcess, path: str, token: str, payload: dict[str, Any]) -> HttpAnswer:
    headers = {
        "Content-Type": "application/json",
        **Credentials(stack.api_key, token).headers(),
    }
    return http_request("POST", f"{stack.base_url}{path}", json.dumps(payload).encode(), headers)


def tickets_on(desk_url: str, incident_id: str) -> list[dict[str, Any]]:
    records = http_request("GET", f"{desk_url.rstrip('/')}/_desk/tickets").json()["tickets"]
    return [record for record in records if record["incident_id"] == incident_id]


def stored(stack: StackProcess, storage_key: str) -> bool:
    dynamodb = aws_client("dynamodb", stack.aws_endpoint)
    key = {INCIDENTS_TABLE.partition_key: {"S": storage_key}}
    return "Item" in dynamodb.get_item(TableName=INCIDENTS_TABLE.local_name, Key=key)


@pytest.fixture
def incident(sample: dict[str, Any]) -> dict[str, Any]:
    sample["incident"]["id"] = f"e2e-{uuid.uuid4().hex[:12]}"
    return sample


def test_one_incident_id_from_two_integrations_is_two_tickets_in_two_targets(
    stack: StackProcess, ops_desk_url: str, incident: dict[str, Any]
) -> None:
    # Given the same BigPanda incident delivered by the default integration and by "ops"
    incident_id = incident["incident"]["id"]
    assert post(stack, WEBHOOK_PATH, BEARER_TOKEN, incident).json()["result"] == "created"
    assert post(stack, OPS_PATH, OPS_TOKEN, incident).json()["result"] == "created"
    # Then each integration's incident gets its ticket in its own target: the default's on
    # the default desk, ops's (correlated by its storage key) on ops's desk
    stack.wait_until(
        lambda: stack.desk_tickets(incident_id), lambda t: len(t) == 1, "the default's ticket"
    )
    stack.wait_until(
        lambda: tickets_on(ops_desk_url, f"ops#{incident_id}"),
        lambda t: len(t) == 1,
        "ops's ticket",
    )
    assert stack.desk_tickets(f"ops#{incident_id}") == []
    assert tickets_on(ops_desk_url, incident_id) == []
    # And BigPanda confirms its one id twice, each with its integration's app key
    callbacks = stack.wait_until(
        lambda: [c for c in stack.callbacks(incident_id) if c["status"] == 200],
        lambda c: len(c) == 2,
        "two callbacks",
    )
    assert sorted(_body(c)["app_key"] for c in callbacks) == sorted([OPS_APP_KEY, APP_KEY])


def _body(callback: dict[str, Any]) -> dict[str, Any]:
    body = callback["body"]
    return json.loads(body) if isinstance(body, str) else body


def test_a_token_of_one_integration_on_anothers_path_is_403_and_stores_nothing(
    stack: StackProcess, incident: dict[str, Any]
) -> None:
    incident_id = incident["incident"]["id"]
    answer = post(stack, OPS_PATH, BEARER_TOKEN, incident)
    assert answer.status == 403
    assert not stored(stack, f"ops#{incident_id}")
    assert not stored(stack, incident_id)


def test_an_allow_cached_for_a_token_does_not_open_another_integrations_path(
    stack: StackProcess, incident: dict[str, Any], sample: dict[str, Any]
) -> None:
    # Given ops's token allowed on ops's path (its decision now cached for that header)
    assert post(stack, OPS_PATH, OPS_TOKEN, incident).status == 200
    # When the same token is sent on the default path with another incident
    other = json.loads(json.dumps(incident))
    other["incident"]["id"] = f"e2e-{uuid.uuid4().hex[:12]}"
    answer = post(stack, WEBHOOK_PATH, OPS_TOKEN, other)
    # Then it is refused, and nothing of it is stored
    assert answer.status == 403
    assert not stored(stack, other["incident"]["id"])


def test_a_routed_incident_stays_on_its_desk_when_a_later_version_matches_no_route(
    stack: StackProcess, ops_desk_url: str, incident: dict[str, Any]
) -> None:
    # Given an ops incident routed to ops's desk by its critical severity
    key = f"ops#{incident['incident']['id']}"
    assert post(stack, OPS_PATH, OPS_TOKEN, incident).json()["result"] == "created"
    stack.wait_until(lambda: tickets_on(ops_desk_url, key), lambda t: len(t) == 1, "a ticket")
    # When a later version is only a warning, which alone would go to the default desk
    later = json.loads(json.dumps(incident))
    later["incident"].update(severity="warning", status="warning")
    later["incident"]["updatedOn"] += 60
    assert post(stack, OPS_PATH, OPS_TOKEN, later).json()["result"] == "updated"
    # Then the ticket on ops's desk follows it, and the default desk never gets one
    stack.wait_until(
        lambda: tickets_on(ops_desk_url, key),
        lambda t: len(t) == 1 and "warning" in t[0]["title"].lower(),
        "the ticket updated to the warning",
    )
    assert stack.desk_tickets(key) == []
