"""inspect: the stored incident, its archive, its ticket, and the verdict."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from local.names import CONTROL_TABLE
from ops.inspection import IN_SYNC, version_of_key
from pandabridge.incidents import StoredIncident, ingest
from pandabridge.parsing import parse_webhook
from pandabridge.stores.echo import DynamoCircuitBreaker
from pandabridge.tickets.model import TicketRef
from pandabridge.tickets.state import StepFailure, TicketState
from pandabridge.versioning import Version
from tests.ops.support import INCIDENT_ID, Cli, LocalStack


def _synced_and_confirmed(stack: LocalStack, sample: dict[str, Any]) -> StoredIncident:
    """The sample stored, its ticket synced to it and its callback confirmed."""
    content_hash = stack.store(sample)
    stored = stack.incidents.get(INCIDENT_ID)
    assert stored is not None
    stack.save_ticket(synced_hash=content_hash, synced_version=stored.summary.version.key)
    stack.confirm_callback()
    return stored


def _verdict(output: str) -> str:
    return next(line for line in output.splitlines() if line.startswith("verdict"))


def test_a_synced_ticket_with_a_confirmed_callback_is_in_sync(
    cli: Cli, stack: LocalStack, sample: dict[str, Any]
) -> None:
    # Given
    stack.store(sample)
    stored = stack.incidents.get(INCIDENT_ID)
    assert stored is not None
    stack.save_ticket(
        synced_hash=stored.summary.content_hash, synced_version=stored.summary.version.key
    )
    stack.confirm_callback()

    # When
    run = cli("inspect", INCIDENT_ID)

    # Then
    assert run.code == 0, run.err
    assert _verdict(run.out).split(maxsplit=1)[1] == IN_SYNC


def test_a_ticket_synced_to_an_older_version_is_behind(
    cli: Cli, stack: LocalStack, sample: dict[str, Any], newer: dict[str, Any]
) -> None:
    # Given
    old_hash = stack.store(sample)
    old = stack.incidents.get(INCIDENT_ID)
    assert old is not None
    stack.store(newer)
    new = stack.incidents.get(INCIDENT_ID)
    assert new is not None
    stack.save_ticket(synced_hash=old_hash, synced_version=old.summary.version.key)
    stack.confirm_callback()

    # When
    run = cli("inspect", INCIDENT_ID)

    # Then
    old_version = json.dumps(old.summary.version.as_json())
    new_version = json.dumps(new.summary.version.as_json())
    assert _verdict(run.out).split(maxsplit=1)[1] == (
        f"ticket behind the incident: synced {old_version} < stored {new_version}"
    )


def test_a_step_the_desk_refused_is_shown_as_needing_attention(
    cli: Cli, stack: LocalStack, sample: dict[str, Any]
) -> None:
    # Given a synced, confirmed ticket whose resolve the desk refused twice
    content_hash = stack.store(sample)
    stored = stack.incidents.get(INCIDENT_ID)
    assert stored is not None
    refused = StepFailure(
        step="resolve",
        reason="no transition named Done",
        setting="targets.jira.workflow.resolve",
        at=datetime(2026, 5, 1, 12, 0, tzinfo=UTC),
        attempts=2,
        status=400,
    )
    stack.save_ticket(
        synced_hash=content_hash,
        synced_version=stored.summary.version.key,
        step_failures={"resolve": refused},
    )
    stack.confirm_callback()
    # When it is inspected, as a table and as JSON
    table = cli("inspect", INCIDENT_ID)
    document = json.loads(cli("inspect", INCIDENT_ID, "--json").out)
    # Then the verdict and the ticket's rows name the step, the setting and the desk's message
    assert _verdict(table.out).split(maxsplit=1)[1] == (
        "step resolve refused by the desk (2x, last 2026-05-01T12:00:00.000+00:00): "
        "no transition named Done; fix targets.jira.workflow.resolve"
    )
    assert any(
        line.split()[:3] == ["attention", "resolve:", "fix"] for line in table.out.splitlines()
    )
    assert document["ticket"]["needs_attention"] == [
        {
            "step": "resolve",
            "setting": "targets.jira.workflow.resolve",
            "reason": "no transition named Done",
            "status": 400,
            "at": "2026-05-01T12:00:00.000+00:00",
            "attempts": 2,
        }
    ]


def test_an_unconfirmed_callback_is_owed(
    cli: Cli, stack: LocalStack, sample: dict[str, Any]
) -> None:
    # Given
    content_hash = stack.store(sample)
    stored = stack.incidents.get(INCIDENT_ID)
    assert stored is not None
    stack.save_ticket(synced_hash=content_hash, synced_version=stored.summary.version.key)

    # When
    run = cli("inspect", INCIDENT_ID)

    # Then
    assert _verdict(run.out).split(maxsplit=1)[1].startswith("callback owed since ")


def test_an_incident_without_a_ticket_is_owed_one(
    cli: Cli, stack: LocalStack, sample: dict[str, Any]
) -> None:
    # Given
    stack.store(sample)

    # When
    run = cli("inspect", INCIDENT_ID)

    # Then
    assert "no ticket yet" in _verdict(run.out)


def test_an_unknown_incident_exits_1_saying_so(cli: Cli) -> None:
    # When
    run = cli("inspect", "no-such-incident")

    # Then
    assert run.code == 1
    assert run.err == "error: no incident no-such-incident in table bigpanda-incidents\n"


def test_json_output_parses_with_the_ticket_and_verdict(
    cli: Cli, stack: LocalStack, sample: dict[str, Any]
) -> None:
    # Given
    stored = _synced_and_confirmed(stack, sample)
    content_hash = stored.summary.content_hash

    # When
    run = cli("inspect", INCIDENT_ID, "--json")

    # Then
    document = json.loads(run.out)
    assert document["in_sync"] is True
    assert document["verdict"] == IN_SYNC
    assert document["incident"]["content_hash"] == content_hash
    assert document["archive"]["count"] == 1
    assert document["ticket"]["id"] == "T-1"
    assert document["ticket"]["synced_is_latest"] is True
    assert document["ticket"]["synced_version"] == stored.summary.version.as_json()
    assert document["ticket"]["webhook_to_callback_seconds"] >= 0


def test_the_table_shows_where_the_payload_is(
    cli: Cli, stack: LocalStack, sample: dict[str, Any]
) -> None:
    # Given
    stack.store(sample)

    # When
    run = cli("inspect", INCIDENT_ID)

    # Then
    payload = next(line for line in run.out.splitlines() if line.strip().startswith("payload"))
    assert payload.endswith("bytes, inline in the item")


@pytest.mark.parametrize(
    "version",
    [
        Version(1652897578, 1649576282, 1697123964),
        Version(None, 1649576282, None),
        Version(1652897578.25, None, 1697123964.5),
    ],
)
def test_a_synced_version_key_reads_back_as_its_version(version: Version) -> None:
    # When / Then
    assert version_of_key(version.key) == version.as_json()


def test_a_version_the_reconciler_recovered_is_shown_as_recovered(
    cli: Cli, stack: LocalStack, sample: dict[str, Any]
) -> None:
    # Given the stored version was found by the reconciler, not delivered by the webhook
    stack.store(sample, recovered=True)

    # When
    run = cli("inspect", INCIDENT_ID)
    as_json = cli("inspect", INCIDENT_ID, "--json")

    # Then the table and the JSON both say so
    assert run.code == 0, run.err
    assert "  recovered" in run.out
    assert "missed delivery found by the reconciler" in run.out
    assert json.loads(as_json.out)["incident"]["recovered"] is True


def test_a_delivered_version_shows_no_recovered_line(
    cli: Cli, stack: LocalStack, sample: dict[str, Any]
) -> None:
    # Given a version the webhook delivered
    stack.store(sample)

    # When
    run = cli("inspect", INCIDENT_ID)

    # Then
    assert "recovered" not in run.out


def test_a_suspected_sync_loop_is_shown_first(
    cli: Cli, stack: LocalStack, sample: dict[str, Any]
) -> None:
    # Given a synced, confirmed ticket whose mirroring the circuit breaker stopped
    _synced_and_confirmed(stack, sample)
    opened = datetime.now(UTC).replace(microsecond=0)
    breaker = DynamoCircuitBreaker(CONTROL_TABLE.local_name, stack.client("dynamodb"))
    breaker.open(INCIDENT_ID, opened, writes=11)

    # When
    run = cli("inspect", INCIDENT_ID)
    as_json = json.loads(cli("inspect", INCIDENT_ID, "--json").out)

    # Then the verdict names the loop, and the JSON says since when
    assert _verdict(run.out).split(maxsplit=1)[1].startswith("sync loop suspected")
    assert as_json["loop_suspected_since"] is not None
    assert as_json["in_sync"] is False


def test_an_integrations_incident_shows_its_integration_and_its_tickets_target(
    cli: Cli, stack: LocalStack, sample: dict[str, Any]
) -> None:
    # Given an incident of the integration "ops", routed to the target "db-jira"
    ingest(parse_webhook(json.dumps(sample)), stack.incidents, integration="ops")
    key = f"ops#{INCIDENT_ID}"
    stack.tickets.save(TicketState(incident_id=key, target="db-jira", ticket=TicketRef(id="T-9")))
    # When it is inspected by its storage key
    run = cli("inspect", key)
    # Then the integration, BigPanda's own id and the ticket's target are shown
    assert run.code == 0, run.err
    assert f"integration  ops (BigPanda id {INCIDENT_ID})" in run.out
    assert "T-9 in target db-jira" in run.out
    assert json.loads(cli("inspect", key, "--json").out)["incident"]["integration"] == "ops"
