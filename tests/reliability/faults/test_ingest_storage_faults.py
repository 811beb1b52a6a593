"""Ingest under storage faults: a delivery is stored exactly once, or answered with a 5xx and
nothing written to the table, so that a sender that tries again loses nothing.

The errors are injected on ingest's own DynamoDB and S3 clients, before each attempt is sent;
whether an attempt is tried again is up to botocore's standard retry mode, as in Lambda.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from local.aws import MotoServer, aws_client
from local.names import INCIDENTS_TABLE
from pandabridge.composition.ingest import incident_store
from tests.handlers.conftest import Aws, Invoke
from tests.reliability.faults.world import (
    InjectedError,
    attempts_only,
    dynamodb_error,
    s3_error,
)

Payload = dict[str, Any]
Inject = Callable[[str, str, InjectedError], InjectedError]
StreamWrites = Callable[[str], list[str]]


@pytest.fixture
def incident(sample: Payload) -> Payload:
    """The vendor sample as an incident never stored before."""
    sample["incident"]["id"] = "faults-ingest-0001"
    return sample


@pytest.fixture
def max_attempts(storage_faults: Inject) -> int:
    """How many times in all botocore tries a call on ingest's clients (the first attempt and
    the retries of their configuration)."""
    attempts: int = incident_store().dynamodb.meta.config.retries["total_max_attempts"]
    return attempts


@pytest.fixture
def stream_writes(aws: Aws, moto_server: MotoServer) -> StreamWrites:
    """The incident's stream records (INSERT, MODIFY): one per write that landed, each of
    which the pipe turns into a ticket-sync nudge."""
    streams = aws_client("dynamodbstreams", moto_server.endpoint)

    def writes(incident_id: str) -> list[str]:
        table = aws.dynamodb.describe_table(TableName=INCIDENTS_TABLE.local_name)["Table"]
        arn = table["LatestStreamArn"]
        found = []
        for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            iterator = streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            for record in streams.get_records(ShardIterator=iterator)["Records"]:
                if record["dynamodb"]["Keys"][INCIDENTS_TABLE.partition_key]["S"] == incident_id:
                    found.append(record["eventName"])
        return found

    return writes


@pytest.mark.parametrize("code", ["ProvisionedThroughputExceededException", "ThrottlingException"])
def test_throttled_write_is_retried_inside_and_stored_once(
    code: str,
    incident: Payload,
    api_event: Callable[..., dict[str, Any]],
    invoke: Invoke,
    storage_faults: Inject,
    aws: Aws,
    stream_writes: StreamWrites,
) -> None:
    # Given DynamoDB throttles the first two attempts of the conditional write
    throttle = storage_faults("dynamodb", "PutItem", dynamodb_error(code, times=2))

    # When a new incident is delivered
    answer = invoke(api_event(incident))

    # Then the third attempt stores it, once, and the sender hears "created"
    incident_id = incident["incident"]["id"]
    assert (answer.status, answer.body.get("result")) == (200, "created"), answer.body
    assert throttle.attempts == 3, f"expected 2 throttled attempts, then 1: {throttle.attempts}"
    writes = stream_writes(incident_id)
    assert writes == ["INSERT"], f"incident {incident_id}: expected 1 stored write, found {writes}"


def test_throttling_that_outlasts_the_retries_answers_5xx_and_stores_nothing(
    incident: Payload,
    api_event: Callable[..., dict[str, Any]],
    invoke: Invoke,
    storage_faults: Inject,
    max_attempts: int,
    aws: Aws,
) -> None:
    # Given DynamoDB throttles every attempt of the write
    throttle = storage_faults(
        "dynamodb", "PutItem", dynamodb_error("ProvisionedThroughputExceededException")
    )

    # When a new incident is delivered
    answer = invoke(api_event(incident))

    # Then botocore gave up after its attempts, the sender hears a 5xx JSON answer to send
    # again, and the table holds nothing of it
    assert throttle.attempts == max_attempts
    assert answer.status >= 500, answer
    assert answer.headers["Content-Type"].startswith("application/json")
    assert "not stored" in answer.body["message"]
    assert aws.item(incident["incident"]["id"]) is None


def test_archive_refused_answers_5xx_and_writes_no_item(
    incident: Payload,
    api_event: Callable[..., dict[str, Any]],
    invoke: Invoke,
    storage_faults: Inject,
    aws: Aws,
) -> None:
    # Given S3 refuses the archive of the body
    storage_faults("s3", "PutObject", s3_error(403, "AccessDenied"))
    write = storage_faults("dynamodb", "PutItem", attempts_only())

    # When a new incident is delivered
    answer = invoke(api_event(incident))

    # Then the sender hears a 5xx, and the table was not even tried: no item without its archive
    assert answer.status >= 500, answer
    assert "not stored" in answer.body["message"]
    assert write.attempts == 0
    assert aws.item(incident["incident"]["id"]) is None


def test_archive_error_once_is_retried_inside_and_stored(
    incident: Payload,
    api_event: Callable[..., dict[str, Any]],
    invoke: Invoke,
    storage_faults: Inject,
    aws: Aws,
) -> None:
    # Given S3 answers the first archive attempt with an internal error
    archive = storage_faults("s3", "PutObject", s3_error(500, "InternalError", times=1))

    # When a new incident is delivered
    answer = invoke(api_event(incident))

    # Then the second attempt archives it and the incident is stored
    assert (answer.status, answer.body.get("result")) == (200, "created"), answer.body
    assert archive.attempts == 2
    assert aws.item(incident["incident"]["id"]) is not None


@pytest.mark.parametrize(
    ("service", "operation", "error"),
    [
        ("s3", "PutObject", s3_error(403, "AccessDenied")),
        ("dynamodb", "PutItem", dynamodb_error("AccessDeniedException")),
    ],
    ids=["archive-refused", "write-refused"],
)
def test_delivery_sent_again_after_a_5xx_is_stored_once(
    service: str,
    operation: str,
    error: InjectedError,
    incident: Payload,
    api_event: Callable[..., dict[str, Any]],
    invoke: Invoke,
    storage_faults: Inject,
    stream_writes: StreamWrites,
) -> None:
    # Given a delivery that storage failed with a 5xx
    storage_faults(service, operation, error)
    first = invoke(api_event(incident))
    assert first.status >= 500, first

    # When the storage recovers and the sender sends the same delivery again
    error.times = 0
    again = invoke(api_event(incident))

    # Then it is stored as a new incident, with exactly one write
    incident_id = incident["incident"]["id"]
    assert (again.status, again.body.get("result")) == (200, "created"), again.body
    writes = stream_writes(incident_id)
    assert writes == ["INSERT"], f"incident {incident_id}: expected 1 stored write, found {writes}"
