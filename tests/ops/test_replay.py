"""replay: archived versions go through ingest again, and ticket sync is nudged."""

from __future__ import annotations

import json
from typing import Any

import pytest

from local.names import INCIDENTS_TABLE
from pandabridge.incidents import ingest
from pandabridge.parsing import parse_webhook
from tests.ops.support import INCIDENT_ID, Cli, LocalStack


def _lost(stack: LocalStack) -> None:
    """Forget the stored incident, as if its table writes had been lost; the archive stays."""
    stack.client("dynamodb").delete_item(
        TableName=INCIDENTS_TABLE.local_name,
        Key={INCIDENTS_TABLE.partition_key: {"S": INCIDENT_ID}},
    )


def test_two_archived_versions_are_replayed_oldest_first(
    cli: Cli, stack: LocalStack, sample: dict[str, Any], newer: dict[str, Any]
) -> None:
    # Given
    stack.store(sample)
    stack.store(newer)
    _lost(stack)

    # When
    run = cli("replay", INCIDENT_ID)

    # Then
    assert run.code == 0, run.err
    results = [line.split()[3] for line in run.out.splitlines() if line.startswith("[")]
    assert results == ["created", "updated"]


def test_replay_leaves_the_newest_version_stored(
    cli: Cli, stack: LocalStack, sample: dict[str, Any], newer: dict[str, Any]
) -> None:
    # Given
    stack.store(sample)
    newest = stack.store(newer)
    _lost(stack)

    # When
    cli("replay", INCIDENT_ID)

    # Then
    stored = stack.incidents.get(INCIDENT_ID)
    assert stored is not None
    assert stored.summary.content_hash == newest


def test_replay_nudges_ticket_sync_for_the_stored_version(
    cli: Cli, stack: LocalStack, sample: dict[str, Any], newer: dict[str, Any]
) -> None:
    # Given
    stack.store(sample)
    newest = stack.store(newer)

    # When
    run = cli("replay", INCIDENT_ID)

    # Then
    stored = stack.incidents.get(INCIDENT_ID)
    assert stored is not None
    assert stack.nudges() == [
        {"incident_id": INCIDENT_ID, "version": stored.summary.version.key, "sha256": newest}
    ]
    assert run.out.splitlines()[-1].startswith("nudged ticket sync for stored version")


def test_versions_already_stored_change_nothing(
    cli: Cli, stack: LocalStack, sample: dict[str, Any], newer: dict[str, Any]
) -> None:
    # Given
    stack.store(sample)
    stack.store(newer)

    # When
    run = cli("replay", INCIDENT_ID)

    # Then
    results = [line.split()[3] for line in run.out.splitlines() if line.startswith("[")]
    assert results == ["stale", "duplicate"]


def test_latest_replays_only_the_newest_version(
    cli: Cli, stack: LocalStack, sample: dict[str, Any], newer: dict[str, Any]
) -> None:
    # Given
    stack.archive_only(sample)
    newest = stack.archive_only(newer)

    # When
    run = cli("replay", INCIDENT_ID, "--latest")

    # Then
    lines = [line for line in run.out.splitlines() if line.startswith("[")]
    assert len(lines) == 1
    assert newest[:12] in lines[0]
    assert "created" in lines[0]


def test_an_incident_without_archived_versions_exits_1(cli: Cli) -> None:
    # When
    run = cli("replay", "no-such-incident")

    # Then
    assert run.code == 1
    assert run.err == (
        "error: incident no-such-incident has no archived versions under "
        "s3://bigpanda-payloads/incidents/no-such-incident/\n"
    )


def test_a_nudge_carries_the_incident_as_its_message_group(
    cli: Cli, stack: LocalStack, sample: dict[str, Any]
) -> None:
    # Given
    stack.store(sample)

    # When
    cli("replay", INCIDENT_ID)

    # Then
    messages = stack.messages("bigpanda-ticket-sync.fifo")
    assert [m["Attributes"]["MessageGroupId"] for m in messages] == [INCIDENT_ID]
    assert json.loads(messages[0]["Body"])["incident_id"] == INCIDENT_ID


@pytest.mark.parametrize("incident_id", [".", ".."])
def test_incidents_named_dot_and_dot_dot_are_found_and_replayed(
    cli: Cli, stack: LocalStack, sample: dict[str, Any], incident_id: str
) -> None:
    # Given an incident whose id a path would read as "here" or "up", archived and then lost
    sample["incident"]["id"] = incident_id
    stack.store(sample)
    stack.client("dynamodb").delete_item(
        TableName=INCIDENTS_TABLE.local_name,
        Key={INCIDENTS_TABLE.partition_key: {"S": incident_id}},
    )

    # When it is replayed
    run = cli("replay", incident_id)

    # Then its archived version is found and stored again
    assert run.code == 0, run.err
    results = [line.split()[3] for line in run.out.splitlines() if line.startswith("[")]
    assert results == ["created"]


def test_an_integrations_incident_is_replayed_into_that_integration(
    cli: Cli, stack: LocalStack, sample: dict[str, Any]
) -> None:
    # Given an incident of the integration "ops", archived under its storage key
    ingest(parse_webhook(json.dumps(sample)), stack.incidents, integration="ops")
    key = f"ops#{INCIDENT_ID}"
    # When it is replayed by its storage key
    run = cli("replay", key)
    # Then it goes through ingest as ops's incident again, and no default incident appears
    assert run.code == 0, run.err
    assert stack.incidents.get(INCIDENT_ID) is None
    stored = stack.incidents.get(key)
    assert stored is not None
    assert stored.summary.integration == "ops"
