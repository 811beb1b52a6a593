"""The ingest handler against a real moto server over HTTP, with fresh resources per test."""

from __future__ import annotations

import gzip
import io
import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from aws_lambda_powertools import Logger

from local.aws import MotoServer, client_environment, create_resources, function_environment
from local.context import LambdaContext
from local.names import INCIDENTS_TABLE, PAYLOAD_BUCKET


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


@pytest.fixture
def secrets(moto_server: MotoServer, _aws_environment: None) -> Any:
    """Secrets Manager on a fresh moto server."""
    moto_server.reset()
    return boto3.client("secretsmanager")


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


@contextmanager
def captured_logs(logger: Logger) -> Iterator[io.StringIO]:
    """A function's log lines, formatted exactly as Powertools writes them."""
    stream = io.StringIO()
    sink = logging.StreamHandler(stream)
    sink.setFormatter(logger.registered_formatter)
    target = logging.getLogger(logger.name)
    target.addHandler(sink)
    try:
        yield stream
    finally:
        target.removeHandler(sink)


def log_lines(stream: io.StringIO, *, level: str | None = None) -> list[dict[str, Any]]:
    """The JSON log lines written to ``stream``, only those at ``level`` when one is given."""
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    return [line for line in lines if level is None or line["level"] == level]


def complaints(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The WARNING and ERROR records the function's code wrote, through any logger (its own,
    or a library's that Lambda's root handler would print), leaving out the local harness's."""
    return [
        record
        for record in caplog.records
        if record.levelno >= logging.WARNING and not record.name.startswith("local.")
    ]


def assert_failed_unexpectedly(
    logs: io.StringIO, caplog: pytest.LogCaptureFixture, stdout: str, *, cause: str, metric: str
) -> None:
    """The record's failure was logged once, at ERROR with a traceback naming ``cause``, and
    counted once under ``metric``."""
    [error] = log_lines(logs, level="ERROR")
    assert "Traceback" in error["exception"]
    assert cause in error["exception"]
    assert len(complaints(caplog)) == 1
    assert emitted_metrics(stdout)[metric] == [1.0]


def emitted_metrics(out: str) -> dict[str, list[float]]:
    """Each metric's values in the EMF documents Powertools printed to standard output."""
    found: dict[str, list[float]] = {}
    for line in out.splitlines():
        if '"_aws"' in line:
            document = json.loads(line)
            for metric in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                value = document[metric["Name"]]
                found.setdefault(metric["Name"], []).extend(
                    value if isinstance(value, list) else [value]
                )
    return found


@pytest.fixture
def ingest_logs() -> Iterator[io.StringIO]:
    """The ingest function's log lines."""
    from ingest.handler import logger

    with captured_logs(logger) as stream:
        yield stream


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
