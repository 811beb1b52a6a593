"""The reconciler's field updates: agents' triage on the desk survives new incident versions.

A field is written only when its rendered value differs from what was last written, and only
if the ``UpdatePolicy`` keeps it in sync (by default the title and the description; the
priority and the assignee are the create's alone).
"""

from __future__ import annotations

from typing import Any

from pandabridge.sync import Action, UpdatePolicy, field_hashes
from pandabridge.tickets.state import TicketState
from tests.unit.core.deliveries import later, with_assignee, with_comment
from tests.unit.core.world import KNOWN_USER, World

Payload = dict[str, Any]
OTHER_USER = "bp-user-2"


def updates(world: World) -> list[frozenset[str]]:
    """The fields named by each update call, in order."""
    return [call[3] for call in world.target.calls.log if call[0] == "update"]


def test_a_new_version_writes_only_the_synced_fields_that_changed(
    world: World, sample: Payload
) -> None:
    # Given a synced incident
    world.sync(sample)
    # When a version whose severity changes title, description and priority is synced
    world.sync(later(sample, severity="Warning", status="Warning"))
    # Then one update names the title and the description, not the create-only priority
    assert updates(world) == [frozenset({"title", "description"})]


def test_an_agents_priority_survives_a_new_version(world: World, sample: Payload) -> None:
    """Failure 9: triage edits are no longer overwritten."""
    # Given a synced P1 ticket that an agent re-prioritised to P2 on the desk
    ref = world.sync(sample).ticket
    assert ref is not None
    world.target.edit(ref, priority="P2")
    # When a version whose rendered priority is P3 is synced
    world.sync(later(sample, severity="Warning", status="Warning"))
    # Then the agent's priority is kept
    assert world.target.only_ticket().draft.priority == "P2"


def test_a_version_that_changes_no_rendered_field_writes_nothing(
    world: World, sample: Payload, incident_id: str
) -> None:
    # Given a synced incident whose agent retitled the ticket
    ref = world.sync(sample).ticket
    assert ref is not None
    world.target.edit(ref, title="DB outage (triaged)")
    # When a version arrives that renders the same fields (a comment only)
    nudge = world.store(with_comment(sample, "looking"))
    report = world.reconciler.sync(nudge)
    # Then no update is sent, the agent's title stays, and the version counts as synced
    assert Action.UPDATED not in report.actions
    assert updates(world) == []
    assert world.target.only_ticket().draft.title == "DB outage (triaged)"
    assert world.state(incident_id).synced_hash == nudge.sha256


def test_a_priority_kept_in_sync_is_written_when_it_changes(sample: Payload) -> None:
    # Given a reconciler whose policy keeps the priority in sync
    world = World(update_policy=UpdatePolicy(priority="sync"))
    world.sync(sample)
    # When a version with another priority is synced
    world.sync(later(sample, severity="Warning", status="Warning"))
    # Then the priority is written with the changed fields
    assert updates(world) == [frozenset({"title", "description", "priority"})]
    assert world.target.only_ticket().draft.priority == "P3"


def test_a_state_saved_before_fields_were_tracked_writes_the_synced_fields_once(
    world: World, sample: Payload, incident_id: str
) -> None:
    """The first sync after the upgrade keeps the old rule once (a changed version writes its
    fields) for the synced fields only, and records every field's hash for the next."""
    # Given a ticket whose state holds no field hashes (saved by the previous release)
    world.sync(sample)
    stored = world.state(incident_id)
    world.table.items[incident_id] = stored.but(field_hashes={})
    # When a changed version is synced, and then one that renders the same fields
    changed = later(sample, severity="Warning", status="Warning")
    world.sync(changed)
    world.sync(with_comment(changed, "looking", seconds=30))
    # Then the synced fields were written once, the priority not at all, and every hash kept
    assert updates(world) == [frozenset({"title", "description"})]
    expected = field_hashes(world.reconciler_draft(changed))
    assert dict(world.state(incident_id).field_hashes) == expected


def test_a_create_records_the_hash_of_every_field_it_wrote(
    world: World, sample: Payload, incident_id: str
) -> None:
    # Given no ticket yet
    # When the first version is synced
    world.sync(sample)
    # Then the state holds each field's hash, as created
    state: TicketState = world.state(incident_id)
    assert dict(state.field_hashes) == field_hashes(world.reconciler_draft(sample))


def test_a_create_only_assignee_is_assigned_once(
    world: World, sample: Payload, incident_id: str
) -> None:
    # Given a ticket assigned through BigPanda, then re-assigned by an agent on the desk
    world.target.known_users.add(OTHER_USER)
    world.sync(with_assignee(sample, userId=KNOWN_USER))
    # When a version names another assignee
    report = world.sync(with_assignee(sample, seconds=90, userId=OTHER_USER))
    # Then the desk is not asked again
    assert Action.ASSIGNED not in report.actions
    assert world.target.calls.count("assign") == 1
    assert world.state(incident_id).assignee == KNOWN_USER


def test_an_assignee_kept_in_sync_follows_bigpanda(sample: Payload, incident_id: str) -> None:
    # Given a reconciler whose policy keeps the assignee in sync
    world = World(update_policy=UpdatePolicy(assignee="sync"))
    world.target.known_users.add(OTHER_USER)
    world.sync(with_assignee(sample, userId=KNOWN_USER))
    # When a version names another assignee
    world.sync(with_assignee(sample, seconds=90, userId=OTHER_USER))
    # Then the ticket is reassigned
    assert world.target.calls.done["assign"] == 2
    assert world.state(incident_id).assignee == OTHER_USER
