"""Routing: the first matching route picks an incident's target, and the choice sticks: a later
version that would match another route stays on the desk its ticket lives in."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from pandabridge.desk_config import DeskConfig, parse_config
from pandabridge.incidents import ingest
from pandabridge.messages import SyncNudge
from pandabridge.models import WebhookPayload
from pandabridge.parsing import parse_webhook
from pandabridge.routing import StickyRouter, choose_target
from pandabridge.sync import Reconciler
from pandabridge.tickets.state import TicketState
from tests.unit.core.fakes import (
    FakeClock,
    FakeOutbox,
    FakeTarget,
    FakeTicketStates,
    IncidentBook,
    TicketsTable,
)

Payload = dict[str, Any]

CONFIG: DeskConfig = parse_config(
    {
        "target": "desk",
        "targets": {
            "desk": {"kind": "http", "base_url": "https://desk.example.com"},
            "db-desk": {"kind": "http", "base_url": "https://db.example.com"},
            "prod-desk": {"kind": "http", "base_url": "https://prod.example.com"},
        },
        "integrations": {
            "ops": {
                "token_secret": "ops-tokens",
                "target": "prod-desk",
                "routes": [
                    {"target": "db-desk", "severities": ["critical"], "tags": {"team": "db"}},
                    {"target": "prod-desk", "alert_properties": {"host": "prod-db-1"}},
                    {"target": "desk", "environments": ["env-staging"]},
                ],
            }
        },
    }
)


def payload_of(sample: Payload, **changes: Any) -> WebhookPayload:
    document = copy.deepcopy(sample)
    document["incident"].update(changes.pop("incident", {}))
    document.update(changes)
    return WebhookPayload.model_validate(document)


def test_the_first_route_whose_conditions_all_hold_wins(sample: Payload) -> None:
    payload = payload_of(
        sample,
        incident={"severity": "Critical"},
        incidentTags=[{"id": "team", "value": ["db", "web"]}],
    )
    assert choose_target(CONFIG, "ops", payload) == "db-desk"


def test_a_route_whose_conditions_hold_only_in_part_is_skipped(sample: Payload) -> None:
    payload = payload_of(
        sample, incident={"severity": "warning"}, incidentTags=[{"id": "team", "value": "db"}]
    )
    assert choose_target(CONFIG, "ops", payload) == "prod-desk"  # the integration's target


def test_an_alert_property_matches_on_any_one_alert(sample: Payload) -> None:
    alerts = [
        {"id": "a", "tags": [{"name": "host", "value": "web-1"}]},
        {"id": "b", "tags": [{"name": "host", "value": "prod-db-1"}]},
    ]
    payload = payload_of(sample, incident={"severity": "warning", "alerts": alerts})
    assert choose_target(CONFIG, "ops", payload) == "prod-desk"


def test_an_environment_matches_by_its_id(sample: Payload) -> None:
    payload = payload_of(sample, incident={"severity": "ok"})
    payload.metadata.environment_id = "env-staging"  # type: ignore[union-attr]
    assert choose_target(CONFIG, "ops", payload) == "desk"


def test_an_integration_without_routes_goes_to_the_files_target(sample: Payload) -> None:
    assert choose_target(CONFIG, "default", payload_of(sample)) == "desk"


@pytest.fixture
def desks() -> dict[str, FakeTarget]:
    return {name: FakeTarget(name="http") for name in CONFIG.targets}


def test_a_route_is_sticky_when_a_later_version_would_match_another(
    sample: Payload, desks: dict[str, FakeTarget]
) -> None:
    # Given one function holding a reconciler per target, routed by the sticky router
    clock, book, table, outbox = FakeClock(), IncidentBook(), TicketsTable(), FakeOutbox()
    states = FakeTicketStates(table)
    router = StickyRouter(CONFIG, book, states)

    def sync(document: Payload) -> str:
        webhook = parse_webhook(json.dumps(document))
        ingest(webhook, book, received_at=clock(), integration="ops")
        key = f"ops#{webhook.incident_id}"
        target = router.target_for(key)
        Reconciler(
            incidents=book,
            states=states,
            target=desks[target],
            callbacks=outbox,
            clock=clock,
            target_name=target,
        ).sync(SyncNudge(incident_id=key, version=webhook.version.key, sha256=webhook.content_hash))
        return target

    first = copy.deepcopy(sample)
    first["incident"]["severity"] = "critical"
    first["incidentTags"] = [{"id": "team", "value": "db"}]
    # When the first version matches the db route, and a later one would match no route
    later = copy.deepcopy(first)
    later["incident"]["updatedOn"] += 60
    later["incident"]["severity"] = "warning"
    chosen = [sync(first), sync(later)]
    # Then both versions are synced in the db desk, where the one ticket lives
    assert chosen == ["db-desk", "db-desk"]
    assert len(desks["db-desk"].tickets) == 1
    assert desks["prod-desk"].tickets == {}
    assert table.items[f"ops#{sample['incident']['id']}"].target == "db-desk"


def test_a_state_saved_before_routes_stays_in_the_files_target(sample: Payload) -> None:
    # Given a ticket state written by the code before routes: it names the adapter's kind
    table = TicketsTable(items={"abc": TicketState(incident_id="abc", target="http")})
    router = StickyRouter(CONFIG, IncidentBook(), FakeTicketStates(table))
    # Then its incident keeps syncing in the file's default target
    assert router.target_for("abc") == "desk"


def test_a_scoped_incidents_ticket_is_correlated_by_its_storage_key(sample: Payload) -> None:
    # Given an incident of the integration "ops" whose ticket was created, but whose state
    # was lost before it recorded the ticket (a crash right after the create call)
    clock, book, outbox = FakeClock(), IncidentBook(), FakeOutbox()
    desk = FakeTarget(name="http")
    webhook = parse_webhook(json.dumps(sample))
    ingest(webhook, book, received_at=clock(), integration="ops")
    key = f"ops#{webhook.incident_id}"
    nudge = SyncNudge(incident_id=key, version=webhook.version.key, sha256=webhook.content_hash)

    def sync_with_fresh_state() -> None:
        states = FakeTicketStates(TicketsTable())
        Reconciler(incidents=book, states=states, target=desk, callbacks=outbox, clock=clock).sync(
            nudge
        )

    sync_with_fresh_state()
    # When it is synced again with no state: the desk is asked for the storage key
    sync_with_fresh_state()
    # Then the desk's lookup finds the first ticket: one ticket, correlated by the scoped key
    assert [ticket.incident_id for ticket in desk.tickets.values()] == [key]
