"""The reconciler on a ticket that exists: each change of the incident reaches it once."""

from __future__ import annotations

from typing import Any

import pytest

from pandabridge.errors import RetryableError
from pandabridge.sync import REOPEN_NOTE, RESOLVE_NOTE, Action, comment_key
from pandabridge.tickets.model import Assignee, TicketStatus
from tests.unit.core.deliveries import later, reactivated, resolved, with_assignee, with_comment
from tests.unit.core.world import KNOWN_USER, World

Payload = dict[str, Any]


def test_a_new_version_updates_the_ticket_fields_once(
    world: World, sample: Payload, incident_id: str
) -> None:
    # Given a synced incident
    world.sync(sample)
    # When a version with another severity is synced
    changed = later(sample, severity="Warning", status="Warning")
    nudge = world.store(changed)
    report = world.reconciler.sync(nudge)
    # Then the ticket's fields are updated once and the state names the new version
    assert report.actions == (Action.UPDATED,)
    assert world.target.calls.done["update"] == 1
    assert world.target.only_ticket().draft.title.endswith("- Warning")
    assert world.state(incident_id).synced_hash == nudge.sha256


def test_a_desk_asking_to_come_back_later_leaves_the_version_unsynced(
    world: World, sample: Payload, incident_id: str
) -> None:
    # Given a synced incident, and a desk that answers the next update with 429, Retry-After 7
    synced = world.store(sample)
    world.reconciler.sync(synced)
    busy = RetryableError("429 from the desk", retry_after=7)
    world.target.fail("update", busy)
    # When a new version is synced
    with pytest.raises(RetryableError) as raised:
        world.sync(later(sample, severity="Warning"))
    # Then the desk's answer reaches the queue's consumer as it was, and the state still names
    # the synced version, so the retry updates the ticket
    assert raised.value is busy
    assert world.state(incident_id).synced_hash == synced.sha256


def test_a_resolved_incident_resolves_its_ticket_with_a_note(
    world: World, sample: Payload, incident_id: str
) -> None:
    # Given a synced, open incident
    world.sync(sample)
    # When the incident is resolved in BigPanda
    report = world.sync(resolved(sample))
    # Then the ticket is resolved once, with the note, and the state records when
    assert report.actions == (Action.UPDATED, Action.RESOLVED)
    assert world.target.calls.log[-1][2] == RESOLVE_NOTE
    assert world.target.only_ticket().status is TicketStatus.RESOLVED
    state = world.state(incident_id)
    assert (state.status, state.resolved_at) == (TicketStatus.RESOLVED, world.clock())


def test_a_second_resolved_version_does_not_resolve_again(world: World, sample: Payload) -> None:
    # Given a resolved ticket
    world.sync(sample)
    world.sync(resolved(sample))
    # When another resolved version arrives, rendering the same fields
    report = world.sync(resolved(sample, seconds=90))
    # Then nothing is written: not the unchanged fields, not the status
    assert report.actions == ()
    assert world.target.calls.done["resolve"] == 1
    assert world.target.calls.done["update"] == 1


def test_a_reactivated_incident_reopens_its_ticket_with_a_note(
    world: World, sample: Payload, incident_id: str
) -> None:
    # Given a resolved ticket
    world.sync(sample)
    world.sync(resolved(sample))
    # When the incident is active again
    report = world.sync(reactivated(sample))
    # Then the ticket is reopened once, with the note, and the resolution is forgotten
    assert report.actions == (Action.UPDATED, Action.REOPENED)
    assert world.target.calls.log[-1][2] == REOPEN_NOTE
    assert world.target.only_ticket().status is TicketStatus.OPEN
    state = world.state(incident_id)
    assert (state.status, state.resolved_at) == (TicketStatus.OPEN, None)


def test_an_incident_resolved_before_its_first_sync_gets_a_ticket_that_is_resolved(
    world: World, sample: Payload
) -> None:
    # Given the first stored version is already resolved
    # When it is synced
    report = world.sync(resolved(sample))
    # Then the ticket is created, then resolved
    assert report.actions == (Action.CREATED, Action.CALLBACK_QUEUED, Action.RESOLVED)
    assert world.target.only_ticket().status is TicketStatus.RESOLVED


def test_a_found_ticket_of_a_resolved_incident_is_resolved(
    world: World, sample: Payload, incident_id: str
) -> None:
    # Given the desk holds an open ticket for an incident the state does not know of
    world.target.create(world.reconciler_draft(sample))
    # When the incident, resolved meanwhile, is synced
    report = world.sync(resolved(sample))
    # Then the found ticket is resolved
    assert report.actions == (Action.FOUND, Action.CALLBACK_QUEUED, Action.UPDATED, Action.RESOLVED)
    assert world.state(incident_id).status is TicketStatus.RESOLVED


