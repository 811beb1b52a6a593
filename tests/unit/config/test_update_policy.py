"""The update policy of the desk configuration is the reconciler's: per field, written on
every version or on create only."""

from __future__ import annotations

from pandabridge.composition.ticket_sync import update_policy
from pandabridge.desk_config import single_target
from pandabridge.sync import UpdatePolicy


def test_the_default_policy_keeps_agents_triage_edits() -> None:
    # Given a target without an [update] table / When the reconciler's policy is built
    policy = update_policy(single_target("http", "https://desk.example.com"))
    # Then it is the reconciler's own default: summary and description in sync, the rest once
    assert policy == UpdatePolicy()


def test_each_configured_field_reaches_the_reconciler() -> None:
    # Given every field's policy turned around
    update = {"summary": "create", "description": "create", "priority": "sync", "assignee": "sync"}
    desk = single_target("http", "https://desk.example.com", update=update)
    # When the reconciler's policy is built / Then each field follows the file
    assert update_policy(desk) == UpdatePolicy(
        title="create_only", description="create_only", priority="sync", assignee="sync"
    )
