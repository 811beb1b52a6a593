"""The echo test: every echo of a round trip comes back, and nothing is written twice.

A BigPanda comment reaches the desk, an agent's desk comment reaches BigPanda; BigPanda sends
our own comment and our link tag back, the desk sends our own comment and resolve back. In the
end each side holds one mirrored comment, and the echoes wrote nothing.
"""

from __future__ import annotations

from typing import Any

from pandabridge.write_back import Outcome
from tests.unit.core.deliveries import later, resolved, with_comment
from tests.unit.write_back.conftest import INTEGRATION_USER, TwoWay

Payload = dict[str, Any]


def test_echoes_of_a_round_trip_write_nothing(
    two_way: TwoWay, sample: Payload, incident_id: str
) -> None:
    # Given an incident with its ticket and link
    two_way.sync(sample)
    desk = two_way.world.target
    link_writes = list(two_way.bigpanda.writes)
    # When a BigPanda comment reaches the desk, and the desk sends it back as our user's
    two_way.sync(with_comment(sample, "please look at the disk", seconds=60))
    own_desk_comment = two_way.apply(
        incident_id, "commented", actor=INTEGRATION_USER, comment="please look at the disk"
    )
    # And an agent's desk comment reaches BigPanda, which sends it back with our link tag
    two_way.apply(incident_id, "commented", comment="disk replaced")
    mirrored = two_way.bigpanda.writes[-1][2]
    echo = with_comment(sample, mirrored, seconds=120)
    echo["incidentTags"] = [*echo["incidentTags"], {"id": "ticket_link", "value": "x"}]
    updates = desk.calls.count("update")
    two_way.sync(echo)
    echo_updates = desk.calls.count("update") - updates
    # And BigPanda resolves, ticket sync resolves the ticket, and the desk sends that back
    two_way.sync(resolved(later(sample, 180), seconds=0))
    own_resolve = two_way.apply(incident_id, "resolved", actor=INTEGRATION_USER)
    # Then each side holds one mirrored comment, and no echo wrote anything
    assert desk.only_ticket().comments == ["please look at the disk"]
    assert two_way.bigpanda.writes == [
        *link_writes,
        ("comment", incident_id, mirrored),
    ]
    assert (own_desk_comment.outcome, own_resolve.outcome) == (Outcome.OWN_ACTOR,) * 2
    assert echo_updates == 0
    assert desk.calls.count("resolve") == 1
