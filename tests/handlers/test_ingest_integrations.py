"""POST /webhook/<integration> through the real ingest handler, stored in moto over HTTP: one
BigPanda incident id in two integrations is two incidents; the default path keeps its keys."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from local.names import INCIDENTS_TABLE
from pandabridge.composition.ingest import incident_store, integrations
from pandabridge.identity import IncidentKey
from pandabridge.names import WEBHOOK_PATH, Env
from pandabridge.stores.incidents import archive_key
from tests.handlers.conftest import Aws, Invoke

SAMPLE_ID = "5555370aabc20a001145d6g9"

Payload = dict[str, Any]


@pytest.fixture
def two_integrations(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A deployment with the integrations ``ops`` and ``billing`` besides ``default``."""
    monkeypatch.setenv(Env.INTEGRATIONS, "ops,billing")
    integrations.cache_clear()
    yield
    integrations.cache_clear()


@pytest.fixture
def post(api_event: Any, invoke: Invoke) -> Any:
    def send(payload: Payload, integration: str | None = None) -> Any:
        event = api_event(payload)
        if integration is not None:
            path = f"{WEBHOOK_PATH}/{integration}"
            event["path"] = path
            event["resource"] = f"{WEBHOOK_PATH}/{{integration}}"
            event["requestContext"]["path"] = event["requestContext"]["path"].replace(
                WEBHOOK_PATH, path
            )
            event["pathParameters"] = {"integration": integration}
        return invoke(event)

    return send


@pytest.mark.usefixtures("two_integrations")
def test_one_incident_id_in_two_integrations_is_two_incidents(
    post: Any, sample: Payload, aws: Aws
) -> None:
    # Given the same BigPanda incident delivered on two integrations' paths
    answers = [post(sample, "ops"), post(sample, "billing")]
    # Then both are created, each under its own storage key, with its own archive object
    assert [a.body["result"] for a in answers] == ["created", "created"]
    assert [a.body["incident_id"] for a in answers] == [SAMPLE_ID, SAMPLE_ID]
    ops = aws.item(f"ops#{SAMPLE_ID}")
    billing = aws.item(f"billing#{SAMPLE_ID}")
    assert ops is not None
    assert billing is not None
    assert ops["integration"] == {"S": "ops"}
    assert ops["bigpanda_incident_id"] == {"S": SAMPLE_ID}
    assert ops["fifo_group_id"] == {"S": f"ops#{SAMPLE_ID}"}
    assert aws.item(SAMPLE_ID) is None
    assert len(aws.object_keys()) == 2


@pytest.mark.usefixtures("two_integrations")
def test_a_default_delivery_keeps_the_key_the_single_integration_code_wrote(
    post: Any, sample: Payload, aws: Aws
) -> None:
    # Given an incident stored on /webhook, as the code before integrations stored it
    post(sample)
    stored = incident_store().get(SAMPLE_ID)
    # Then its key, archive key and group are BigPanda's id, and it reads back as default's
    assert stored is not None
    assert stored.summary.key == IncidentKey("default", SAMPLE_ID)
    assert stored.archive_key == archive_key(SAMPLE_ID, stored.summary.content_hash)
    assert aws.item(SAMPLE_ID)["fifo_group_id"] == {"S": SAMPLE_ID}


def test_an_item_written_without_integration_attributes_reads_as_the_default_integration(
    post: Any, sample: Payload, aws: Aws
) -> None:
    # Given an item as the code before integrations wrote it: no integration attributes
    post(sample)
    aws.dynamodb.update_item(
        TableName=INCIDENTS_TABLE.local_name,
        Key={"incident_id": {"S": SAMPLE_ID}},
        UpdateExpression="REMOVE integration, bigpanda_incident_id",
    )
    # When it is read, and a newer version is delivered on /webhook
    stored = incident_store().get(SAMPLE_ID)
    later = copy.deepcopy(sample)
    later["incident"]["updatedOn"] += 60
    answer = post(later)
    # Then it is the default integration's incident, and the newer version updates it
    assert stored is not None
    assert stored.summary.integration == "default"
    assert answer.body["result"] == "updated"


@pytest.mark.usefixtures("two_integrations")
def test_a_default_id_that_reads_as_an_integrations_key_is_a_400_naming_why(
    post: Any, sample: Payload, aws: Aws
) -> None:
    # Given a delivery on /webhook whose id is what ops's storage key of another id looks like
    sample["incident"]["id"] = f"ops#{SAMPLE_ID}"
    # When it is delivered
    answer = post(sample)
    # Then it is refused, naming the integration and the path to use, and nothing is stored
    assert answer.status == 400
    assert "/webhook/ops" in answer.body["message"]
    assert answer.body["errors"][0]["loc"] == ["body", "incident", "id"]
    assert aws.items() == []


def test_the_same_id_is_stored_as_it_is_while_no_such_integration_exists(
    post: Any, sample: Payload, aws: Aws
) -> None:
    # Given no integration "ops"
    sample["incident"]["id"] = f"ops#{SAMPLE_ID}"
    # When the id is delivered on /webhook, then it is an ordinary default incident
    assert post(sample).body["result"] == "created"
    assert aws.item(f"ops#{SAMPLE_ID}") is not None


@pytest.mark.usefixtures("two_integrations")
def test_a_path_of_no_integration_is_a_404_and_stores_nothing(
    post: Any, sample: Payload, aws: Aws
) -> None:
    answer = post(sample, "nobody")
    assert answer.status == 404
    assert aws.items() == []
