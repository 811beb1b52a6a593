"""The ticket link: after the create, the BigPanda incident gets a tag with the ticket's key
and URL and a comment with the link, once."""

from __future__ import annotations

from typing import Any

from pandabridge.errors import RetryableError
from pandabridge.sync import Action
from tests.unit.core.deliveries import later, resolved
from tests.unit.write_back.conftest import TwoWay

Payload = dict[str, Any]


def test_the_link_tag_is_written_once(two_way: TwoWay, sample: Payload, incident_id: str) -> None:
    # Given a new incident synced, then two later versions
    first = two_way.sync(sample)
    two_way.sync(later(sample))
    two_way.sync(resolved(sample, seconds=120))
    # Then one tag and one link comment were written, after the create
    ticket = two_way.world.state(incident_id).ticket
    assert ticket is not None
    assert Action.LINKED in first.actions
    assert two_way.bigpanda.of_kind("tag") == [
        ("tag", incident_id, "tag-link", f"{ticket.key} {ticket.url}".strip())
    ]
    assert two_way.bigpanda.of_kind("comment") == [
        ("comment", incident_id, f"[{ticket.key}] Ticket created: {ticket.url or ticket.key}")
    ]
    assert two_way.world.state(incident_id).link_written_at is not None


def test_a_missing_tag_definition_is_a_step_naming_the_setting(
    two_way: TwoWay, sample: Payload, incident_id: str
) -> None:
    # Given BigPanda without the configured tag definition
    two_way.bigpanda.definitions = []
    # When the incident is synced
    report = two_way.sync(sample)
    # Then the ticket exists, and the link step waits for the operator, naming the setting
    assert Action.CREATED in report.actions
    (failure,) = report.failed_steps
    assert (failure.step, failure.setting) == ("link", "targets.ops-jira.two_way.link_tag")
    assert two_way.bigpanda.writes == []


def test_no_link_when_switched_off(two_way: TwoWay, sample: Payload) -> None:
    two_way.rewire(link=False)
    two_way.sync(sample)
    assert two_way.bigpanda.writes == []


def test_an_unreachable_bigpanda_leaves_the_ticket_synced_and_the_link_to_try_again(
    two_way: TwoWay, sample: Payload
) -> None:
    # Given BigPanda answering 503 to the tag
    def unavailable(*_: object) -> None:
        raise RetryableError("503 Service Unavailable")

    two_way.bigpanda.set_tag = unavailable  # type: ignore[method-assign]
    # When the incident is synced
    report = two_way.sync(sample)
    # Then the ticket exists, and the link is a step to try again, not a failed nudge
    assert Action.CREATED in report.actions
    assert [failure.step for failure in report.failed_steps] == ["link"]
    assert report.retry_after is not None
