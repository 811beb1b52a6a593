"""``Mirror``: a desk event becomes exactly one BigPanda write, or none when it needs none."""

from __future__ import annotations

import pytest

from pandabridge.tickets.model import TicketStatus
from pandabridge.write_back import Outcome
from tests.unit.write_back.conftest import TwoWay

pytestmark = pytest.mark.usefixtures("ticketed")


def test_a_desk_resolve_resolves_the_incident_once_naming_ticket_and_agent(
    two_way: TwoWay, incident_id: str
) -> None:
    # Given an open incident with its ticket
    # When an agent resolves the ticket in the desk
    report = two_way.apply(incident_id, "resolved")
    # Then BigPanda gets one resolve whose comment names the ticket and the agent
    assert report.outcome is Outcome.MIRRORED
    key = two_way.ticket_key(incident_id)
    assert two_way.bigpanda.of_kind("resolve") == [
        ("resolve", incident_id, f"[{key}] Resolved in the service desk by Dana Levi.")
    ]


def test_a_redelivered_resolve_writes_nothing_more(two_way: TwoWay, incident_id: str) -> None:
    # Given a desk resolve applied
    event = two_way.event(incident_id, "resolved")
    two_way.mirror.apply(event)
    # When the queue delivers the same event again
    again = two_way.mirror.apply(event)
    # Then it is known as applied and BigPanda saw one resolve
    assert again.outcome is Outcome.ALREADY_APPLIED
    assert len(two_way.bigpanda.of_kind("resolve")) == 1


def test_a_resolve_answered_409_counts_as_done(two_way: TwoWay, incident_id: str) -> None:
    # Given BigPanda resolving the incident between our GET and our POST (a 409)
    two_way.bigpanda.resolve_conflicts = 1
    # When the desk resolve is applied
    report = two_way.apply(incident_id, "resolved")
    # Then it is done, with no resolve written, and the ticket state says resolved
    assert report.outcome is Outcome.ALREADY_SET
    assert two_way.bigpanda.of_kind("resolve") == []
    assert two_way.world.state(incident_id).status is TicketStatus.RESOLVED


def test_an_incident_resolved_already_is_not_resolved_again(
    two_way: TwoWay, incident_id: str
) -> None:
    # Given the BigPanda incident resolved already (status is set, never toggled)
    two_way.bigpanda.resolved.add(incident_id)
    # When the desk resolve is applied
    report = two_way.apply(incident_id, "resolved")
    # Then the GET settles it: no resolve call
    assert report.outcome is Outcome.ALREADY_SET
    assert two_way.bigpanda.of_kind("resolve") == []


def test_a_desk_comment_becomes_one_attributed_comment(two_way: TwoWay, incident_id: str) -> None:
    # Given an agent's comment in the desk, delivered twice
    event = two_way.event(incident_id, "commented", comment="Disk replaced. ")
    # When it is applied, and applied again
    two_way.mirror.apply(event)
    two_way.mirror.apply(event)
    # Then BigPanda has it once, attributed to the ticket and the agent
    key = two_way.ticket_key(incident_id)
    assert two_way.bigpanda.of_kind("comment")[-1:] == [
        ("comment", incident_id, f"[{key}] Dana Levi: Disk replaced.")
    ]
    assert len(two_way.bigpanda.of_kind("comment")) == 2  # the link comment, then this one


def test_an_assignee_is_found_by_e_mail_and_assigned(two_way: TwoWay, incident_id: str) -> None:
    # Given assignment switched on, and a BigPanda user with the assignee's e-mail
    two_way.rewire(assignee=True)
    two_way.bigpanda.users["dana@example.com"] = "bp-user-7"
    # When the desk assigns the ticket
    two_way.apply(incident_id, "assigned", assignee_email="dana@example.com")
    # Then BigPanda assigns that user
    assert two_way.bigpanda.of_kind("assign") == [("assign", incident_id, "bp-user-7")]


def test_an_assignee_without_a_bigpanda_user_is_left_alone(
    two_way: TwoWay, incident_id: str
) -> None:
    two_way.rewire(assignee=True)
    report = two_way.apply(incident_id, "assigned", assignee_email="nobody@example.com")
    assert report.outcome is Outcome.NOTHING_TO_DO
    assert two_way.bigpanda.of_kind("assign") == []


@pytest.mark.parametrize(
    ("kind", "switch", "fields"),
    [
        ("resolved", "resolve", {}),
        ("commented", "comments", {"comment": "hello"}),
        ("assigned", "assignee", {"assignee_email": "dana@example.com"}),
    ],
)
def test_a_switched_off_direction_writes_nothing(
    two_way: TwoWay, incident_id: str, kind: str, switch: str, fields: dict[str, str]
) -> None:
    # Given the field's switch off (assignment is off by default)
    two_way.rewire(**{switch: False})
    two_way.bigpanda.users["dana@example.com"] = "bp-user-7"
    writes = list(two_way.bigpanda.writes)
    # When the desk changes that field
    report = two_way.apply(incident_id, kind, **fields)  # type: ignore[arg-type]
    # Then nothing is written, and the setting is named
    assert report.outcome is Outcome.SWITCHED_OFF
    assert report.detail == f"targets.ops-jira.two_way.{switch}"
    assert two_way.bigpanda.writes == writes


def test_a_desk_reopen_writes_nothing(two_way: TwoWay, incident_id: str) -> None:
    # BigPanda has no call to un-resolve an incident
    writes = list(two_way.bigpanda.writes)
    assert two_way.apply(incident_id, "reopened").outcome is Outcome.NOTHING_TO_DO
    assert two_way.bigpanda.writes == writes
