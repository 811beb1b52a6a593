"""Specifications of the v2 incident -> webhook body mapping: one spec per field the two
objects spell differently, and the mapped body read back by the webhook's own parser."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pandabridge.parsing import parse_webhook
from pandabridge.v2_mapping import webhook_body
from tests.unit.reconciler.memory_bigpanda import v2_incident

Payload = dict[str, Any]


@pytest.fixture
def v2() -> Payload:
    return v2_incident("inc-1", changed_at=1_700_000_100, updated_at=1_700_000_200, end=None)


def mapped(v2: Payload, environment_id: str | None = "prod") -> Payload:
    return webhook_body(v2, environment_id=environment_id)


@pytest.mark.parametrize(
    ("v2_name", "webhook_name"),
    [
        ("start", "startedOn"),
        ("changed_at", "changedOn"),
        ("updated_at", "updatedOn"),
        ("end", "endedOn"),
    ],
)
def test_each_incident_time_takes_the_webhooks_name(
    v2: Payload, v2_name: str, webhook_name: str
) -> None:
    # Given a v2 incident with its four times set apart
    v2 |= {"start": 1, "changed_at": 2, "updated_at": 3, "end": 4}
    # When it is mapped
    incident = mapped(v2)["incident"]
    # Then each time is under the webhook's name only
    assert incident[webhook_name] == v2[v2_name]
    assert v2_name not in incident


def test_the_version_is_updated_then_changed_and_no_event_time(v2: Payload) -> None:
    # Given a v2 incident changed at 100 and updated at 200
    # When its mapped body is parsed as a delivery
    webhook = parse_webhook(json.dumps(mapped(v2)))
    # Then its version is (updated_at, changed_at, none): just below the webhook's delivery of
    # the same change, which carries an event time
    assert webhook.version.as_json() == [1_700_000_200, 1_700_000_100, None]


def test_the_v2_snooze_takes_the_field_tables_shape(v2: Payload) -> None:
    # Given a snoozed v2 incident that wakes on updates
    v2["snooze"] = {"snoozed": True, "end_time": 1_700_009_000, "cancel_on_incident_updates": True}
    # When it is mapped and parsed
    snooze = parse_webhook(json.dumps(mapped(v2))).payload.incident.snooze
    # Then the snooze reads as the webhook's
    assert mapped(v2)["incident"]["snooze"] == {
        "snoozed": True,
        "end_time": 1_700_009_000,
        "autoCancel": True,
    }
    assert snooze is not None
    assert (snooze.wakes_at, snooze.cancels_on_update) == (1_700_009_000, True)


def test_alerts_take_camel_case_names_and_tags_as_name_value_pairs(v2: Payload) -> None:
    # Given a v2 alert with snake_case fields and tags as an object
    # When it is mapped and parsed
    alert = parse_webhook(json.dumps(mapped(v2))).payload.incident.alerts[0]  # type: ignore[index]
    # Then the webhook model reads its fields and tags
    assert alert.primaryProperty == "host"
    assert alert.sourceSystem == "nagios"
    assert alert.startedOn == v2["alerts"][0]["start"]
    assert alert.changedOn == v2["alerts"][0]["changed_at"]
    assert alert.tag("host") == "db-1"


def test_alert_tags_already_a_list_are_kept(v2: Payload) -> None:
    # Given alert tags already as the webhook's list
    v2["alerts"][0]["tags"] = [{"name": "check", "value": "CPU"}]
    # When mapped
    alert = mapped(v2)["incident"]["alerts"][0]
    # Then they are unchanged
    assert alert["tags"] == [{"name": "check", "value": "CPU"}]


def test_incident_tags_move_to_the_top_level_as_id_and_value(v2: Payload) -> None:
    # Given v2 incident tags
    v2["incident_tags"] = [{"tag_id": "priority", "tag_value": "P1"}]
    # When mapped and parsed
    body = mapped(v2)
    # Then they are the webhook's top-level incidentTags
    assert "incident_tags" not in body["incident"]
    assert parse_webhook(json.dumps(body)).payload.incident_tag("priority") == "P1"


def test_an_inactive_incident_reads_as_resolved(v2: Payload) -> None:
    # Given a v2 incident that BigPanda closed
    v2 |= {"status": "ok", "active": False}
    # When mapped and parsed
    incident = parse_webhook(json.dumps(mapped(v2))).payload.incident
    # Then it is resolved for ticket sync
    assert incident.is_resolved
    assert incident.resolved is True


def test_the_environment_searched_becomes_the_metadata_environment_id(v2: Payload) -> None:
    # Given an incident fetched through "All"
    # When mapped
    body = mapped(v2, environment_id="All")
    # Then metadata names that environment, which later API calls go through
    assert body["metadata"] == {"environment_id": "All"}


def test_fields_only_v2_knows_are_kept_on_the_incident(v2: Payload) -> None:
    # Given v2's own flags
    v2 |= {"shared": True, "maintenance": False}
    # When mapped
    incident = mapped(v2)["incident"]
    # Then they are kept, as the webhook model keeps unknown fields
    assert (incident["shared"], incident["maintenance"]) == (True, False)