def test_a_comment_is_added_once_and_remembered(
    world: World, sample: Payload, incident_id: str
) -> None:
    # Given a synced incident
    world.sync(sample)
    # When a version carrying a comment is synced
    report = world.sync(with_comment(sample, "DB team is on it"))
    # Then the comment is on the ticket once, and the state remembers it
    assert Action.COMMENTED in report.actions
    assert world.target.only_ticket().comments == ["DB team is on it"]
    assert comment_key("DB team is on it") in world.state(incident_id).comment_hashes


def test_a_comment_given_as_plain_text_is_added(world: World, sample: Payload) -> None:
    # Given a version whose metadata.comment is a string, not an object
    changed = later(sample)
    changed["metadata"]["comment"] = "looking"
    # When it is synced
    world.sync(changed)
    # Then the text is the comment
    assert world.target.only_ticket().comments == ["looking"]


def test_the_same_comment_in_two_versions_is_added_once(world: World, sample: Payload) -> None:
    # Given a comment synced with one version
    world.sync(with_comment(sample, "looking", seconds=30))
    # When a later version carries the same comment
    report = world.sync(with_comment(sample, "looking", seconds=60))
    # Then it is not added again
    assert Action.COMMENTED not in report.actions
    assert world.target.only_ticket().comments == ["looking"]


def test_the_comment_of_an_overtaken_version_is_read_from_its_archive(
    world: World, sample: Payload
) -> None:
    # Given a version with a comment, overtaken by a newer one before any sync
    commented = world.store(with_comment(sample, "first look", seconds=30))
    world.store(later(sample, seconds=60))
    # When the commented version's nudge is synced
    world.reconciler.sync(commented)
    # Then its comment reached the ticket, read from that version's archived payload
    assert world.target.only_ticket().comments == ["first look"]


def test_the_comment_of_a_version_no_longer_archived_is_skipped(
    world: World, sample: Payload, incident_id: str
) -> None:
    # Given an overtaken version with a comment, whose archived body has expired
    commented = world.store(with_comment(sample, "first look", seconds=30))
    world.store(later(sample, seconds=60))
    world.book.expire_archive(incident_id, commented.sha256)
    # When its nudge is synced
    world.reconciler.sync(commented)
    # Then the ticket is brought to the newest version, without that comment
    assert world.target.only_ticket().comments == []


def test_an_assignee_the_desk_knows_is_assigned_once(
    world: World, sample: Payload, incident_id: str
) -> None:
    # Given a synced incident
    world.sync(sample)
    # When a version assigns it to a user the desk knows, and a later one repeats that
    person = {"userId": KNOWN_USER, "email": "din@example.com", "name": "Din Djarin"}
    report = world.sync(with_assignee(sample, **person))
    world.sync(with_assignee(sample, seconds=90, **person))
    # Then the ticket is assigned once, to that user, and the state remembers who
    assert Action.ASSIGNED in report.actions
    assert world.target.calls.done["assign"] == 1
    assert world.target.only_ticket().assignee == Assignee(
        user_id=KNOWN_USER, email="din@example.com", name="Din Djarin"
    )
    assert world.state(incident_id).assignee == KNOWN_USER


def test_an_assignee_the_desk_does_not_know_is_asked_for_once_and_recorded(
    world: World, sample: Payload, incident_id: str
) -> None:
    # Given a synced incident
    world.sync(sample)
    # When two versions assign it to a user the desk does not know, by email only
    report = world.sync(with_assignee(sample, email="stranger@example.com"))
    world.sync(with_assignee(sample, seconds=90, email="stranger@example.com"))
    # Then the desk is asked once, nothing is reported as assigned, and the email is recorded
    assert Action.ASSIGNED not in report.actions
    assert world.target.calls.count("assign") == 1
    assert world.state(incident_id).assignee == "stranger@example.com"


def test_an_assignee_without_user_id_or_email_is_not_assigned(
    world: World, sample: Payload
) -> None:
    # Given a synced incident
    world.sync(sample)
    # When a version names an assignee by name only
    world.sync(with_assignee(sample, name="Someone"))
    # Then the desk is not asked
    assert world.target.calls.count("assign") == 0


def test_a_desk_without_assignment_is_never_asked_to_assign(
    world: World, sample: Payload, incident_id: str
) -> None:
    # Given a desk that does not support assignment
    world.target.supports_assignment = False
    # When a version with an assignee is synced
    world.sync(with_assignee(sample, userId=KNOWN_USER))
    # Then the desk is not asked, and no assignee is recorded
    assert world.target.calls.count("assign") == 0
    assert world.state(incident_id).assignee is None


def test_a_version_without_metadata_adds_no_comment_and_no_assignee(
    world: World, sample: Payload, incident_id: str
) -> None:
    # Given a synced incident
    world.sync(sample)
    # When a version without metadata is synced
    bare = later(sample, severity="Warning")
    del bare["metadata"]
    report = world.sync(bare)
    # Then only the fields are updated
    assert report.actions == (Action.UPDATED,)
    assert world.target.only_ticket().comments == []
    assert world.state(incident_id).assignee is None
