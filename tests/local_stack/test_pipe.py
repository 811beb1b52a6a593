"""The pipe emulation against a moto server: incidents table stream to the ticket-sync queue."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from local.names import INCIDENTS_TABLE, PAYLOAD_BUCKET
from local.pipe import StreamPipe
from pandabridge.handoff import render_message
from pandabridge.incidents import ingest
from pandabridge.messages import SyncNudge
from pandabridge.parsing import parse_webhook
from pandabridge.stores.incidents import IncidentStore
from tests.fifo_ids import HARD_IDS, SQS_FIFO_ID
from tests.local_stack.harness import aws_client

WAIT_SECONDS = 5.0

StartPipe = Callable[[], StreamPipe]


@pytest.fixture
def dynamodb(resources: str) -> Any:
    return aws_client("dynamodb", resources)


@pytest.fixture
def sqs(resources: str) -> Any:
    return aws_client("sqs", resources)


@pytest.fixture
def start_pipe(resources: str, ticket_sync_queue: str) -> Iterator[StartPipe]:
    """Starts the pipe on the fresh resources (when the test says so); stops it after."""
    started: list[StreamPipe] = []

    def start() -> StreamPipe:
        pipe = StreamPipe(
            resources,
            table_name=INCIDENTS_TABLE.local_name,
            queue_url=ticket_sync_queue,
            poll_seconds=0.05,
            retry_max_seconds=0.05,
        )
        started.append(pipe.start())
        return pipe

    yield start
    for pipe in started:
        pipe.stop()


def put_version(
    dynamodb: Any, incident_id: str, version: str, content_hash: str, group_id: str | None = None
) -> None:
    """An incident item with the attributes the pipe reads, as ingest writes them."""
    dynamodb.put_item(
        TableName=INCIDENTS_TABLE.local_name,
        Item={
            INCIDENTS_TABLE.partition_key: {"S": incident_id},
            "version_key": {"S": version},
            "content_hash": {"S": content_hash},
            "fifo_group_id": {"S": group_id or incident_id},
        },
    )


def wait_until_sent(pipe: StreamPipe, count: int) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while pipe.sent < count:
        assert time.monotonic() < deadline, f"the pipe sent {pipe.sent} of {count} messages"
        time.sleep(0.02)


def queued(sqs: Any, url: str) -> list[tuple[str, str, str]]:
    """(group id, deduplication id, body) of every message on the queue, in queue order."""
    messages = sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
    ).get("Messages", [])
    return [
        (
            message["Attributes"]["MessageGroupId"],
            message["Attributes"]["MessageDeduplicationId"],
            message["Body"],
        )
        for message in messages
    ]


def expected(incident_id: str, version: str, content_hash: str) -> tuple[str, str, str]:
    nudge = SyncNudge(incident_id=incident_id, version=version, sha256=content_hash)
    return incident_id, content_hash, render_message(nudge)


def test_a_put_becomes_one_fifo_message_grouped_by_incident_and_deduplicated_by_hash(
    start_pipe: StartPipe, dynamodb: Any, sqs: Any, ticket_sync_queue: str
) -> None:
    # Given the pipe following the incidents table
    pipe = start_pipe()
    # When an incident version is stored
    put_version(dynamodb, "inc-1", "v1", "hash-1")
    wait_until_sent(pipe, 1)
    # Then exactly one message is queued: group = incident, dedup id = hash, the pipe's body
    assert queued(sqs, ticket_sync_queue) == [expected("inc-1", "v1", "hash-1")]


def test_a_remove_is_filtered_out(
    start_pipe: StartPipe, dynamodb: Any, sqs: Any, ticket_sync_queue: str
) -> None:
    # Given the pipe and a stored incident
    pipe = start_pipe()
    put_version(dynamodb, "inc-1", "v1", "hash-1")
    # When the incident is deleted, and another one stored after it
    dynamodb.delete_item(
        TableName=INCIDENTS_TABLE.local_name,
        Key={INCIDENTS_TABLE.partition_key: {"S": "inc-1"}},
    )
    put_version(dynamodb, "inc-2", "v1", "hash-2")
    wait_until_sent(pipe, 2)
    # Then only the two puts are queued: the REMOVE between them sent nothing
    assert queued(sqs, ticket_sync_queue) == [
        expected("inc-1", "v1", "hash-1"),
        expected("inc-2", "v1", "hash-2"),
    ]


def test_two_writes_of_an_incident_become_two_messages_in_order(
    start_pipe: StartPipe, dynamodb: Any, sqs: Any, ticket_sync_queue: str
) -> None:
    # Given the pipe
    pipe = start_pipe()
    # When an incident is stored and then updated
    put_version(dynamodb, "inc-1", "v1", "hash-1")
    put_version(dynamodb, "inc-1", "v2", "hash-2")
    wait_until_sent(pipe, 2)
    # Then both versions are queued in the incident's group, oldest first
    assert queued(sqs, ticket_sync_queue) == [
        expected("inc-1", "v1", "hash-1"),
        expected("inc-1", "v2", "hash-2"),
    ]


def test_versions_stored_before_the_pipe_started_are_queued(
    start_pipe: StartPipe, dynamodb: Any, sqs: Any, ticket_sync_queue: str
) -> None:
    # Given an incident stored while no pipe runs
    put_version(dynamodb, "inc-1", "v1", "hash-1")
    # When the pipe starts
    pipe = start_pipe()
    wait_until_sent(pipe, 1)
    # Then it reads the stream from its oldest record and queues that version
    assert queued(sqs, ticket_sync_queue) == [expected("inc-1", "v1", "hash-1")]


def test_stop_ends_the_pipe_thread_promptly(start_pipe: StartPipe) -> None:
    # Given a running pipe
    pipe = start_pipe()
    assert pipe.running
    # When it is stopped
    started = time.monotonic()
    pipe.stop()
    # Then its thread has ended within a poll or two
    assert time.monotonic() - started < 1
    assert not pipe.running


@pytest.mark.parametrize("incident_id", HARD_IDS.values(), ids=HARD_IDS.keys())
def test_any_incident_id_ingest_accepts_is_queued_with_a_valid_group_id(
    start_pipe: StartPipe,
    resources: str,
    sqs: Any,
    ticket_sync_queue: str,
    sample: dict[str, Any],
    incident_id: str,
) -> None:
    # Given the pipe, and a delivery whose incident id SQS would not take as a group id
    pipe = start_pipe()
    sample["incident"]["id"] = incident_id
    store = IncidentStore(
        INCIDENTS_TABLE.local_name,
        PAYLOAD_BUCKET.local_name,
        aws_client("dynamodb", resources),
        aws_client("s3", resources),
    )
    # When ingest stores it
    ingest(parse_webhook(json.dumps(sample)), store)
    wait_until_sent(pipe, 1)
    # Then its nudge is on the queue, naming the incident, in a group SQS accepts
    [(group_id, dedup_id, body)] = queued(sqs, ticket_sync_queue)
    assert SQS_FIFO_ID.fullmatch(group_id)
    assert SQS_FIFO_ID.fullmatch(dedup_id)
    assert json.loads(body)["incident_id"] == incident_id


def test_a_record_sqs_refuses_is_given_up_after_the_retries_and_the_shard_moves_on(
    start_pipe: StartPipe, dynamodb: Any, sqs: Any, ticket_sync_queue: str
) -> None:
    # Given the pipe, and a record whose group id SQS refuses (written by hand, not by ingest)
    pipe = start_pipe()
    put_version(dynamodb, "inc-1", "v1", "hash-1", group_id="not a group id")
    # When a valid version is stored after it
    put_version(dynamodb, "inc-2", "v1", "hash-2")
    wait_until_sent(pipe, 1)
    # Then the refused record was dead-lettered after the stack's retries, as the real pipe
    # does, and the shard did not stop at it: the next version is queued
    assert pipe.dead_lettered == 1
    assert queued(sqs, ticket_sync_queue) == [expected("inc-2", "v1", "hash-2")]
