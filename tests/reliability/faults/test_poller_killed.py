"""A local stack killed (SIGKILL) and another started on the same AWS, desk and BigPanda: the
work of the dead one is done by the next, nothing lost and nothing doubled.

The batch the dead stack was handling comes back when its visibility timeout ends (shortened
here with ``--queue-visibility``), as a dead Lambda invocation's batch does; the next stack's
pipe starts at the oldest stream record, so it also hands over what no stack saw.
"""

from __future__ import annotations

import signal
import time
from typing import Final

from local.aws import aws_client
from local.names import INCIDENTS_TABLE, PAYLOAD_BUCKET, TICKET_SYNC_QUEUE
from pandabridge.incidents import ingest
from pandabridge.parsing import parse_webhook
from pandabridge.stores.incidents import IncidentStore
from tests.reliability.faults.world import Pipeline, StartStack, World, incident_ids, stories
from tests.reliability.scale import SOAK_FACTOR

QUEUED_SECONDS: Final = 10.0 * SOAK_FACTOR
HANG_SECONDS: Final = 20.0
# Versions of each incident synced before the stack is killed; the rest come after.
SYNCED_FIRST: Final = 3


def wait_for_queue(world: World, count: int) -> None:
    """Until the pipe has put ``count`` nudges on the ticket-sync queue."""
    deadline = time.monotonic() + QUEUED_SECONDS
    while (depth := world.depth(TICKET_SYNC_QUEUE.local_name)) < count:
        assert time.monotonic() < deadline, f"expected {count} nudges queued, found {depth}"
        time.sleep(0.1)


def test_ticket_sync_killed_mid_batch_is_finished_by_the_next_stack(
    world: World, pipeline: Pipeline, start_stack: StartStack
) -> None:
    # Given a stack whose ticket sync holds a batch of several incidents' nudges, and waits
    # for the desk's answer to the create of the last incident's ticket, which the desk made
    incidents = incident_ids(3)
    versions = stories(incidents)
    world.desk.close_gate()
    world.desk.hang_on_create(len(incidents))
    first = start_stack()
    pipeline.post(first, versions)
    wait_for_queue(world, sum(len(bodies) for bodies in versions.values()))
    world.desk.open_gate()
    assert world.desk.hanging.wait(HANG_SECONDS), "the desk never got the create to hang on"
    in_flight = world.in_flight(TICKET_SYNC_QUEUE.local_name)
    assert in_flight > 1, f"expected a batch of several nudges in hand, found {in_flight}"

    # When that stack is killed, and another one starts on the same AWS, desk and BigPanda
    first.stop(signal.SIGKILL)
    world.desk.release()
    start_stack()

    # Then every incident has exactly one ticket at its newest version, every ticket exactly
    # one confirmed callback, and no message went to a DLQ
    pipeline.settle()


def test_versions_stored_while_no_stack_runs_reach_the_desk_through_the_next_stack(
    world: World, pipeline: Pipeline, start_stack: StartStack
) -> None:
    # Given incidents synced by a stack that was then killed
    versions = stories(incident_ids(2))
    first = start_stack()
    pipeline.post(first, {incident: bodies[:SYNCED_FIRST] for incident, bodies in versions.items()})
    pipeline.settle()
    first.stop(signal.SIGKILL)

    # When their later versions are stored (by ingest's own code) while no stack runs, and
    # another stack starts
    store = IncidentStore(
        INCIDENTS_TABLE.local_name,
        PAYLOAD_BUCKET.local_name,
        dynamodb=aws_client("dynamodb", world.moto.endpoint),
        s3=aws_client("s3", world.moto.endpoint),
    )
    for incident_id, bodies in versions.items():
        for body in bodies[SYNCED_FIRST:]:
            outcome = ingest(parse_webhook(body.decode()), store)
            assert outcome.result.stored, f"incident {incident_id}: {outcome.result}"
            pipeline.accepted(incident_id, body)
    start_stack()

    # Then the new stack's pipe hands them over: every ticket reaches its newest version
    pipeline.settle()
