"""The callback while BigPanda's API answers 503 for a while: every new ticket is still
confirmed to BigPanda exactly once, and nothing goes to the callback DLQ."""

from __future__ import annotations

from http import HTTPStatus

from tests.reliability.faults.world import Pipeline, StartStack, World, incident_ids, stories


def test_bigpanda_unavailable_for_a_while_still_gets_one_confirmation_per_ticket(
    world: World, pipeline: Pipeline, start_stack: StartStack
) -> None:
    # Given BigPanda answers its next callbacks with 503: about two per new ticket
    incidents = incident_ids(4)
    failing = 2 * len(incidents)
    world.bigpanda.failures.arm(HTTPStatus.SERVICE_UNAVAILABLE, failing)
    stack = start_stack()

    # When new incidents are shared, and shared again with an update
    pipeline.post(stack, stories(incidents, steps=2))

    # Then every ticket is confirmed exactly once, after BigPanda's 503s, and none dead-lettered
    pipeline.settle()
    refused = [call for call in world.bigpanda.records() if call.status == 503]
    assert len(refused) == failing, f"expected {failing} callbacks refused, got {len(refused)}"
