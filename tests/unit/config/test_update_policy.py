"""What the desk configuration sets on the reconciler: the update policy (per field, written on
every version or on create only), the templates and the create window."""

from __future__ import annotations

from pandabridge.composition.ticket_sync import reconciler_options, update_policy
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


def test_the_targets_templates_and_create_window_reach_the_reconciler() -> None:
    # Given a target with its own summary template, priority tag and create window
    desk = single_target(
        "http",
        "https://desk.example.com",
        priority_tag="prio",
        create_outcome_window_seconds=900,
        fields={"summary": "Paged: {incident_id}"},
    )
    # When the reconciler's options are built from it
    options = reconciler_options(desk)
    # Then the draft is rendered with the file's template and tag, and an unseen create waits
    # the file's window
    assert (options["mapping"].summary, options["mapping"].priority_tag) == (
        "Paged: {incident_id}",
        "prio",
    )
    assert options["create_outcome_window_seconds"] == 900
