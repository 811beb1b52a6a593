"""inspect: an incident's stored desk events, newest first, with how far each went."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from local.names import CONTROL_TABLE
from ops.inspection import DESK_EVENTS_SHOWN
from pandabridge.desk_events import DeskEvent
from pandabridge.incidents import ingest
from pandabridge.parsing import parse_webhook
from pandabridge.stores.desk_events import DeskEventStore
from pandabridge.stores.echo import DynamoEchoLedger
from tests.ops.support import INCIDENT_ID, Cli, LocalStack

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def events(stack: LocalStack) -> DeskEventStore:
    return DeskEventStore(CONTROL_TABLE.local_name, stack.client("dynamodb"))


def desk_event(n: int, *, kind: str = "commented", incident_key: str = INCIDENT_ID) -> DeskEvent:
    """The n-th event on the incident's ticket, a minute after the one before."""
    return DeskEvent(
        target="ops-jira",
        event_id=f"delivery-{n}",
        ticket_key="OPS-123",
        incident_key=incident_key,
        kind=kind,  # type: ignore[arg-type]
        actor="5b10ac8d82e05b22cc7d4ef5",
        actor_name="Dana Levi",
        comment="on it" if kind == "commented" else None,
        at=(START + timedelta(minutes=n)).isoformat(),
    )


def lines(output: str) -> list[str]:
    """The table's rows with their padding collapsed, so that a check reads one row."""
    return [" ".join(line.split()) for line in output.splitlines()]


def shown(cli: Cli, *args: str) -> list[dict[str, Any]]:
    run = cli("inspect", *args, "--json")
    assert run.code == 0, run.err
    return list(json.loads(run.out)["desk_events"])


def test_desk_events_are_shown_newest_first_with_how_far_each_went(
    cli: Cli, stack: LocalStack, sample: dict[str, Any], events: DeskEventStore
) -> None:
    # Given an incident with three desk events: one stored only, one queued, one handled
    stack.store(sample)
    stored, queued, handled = desk_event(1), desk_event(2), desk_event(3, kind="resolved")
    for event in (stored, queued, handled):
        events.save(event)
    events.mark_queued(queued)
    events.mark_queued(handled)
    ledger = DynamoEchoLedger(CONTROL_TABLE.local_name, stack.client("dynamodb"))
    ledger.mark_applied(INCIDENT_ID, handled.event_id)

    # When it is inspected
    run = cli("inspect", INCIDENT_ID)

    # Then each event is listed newest first with its kind, actor, ticket, time and status
    assert [(e["event_id"], e["status"]) for e in shown(cli, INCIDENT_ID)] == [
        ("delivery-3", "handled"),
        ("delivery-2", "queued"),
        ("delivery-1", "stored"),
    ]
    assert (
        f"event {handled.at} resolved by Dana Levi on OPS-123 (ops-jira): "
        "handled by write-back (applied or dropped)"
    ) in lines(run.out)
    assert "desk events 3 shown, newest first" in lines(run.out)


def test_only_the_newest_desk_events_are_shown(
    cli: Cli, stack: LocalStack, sample: dict[str, Any], events: DeskEventStore
) -> None:
    # Given more desk events than inspect shows, stored out of order
    stack.store(sample)
    for n in reversed(range(DESK_EVENTS_SHOWN + 2)):
        events.save(desk_event(n))

    # When it is inspected
    listed = shown(cli, INCIDENT_ID)

    # Then the newest ones are shown, newest first, and the oldest two are left out
    newest = range(DESK_EVENTS_SHOWN + 1, 1, -1)
    assert [e["event_id"] for e in listed] == [f"delivery-{n}" for n in newest]
    assert f"the last {DESK_EVENTS_SHOWN}" in cli("inspect", INCIDENT_ID).out


def test_a_redelivered_desk_event_is_shown_once(
    cli: Cli, stack: LocalStack, sample: dict[str, Any], events: DeskEventStore
) -> None:
    # Given an event the desk delivered twice before it was queued
    stack.store(sample)
    events.save(desk_event(1))
    events.save(desk_event(1))

    # When it is inspected
    # Then it is listed once
    assert [e["event_id"] for e in shown(cli, INCIDENT_ID)] == ["delivery-1"]


def test_an_integrations_desk_events_are_found_by_its_integration(
    cli: Cli, stack: LocalStack, sample: dict[str, Any], events: DeskEventStore
) -> None:
    # Given the same BigPanda id in the default integration and in "ops", each with an event
    stack.store(sample)
    ingest(parse_webhook(json.dumps(sample)), stack.incidents, integration="ops")
    events.save(desk_event(1))
    events.save(desk_event(2, incident_key=f"ops#{INCIDENT_ID}"))

    # When each is inspected, the scoped one by --integration
    default = shown(cli, INCIDENT_ID)
    scoped = shown(cli, INCIDENT_ID, "--integration", "ops")

    # Then each shows its own event only
    assert [e["event_id"] for e in default] == ["delivery-1"]
    assert [e["event_id"] for e in scoped] == ["delivery-2"]


def test_an_incident_without_desk_events_says_none_were_stored(
    cli: Cli, stack: LocalStack, sample: dict[str, Any]
) -> None:
    # Given an incident the desk never talked back about
    stack.store(sample)
    # When it is inspected / Then the table says so, and the JSON lists none
    assert "desk events none stored" in lines(cli("inspect", INCIDENT_ID).out)
    assert shown(cli, INCIDENT_ID) == []


def test_an_integration_name_that_cannot_be_one_is_refused(cli: Cli) -> None:
    # When an incident is inspected with a malformed integration name
    with pytest.raises(SystemExit) as usage:
        cli("inspect", INCIDENT_ID, "--integration", "Not One")
    # Then it is a usage error
    assert usage.value.code == 2


def test_desk_events_are_ordered_by_the_instant_whatever_their_offset(
    cli: Cli, stack: LocalStack, sample: dict[str, Any], events: DeskEventStore
) -> None:
    # Given an event at 10:30 in UTC+2 (08:30 UTC) and a later one at 09:00 UTC
    stack.store(sample)
    early = desk_event(1).model_copy(update={"at": "2026-12-01T10:30:00+02:00"})
    late = desk_event(2).model_copy(update={"at": "2026-12-01T09:00:00+00:00"})
    events.save(early)
    events.save(late)
    # When it is inspected
    # Then the later instant comes first
    assert [e["event_id"] for e in shown(cli, INCIDENT_ID)] == ["delivery-2", "delivery-1"]
