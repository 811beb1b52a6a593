"""Echo guards: each one alone stops our own write coming back from being written again.

Each spec switches the other guards off (no integration user, an empty ledger, an incident
BigPanda still shows active) so that the guard it names is the only one left standing.
"""

from __future__ import annotations

from typing import Any

import pytest

from pandabridge.sync import Action
from pandabridge.write_back import Outcome
from tests.unit.core.deliveries import later, resolved, with_comment
from tests.unit.write_back.conftest import INTEGRATION_USER, TwoWay

Payload = dict[str, Any]

pytestmark = pytest.mark.usefixtures("ticketed")


def test_an_event_of_our_own_integration_user_is_dropped(two_way: TwoWay, incident_id: str) -> None:
    # Given an active incident and nothing in the ledger
    writes = list(two_way.bigpanda.writes)
    # When the desk reports a resolve and a comment made by our own integration user
    resolve = two_way.apply(incident_id, "resolved", actor=INTEGRATION_USER)
    comment = two_way.apply(incident_id, "commented", actor=INTEGRATION_USER, comment="x")
    # Then both are dropped
    assert (resolve.outcome, comment.outcome) == (Outcome.OWN_ACTOR, Outcome.OWN_ACTOR)
    assert two_way.bigpanda.writes == writes


def test_the_ledger_drops_the_desk_echo_of_our_resolve(
    two_way: TwoWay, sample: Payload, incident_id: str
) -> None:
    # Given no integration user configured, and ticket sync resolving the ticket
    two_way.rewire(integration_user=None)
    two_way.sync(resolved(sample))
    # When the desk reports that resolve (BigPanda's incident still shows active here)
    report = two_way.apply(incident_id, "resolved", actor="someone")
    # Then the ledger knows it as our own write
    assert report.outcome is Outcome.OWN_ECHO
    assert two_way.bigpanda.of_kind("resolve") == []


def test_the_ledger_drops_the_desk_echo_of_our_comment(
    two_way: TwoWay, sample: Payload, incident_id: str
) -> None:
    # Given no integration user, and ticket sync putting a BigPanda comment on the ticket
    two_way.rewire(integration_user=None)
    two_way.sync(with_comment(sample, "please look at the disk"))
    comments = list(two_way.bigpanda.of_kind("comment"))
    # When the desk reports that comment
    report = two_way.apply(incident_id, "commented", actor="x", comment="please look at the disk")
    # Then it is not sent back to BigPanda
    assert report.outcome is Outcome.OWN_ECHO
    assert two_way.bigpanda.of_kind("comment") == comments


def test_the_ledger_drops_bigpandas_echo_of_our_comment(
    two_way: TwoWay, sample: Payload, incident_id: str
) -> None:
    # Given an agent's desk comment mirrored to BigPanda
    two_way.apply(incident_id, "commented", comment="disk replaced")
    mirrored = two_way.bigpanda.of_kind("comment")[-1][2]
    # When BigPanda sends it back in metadata.comment (sendComments), as a newer version
    report = two_way.sync(with_comment(sample, mirrored))
    # Then the ticket does not get it
    assert Action.ECHO_DROPPED in report.actions
    assert two_way.world.target.only_ticket().comments == []


def test_a_resolve_is_set_not_toggled(two_way: TwoWay, incident_id: str) -> None:
    # Given no integration user, an empty ledger, and BigPanda's incident resolved already
    two_way.rewire(integration_user=None)
    two_way.bigpanda.resolved.add(incident_id)
    # When the desk reports a resolve
    report = two_way.apply(incident_id, "resolved", actor="someone")
    # Then nothing is written: it is resolved already
    assert report.outcome is Outcome.ALREADY_SET
    assert two_way.bigpanda.of_kind("resolve") == []


def test_a_desk_resolve_keeps_ticket_sync_from_resolving_the_ticket_again(
    two_way: TwoWay, sample: Payload, incident_id: str
) -> None:
    # Given the desk resolve mirrored to BigPanda
    two_way.apply(incident_id, "resolved")
    # When BigPanda's resolved version arrives
    report = two_way.sync(resolved(sample))
    # Then ticket sync knows the ticket is resolved: no second resolve in the desk
    assert Action.RESOLVED not in report.actions
    assert two_way.world.target.calls.count("resolve") == 0


def test_our_link_tag_coming_back_rewrites_no_ticket_field(
    two_way: TwoWay, sample: Payload, incident_id: str
) -> None:
    # Given the ticket and its link written
    updates = two_way.world.target.calls.count("update")
    # When BigPanda sends a newer version that differs by our link tag alone
    echo = later(sample)
    echo["incidentTags"] = [*echo["incidentTags"], {"id": "ticket_link", "value": "KEY-T-1 u"}]
    two_way.sync(echo)
    # Then the ticket's description (which lists incident tags) is not rewritten
    assert two_way.world.target.calls.count("update") == updates
