"""Write-back over real HTTP against the BigPanda stand-in: what BigPanda receives when the
desk resolves and comments, on redelivery, after a 409, with echoes, and the link written once.

The desk side is the core fakes' (``tests.unit.write_back``); BigPanda is the stand-in, with
its own 409s, tag definitions and rate limits, reached through ``HttpBigPandaApi``.
"""

from __future__ import annotations

from typing import Any

import pytest

from local.demo.bigpanda import BigPandaStandIn
from pandabridge.bigpanda_api import HttpBigPandaApi
from pandabridge.names import DEFAULT_LINK_TAG
from pandabridge.write_back import Outcome
from tests.unit.core.deliveries import later, resolved, with_comment
from tests.unit.write_back.conftest import INTEGRATION_USER, TwoWay

Payload = dict[str, Any]


@pytest.fixture
def two_way(
    bigpanda_stand_in: BigPandaStandIn, bigpanda_api: HttpBigPandaApi, sample: Payload
) -> TwoWay:
    """The sample shared by the stand-in, which defines the link tag; its ticket created."""
    bigpanda_stand_in.api.define_tag(DEFAULT_LINK_TAG)
    bigpanda_stand_in.api.share(sample)
    two_way = TwoWay(api=bigpanda_api)
    two_way.sync(sample)
    return two_way


@pytest.fixture
def incident_id(sample: Payload) -> str:
    return str(sample["incident"]["id"])


def _kinds(stand_in: BigPandaStandIn) -> list[str]:
    return [write.kind for write in stand_in.api.writes()]


def test_a_desk_resolve_is_one_bigpanda_resolve_on_redelivery(
    two_way: TwoWay, bigpanda_stand_in: BigPandaStandIn, incident_id: str
) -> None:
    # Given the desk's resolve event / When it is delivered twice
    event = two_way.event(incident_id, "resolved")
    first, again = two_way.mirror.apply(event), two_way.mirror.apply(event)
    # Then BigPanda received one resolve, naming the ticket and the agent
    assert (first.outcome, again.outcome) == (Outcome.MIRRORED, Outcome.ALREADY_APPLIED)
    (resolve,) = bigpanda_stand_in.api.writes("resolve")
    key = two_way.ticket_key(incident_id)
    assert resolve.body == {"comments": f"[{key}] Resolved in the service desk by Dana Levi."}


class ResolvedInBetween:
    """BigPanda's API, with someone resolving the incident right after each GET of it."""

    def __init__(self, api: HttpBigPandaApi) -> None:
        self._api = api

    def get_incident(self, env: str, incident_id: str, **kwargs: Any) -> Any:
        answer = self._api.get_incident(env, incident_id, **kwargs)
        self._api.resolve(env, incident_id, "resolved in BigPanda")
        return answer

    def __getattr__(self, name: str) -> Any:
        return getattr(self._api, name)


def test_a_desk_resolve_after_a_409_is_done(
    two_way: TwoWay,
    bigpanda_stand_in: BigPandaStandIn,
    bigpanda_api: HttpBigPandaApi,
    incident_id: str,
) -> None:
    # Given BigPanda resolving between our GET and our POST: the stand-in answers 409
    two_way.api = ResolvedInBetween(bigpanda_api)  # type: ignore[assignment]
    two_way.rewire()
    # When the desk's resolve is applied
    report = two_way.apply(incident_id, "resolved")
    # Then the 409 counts as done: BigPanda holds only its own resolve
    assert report.outcome is Outcome.ALREADY_SET
    assert [w.body for w in bigpanda_stand_in.api.writes("resolve")] == [
        {"comments": "resolved in BigPanda"}
    ]


def test_a_desk_comment_is_one_bigpanda_comment(
    two_way: TwoWay, bigpanda_stand_in: BigPandaStandIn, incident_id: str
) -> None:
    event = two_way.event(incident_id, "commented", comment="disk replaced")
    two_way.mirror.apply(event)
    two_way.mirror.apply(event)
    comments = [w.body["comment"] for w in bigpanda_stand_in.api.writes("comment")]
    key = two_way.ticket_key(incident_id)
    assert comments.count(f"[{key}] Dana Levi: disk replaced") == 1


def test_the_link_tag_is_written_once(
    two_way: TwoWay, bigpanda_stand_in: BigPandaStandIn, sample: Payload
) -> None:
    # Given the ticket created (by the fixture) / When later versions sync
    two_way.sync(later(sample))
    two_way.sync(resolved(sample, seconds=120))
    # Then the stand-in holds one link tag, with the ticket's key
    (tag,) = bigpanda_stand_in.api.writes("tag")
    assert tag.body["tag_id"] == DEFAULT_LINK_TAG
    assert tag.body["tag_value"].startswith(two_way.ticket_key(str(sample["incident"]["id"])))


def test_echoes_from_both_sides_write_nothing(
    two_way: TwoWay, bigpanda_stand_in: BigPandaStandIn, sample: Payload, incident_id: str
) -> None:
    # Given the link written, and an agent's desk comment mirrored to BigPanda
    two_way.apply(incident_id, "commented", comment="disk replaced")
    mirrored = bigpanda_stand_in.api.writes("comment")[-1].body["comment"]
    before = _kinds(bigpanda_stand_in)
    # When BigPanda sends our comment and our tag back, resolves, and the desk sends our own
    # comment and resolve back
    echo = with_comment(sample, mirrored, seconds=60)
    echo["incidentTags"] = [*echo["incidentTags"], {"id": DEFAULT_LINK_TAG, "value": "x"}]
    two_way.sync(echo)
    two_way.sync(resolved(later(sample, 120), seconds=0))
    own = [
        two_way.apply(incident_id, "resolved", actor=INTEGRATION_USER),
        two_way.apply(incident_id, "commented", actor=INTEGRATION_USER, comment=mirrored),
    ]
    # Then one mirrored comment on each side at most, and BigPanda got no further write
    assert two_way.world.target.only_ticket().comments == []
    assert _kinds(bigpanda_stand_in) == before
    assert [report.outcome for report in own] == [Outcome.OWN_ACTOR] * 2


def test_an_incident_bigpanda_never_shared_gets_no_link_and_no_retry(
    bigpanda_stand_in: BigPandaStandIn, bigpanda_api: HttpBigPandaApi, sample: Payload
) -> None:
    # Given the link tag defined, but an incident the stand-in never shared (a 404)
    bigpanda_stand_in.api.define_tag(DEFAULT_LINK_TAG)
    two_way = TwoWay(api=bigpanda_api)
    # When it is synced
    report = two_way.sync(sample)
    # Then the ticket exists, nothing was written to BigPanda, and no step waits to be retried
    assert report.failed_steps == ()
    assert bigpanda_stand_in.api.writes() == []
