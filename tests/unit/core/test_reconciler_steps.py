"""The reconciler when the desk refuses one step as configured: that step fails alone.

A refused step (``StepFailedError``) is recorded in the ticket state as needing attention, the
other steps still run, later versions still sync, and the nudge is postponed a bounded number
of times to try the step again.
"""

from __future__ import annotations

from typing import Any

import pytest

from pandabridge.errors import PermanentError, StepFailedError
from pandabridge.names import Limits
from pandabridge.sync import Action, comment_key, step_backoff_seconds
from pandabridge.tickets.model import PartlyCreatedError, TicketRef, TicketStatus
from tests.unit.core.deliveries import later, reactivated, resolved, with_assignee, with_comment
from tests.unit.core.world import KNOWN_USER, World

Payload = dict[str, Any]
WORKFLOW = "targets.jira.workflow.resolve"


def no_done_transition() -> StepFailedError:
    return StepFailedError(
        "no transition named Done (the issue offers: Resolve Issue, Close Issue)",
        setting=WORKFLOW,
        status=400,
        step="resolve",
    )


def resolved_with_comment(sample: Payload, text: str, seconds: int = 60) -> Payload:
    version = with_comment(sample, text, seconds)
    version["incident"].update(status="OK", active=False)
    return version


def test_a_refused_resolve_is_recorded_and_the_other_steps_still_run(
    world: World, sample: Payload, incident_id: str
) -> None:
    # Given a synced incident, and a desk whose workflow refuses the resolve
    world.sync(sample)
    world.target.fail("resolve", no_done_transition())
    # When a resolved version carrying a comment and an assignee is synced
    version = resolved_with_comment(sample, "fixed by restart")
    version["metadata"]["assignee"] = {"userId": KNOWN_USER}
    report = world.sync(version)
    # Then the comment and the assignee reach the ticket all the same
    assert Action.COMMENTED in report.actions
    assert Action.ASSIGNED in report.actions
    assert world.target.only_ticket().comments == ["fixed by restart"]
    # And the refusal is recorded as needing attention, with the desk's message and the setting
    failure = world.state(incident_id).step_failures["resolve"]
    assert (failure.setting, failure.attempts, failure.at) == (WORKFLOW, 1, world.clock())
    assert "Resolve Issue" in failure.reason
    assert report.failed_steps == (failure,)
    # And the ticket is not taken for resolved
    assert world.state(incident_id).status is TicketStatus.OPEN


def test_a_refused_step_postpones_its_nudge_a_bounded_number_of_times(
    world: World, sample: Payload, incident_id: str
) -> None:
    # Given a desk that refuses every resolve
    world.sync(sample)
    world.target.fail("resolve", no_done_transition(), times=100)
    nudge = world.store(resolved(sample))
    # When the nudge is delivered again for as long as the report asks for a retry
    waits = []
    for _ in range(20):
        report = world.reconciler.sync(nudge)
        if report.retry_after is None:
            break
        waits.append(report.retry_after)
        world.clock.advance(report.retry_after)
    # Then it was retried with a doubling backoff, and then completed with the step flagged
    attempts = Limits.STEP_RETRY_ATTEMPTS
    assert waits == [step_backoff_seconds(n) for n in range(1, attempts)]
    assert world.target.calls.count("resolve") == attempts
    assert world.state(incident_id).step_failures["resolve"].attempts == attempts


def test_a_refused_step_is_tried_again_with_the_next_version_and_its_record_cleared(
    world: World, sample: Payload, incident_id: str
) -> None:
    # Given a resolve the desk refused (the admin then fixes the workflow setting)
    world.sync(sample)
    world.target.fail("resolve", no_done_transition())
    world.sync(resolved(sample))
    # When the next resolved version is synced
    report = world.sync(resolved(sample, seconds=90))
    # Then the ticket is resolved, and nothing needs attention any more
    assert Action.RESOLVED in report.actions
    assert world.target.only_ticket().status is TicketStatus.RESOLVED
    assert world.state(incident_id).step_failures == {}


def test_an_incident_with_a_step_refused_for_good_keeps_syncing(
    world: World, sample: Payload, incident_id: str
) -> None:
    """Failure 3 (engine side): a workflow without "Done" no longer blocks the incident."""
    # Given a desk that refuses every resolve of this ticket
    world.sync(sample)
    world.target.fail("resolve", no_done_transition(), times=100)
    # When three resolved versions, each with its own comment, are synced
    for n, text in enumerate(("restarted", "watching", "stable for an hour"), start=1):
        world.sync(resolved_with_comment(sample, text, seconds=60 * n))
    # Then none of them failed, every comment reached the ticket once, and the refused resolve
    # is still recorded, counted once per attempt
    assert world.target.only_ticket().comments == ["restarted", "watching", "stable for an hour"]
    assert world.state(incident_id).step_failures["resolve"].attempts == 3


def test_a_refused_resolve_is_forgotten_once_the_incident_is_active_again(
    world: World, sample: Payload, incident_id: str
) -> None:
    # Given a refused resolve
    world.sync(sample)
    world.target.fail("resolve", no_done_transition())
    world.sync(resolved(sample))
    # When the incident becomes active again (the ticket still open)
    report = world.sync(reactivated(sample))
    # Then no reopen is asked for, and the resolve no longer needs attention
    assert world.target.calls.count("reopen") == 0
    assert report.failed_steps == ()
    assert world.state(incident_id).step_failures == {}


