"""Ticket sync against a service desk that fails in turn with a 500, a timeout (the call done,
its answer too late) and a 429 with Retry-After, while several incidents each go through
several versions: nothing is lost, doubled or dead-lettered."""

from __future__ import annotations

from tests.reliability.faults.world import (
    SHORT_TICKET_TIMEOUT_SECONDS,
    Fault,
    Pipeline,
    StartStack,
    World,
    incident_ids,
    stories,
)


def test_desk_failing_with_500_timeout_and_429_ends_with_one_current_ticket_each(
    world: World, pipeline: Pipeline, start_stack: StartStack
) -> None:
    # Given a desk whose next calls answer, in turn, 500, too late, and 429 with Retry-After
    faults = (Fault.error(500), Fault.timeout(), Fault.error(429, retry_after=1))
    world.desk.plan(*faults)
    stack = start_stack(ticket_timeout=SHORT_TICKET_TIMEOUT_SECONDS)

    # When several incidents are created, updated, commented, assigned, resolved and reopened
    pipeline.post(stack, stories(incident_ids(3)))

    # Then every incident has exactly one ticket at its newest version, every ticket exactly
    # one confirmed callback, and no message went to a DLQ
    pipeline.settle()
    assert world.desk.served == list(faults), "the desk did not serve every planned fault"
