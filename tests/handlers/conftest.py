"""The ingest handler against a real moto server over HTTP, with fresh resources per test."""

from __future__ import annotations

import gzip
import io
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest

from local.aws import MotoServer, client_environment, create_resources, function_environment
from local.context import LambdaContext
from pandabridge.names import INCIDENTS_TABLE, PAYLOAD_BUCKET


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    server = MotoServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _aws_environment(moto_server: MotoServer) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in (
            client_environment(moto_server.endpoint) | function_environment(moto_server.endpoint)
        ).items():
            patch.setenv(name, value)
        yield


@dataclass
class Aws:
    """Direct views of what the handler stored, read past the code under test."""

    dynamodb: Any
    s3: Any
    sqs: Any

    def items(self) -> list[dict[str, Any]]:
        return self.dynamodb.scan(TableName=INCIDENTS_TABLE.local_name, ConsistentRead=True)[
            "Items"
        ]

    def item(self, incident_id: str) -> dict[str, Any] | None:
        key = {INCIDENTS_TABLE.partition_key: {"S": incident_id}}
        return self.dynamodb.get_item(
            TableName=INCIDENTS_TABLE.local_name, Key=key, ConsistentRead=True
        ).get("Item")

    def object_keys(self) -> list[str]:
        listing = self.s3.list_objects_v2(Bucket=PAYLOAD_BUCKET.local_name)
        return [obj["Key"] for obj in listing.get("Contents", [])]

    def archived_body(self, key: str) -> bytes:
        obj = self.s3.get_object(Bucket=PAYLOAD_BUCKET.local_name, Key=key)
        return gzip.decompress(obj["Body"].read())


@pytest.fixture
def aws(moto_server: MotoServer, _aws_environment: None) -> Aws:
    moto_server.reset()
    create_resources(moto_server.endpoint)
    return Aws(dynamodb=boto3.client("dynamodb"), s3=boto3.client("s3"), sqs=boto3.client("sqs"))


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: dict[str, str]
    body: dict[str, Any]


Invoke = Callable[[dict[str, Any]], HttpAnswer]


@pytest.fixture
def ingest_logs() -> Iterator[io.StringIO]:
    """The ingest function's log lines, formatted exactly as Powertools writes them."""
    from ingest.handler import logger

    stream = io.StringIO()
    sink = logging.StreamHandler(stream)
    sink.setFormatter(logger.registered_formatter)
    target = logging.getLogger(logger.name)
    target.addHandler(sink)
    yield stream
    target.removeHandler(sink)


@pytest.fixture
def invoke(aws: Aws) -> Invoke:
    """Calls the real ingest handler with an API Gateway proxy event."""
    from ingest.handler import handler

    def call(event: dict[str, Any]) -> HttpAnswer:
        answer = handler(event, LambdaContext(function_name="ingest"))
        # API Gateway merges both header maps into the HTTP answer.
        headers = {k: v[-1] for k, v in (answer.get("multiValueHeaders") or {}).items()}
        headers |= answer.get("headers") or {}
        return HttpAnswer(answer["statusCode"], headers, json.loads(answer["body"]))

    return call


def drain_queue(poller: Any, depth: Callable[[], int], timeout: float) -> None:
    """Run a queue's consumer until the queue holds nothing, waiting or in flight.

    moto's queue counts can read 0 for a moment around a visibility change, so the queue is
    drained only when it reads empty twice, half a second apart.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if poller.poll_once() is None:
            if depth() == 0:
                time.sleep(0.5)
                if depth() == 0:
                    return
            time.sleep(0.2)
    raise AssertionError("the queue did not drain")