def test_a_refused_comment_is_recorded_and_a_later_comment_still_added(
    world: World, sample: Payload, incident_id: str
) -> None:
    # Given a desk that refuses one comment
    world.sync(sample)
    refusal = StepFailedError("comment too long", setting="the comment text", step="comment")
    world.target.fail("comment", refusal)
    world.sync(with_comment(sample, "x" * 100))
    # When a later version brings another comment
    world.sync(with_comment(sample, "short one", seconds=120))
    # Then that comment is added, and the refused one is recorded by its key, not as attempted
    assert world.target.only_ticket().comments == ["short one"]
    state = world.state(incident_id)
    key = comment_key("x" * 100)
    assert state.step_failures[f"comment:{key}"].setting == "the comment text"
    assert key not in state.comment_attempts


def test_a_refused_assignee_is_recorded_and_asked_again_with_the_next_version(
    world: World, sample: Payload, incident_id: str
) -> None:
    # Given a desk that refuses an assignee once ("cannot be assigned issues")
    world.sync(sample)
    refusal = StepFailedError("cannot be assigned issues", setting=KNOWN_USER, step="assign")
    world.target.fail("assign", refusal)
    report = world.sync(with_assignee(sample, userId=KNOWN_USER))
    assert world.state(incident_id).step_failures["assign"].setting == KNOWN_USER
    assert report.failed_steps[0].step == "assign"
    # When the next version names the same assignee
    world.sync(with_assignee(sample, seconds=90, userId=KNOWN_USER))
    # Then the desk is asked again, assigns, and nothing needs attention
    assert world.target.only_ticket().assignee is not None
    assert world.state(incident_id).step_failures == {}


def test_a_refused_field_leaves_the_other_changed_fields_written(
    world: World, sample: Payload, incident_id: str
) -> None:
    # Given a desk that refuses the description of the next update
    world.sync(sample)
    refusal = StepFailedError(
        "description too long", setting="description", step="field:description"
    )
    world.target.fail("update", refusal)
    # When a version that changes title and description is synced
    report = world.sync(later(sample, severity="Warning", status="Warning"))
    # Then the title is written in a second call of its own, and the description is recorded
    assert [call[3] for call in world.target.calls.log if call[0] == "update"] == [
        frozenset({"title", "description"}),
        frozenset({"title"}),
    ]
    assert world.target.only_ticket().draft.title.endswith("- Warning")
    assert Action.UPDATED in report.actions
    assert set(world.state(incident_id).step_failures) == {"field:description"}


def test_a_refused_field_is_written_on_the_retry_of_the_same_version(
    world: World, sample: Payload, incident_id: str
) -> None:
    # Given a description the desk refused once
    world.sync(sample)
    refusal = StepFailedError("try later", setting="description", step="field:description")
    world.target.fail("update", refusal)
    nudge = world.store(later(sample, severity="Warning", status="Warning"))
    assert world.reconciler.sync(nudge).retry_after is not None
    # When the nudge is retried
    world.reconciler.sync(nudge)
    # Then only the description is written, and the version is in sync
    assert world.target.calls.log[-1][3] == frozenset({"description"})
    state = world.state(incident_id)
    assert (state.step_failures, state.synced_hash) == ({}, nudge.sha256)


def test_a_ticket_created_without_a_refused_field_is_kept_and_the_field_recorded(
    world: World, sample: Payload, incident_id: str
) -> None:
    # Given a desk that creates the ticket without the priority it refuses ("P2 - High" scheme)
    ref = TicketRef(id="T-9", key="OPS-9")
    world.target.fail(
        "create",
        PartlyCreatedError(
            "priority 'Highest' is not in the scheme",
            setting="targets.jira.fields.priority_map.P1",
            status=400,
            step="field:priority",
            ref=ref,
        ),
    )
    # When the incident is synced
    report = world.sync(sample)
    # Then the ticket is recorded as created, its callback queued once, and the field recorded
    assert report.actions == (Action.CREATED, Action.CALLBACK_QUEUED)
    state = world.state(incident_id)
    assert state.ticket == ref
    assert state.step_failures["field:priority"].setting == "targets.jira.fields.priority_map.P1"
    assert "priority" not in state.field_hashes
    assert len(world.outbox.queued) == 1


def test_a_step_failure_outside_a_step_and_whole_message_failures_still_fail_the_message(
    world: World, sample: Payload
) -> None:
    # Given a desk that refuses the credentials on resolve (not a step refusal)
    world.sync(sample)
    world.target.fail("resolve", PermanentError("401 from the desk", setting="TICKET_SECRET_ID"))
    # When a resolved version is synced
    # Then the whole message fails, as before
    with pytest.raises(PermanentError, match="TICKET_SECRET_ID"):
        world.sync(resolved(sample))


def test_a_reopen_onto_a_new_ticket_points_the_state_at_it_without_a_second_callback(
    world: World, sample: Payload, incident_id: str
) -> None:
    # Given a resolved ticket on a desk that cannot reopen it (ServiceNow's Closed)
    first = world.sync(sample).ticket
    world.sync(resolved(sample))
    world.target.reopen_as_new_ticket = True
    # When the incident is active again
    report = world.sync(reactivated(sample))
    # Then the state points at the new ticket, keeps the old one, and no callback is queued
    state = world.state(incident_id)
    assert Action.MOVED in report.actions
    assert state.ticket is not None
    assert state.ticket != first
    assert state.previous_tickets == (first,)
    assert state.status is TicketStatus.OPEN
    assert len(world.outbox.queued) == 1
    # And a later comment reaches the new ticket
    world.sync(with_comment(sample, "still broken", seconds=180))
    assert world.target.tickets[state.ticket.id].comments == ["still broken"]
