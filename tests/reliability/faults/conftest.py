"""Fixtures of the fault tests.

Two set-ups share the reliability suite's moto server:

- ingest in-process (the handler tests' ``aws`` and ``invoke``), with ``storage_faults``
  answering chosen AWS operations with errors on the handler's own clients;
- the whole pipeline: ``start_stack`` runs the local stack as a subprocess on the ``world``,
  the AWS, service desk and BigPanda API that live in the test process and outlive any stack,
  so that a test can make the desk or BigPanda misbehave, or kill a stack and start another.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any, Final

import boto3
import pytest

from local import defaults
from local.aws import LOCAL_CREDENTIALS, LOCAL_REGION, MotoServer
from local.demo.bigpanda import BigPandaStandIn
from pandabridge.composition.ingest import incident_store
from pandabridge.names import DEFAULT_LINK_TAG, Env
from tests.local_stack.harness import SERVING_MARK, StackProcess
from tests.reliability.faults.world import (
    FaultyDesk,
    InjectedError,
    Pipeline,
    StartStack,
    World,
)

# A test waits this long, not the deployed minutes, for the batch of a killed stack to come back.
QUEUE_VISIBILITY_SECONDS: Final = 3


@pytest.fixture
def storage_faults(aws: Any) -> Iterator[Callable[[str, str, InjectedError], InjectedError]]:
    """``inject(service, operation, error)`` makes an operation of ingest's own DynamoDB or S3
    client answer ``error``; every hook is removed after the test."""
    store = incident_store()
    registered: list[tuple[Any, str, InjectedError]] = []

    def inject(service: str, operation: str, error: InjectedError) -> InjectedError:
        client = store.dynamodb if service == "dynamodb" else store.s3
        event = f"before-send.{service}.{operation}"
        client.meta.events.register(event, error)
        registered.append((client, event, error))
        return error

    yield inject
    for client, event, error in registered:
        client.meta.events.unregister(event, error)


@pytest.fixture
def world(moto_server: MotoServer) -> Iterator[World]:
    """An empty AWS, and a desk and BigPanda's API with the local stack's keys."""
    moto_server.reset()
    desk = FaultyDesk().start()
    bigpanda = BigPandaStandIn(defaults.BIGPANDA_API_KEY).start()
    # As the local stack does with its own stand-in: the ticket link's tag is defined.
    bigpanda.api.define_tag(DEFAULT_LINK_TAG)
    sqs = boto3.client(
        "sqs",
        endpoint_url=moto_server.endpoint,
        region_name=LOCAL_REGION,
        aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    try:
        yield World(moto_server, desk, bigpanda, sqs)
    finally:
        desk.open_gate()
        desk.release()
        desk.stop()
        bigpanda.stop()


@pytest.fixture
def start_stack(world: World) -> Iterator[StartStack]:
    """Starts ``python -m local`` on the world (its queues' visibility shortened), serving and
    ready; ``ticket_timeout`` sets the desk client's timeout. Stacks still running after the
    test are stopped."""
    started: list[StackProcess] = []

    def start(*, ticket_timeout: float | None = None) -> StackProcess:
        env = {
            defaults.TICKET_SECRET_ENV: json.dumps({"hmac_secret": defaults.DESK_SECRET}),
            defaults.BIGPANDA_KEY_ENV: defaults.BIGPANDA_API_KEY,
        }
        if ticket_timeout is not None:
            env[Env.TICKET_TIMEOUT_SECONDS] = f"{ticket_timeout:g}"
        stack = StackProcess.start(
            "--no-sample",
            "--aws-endpoint", world.moto.endpoint,
            "--queue-visibility", str(QUEUE_VISIBILITY_SECONDS),
            "--ticket-url", world.desk.url,
            "--bigpanda-url", world.bigpanda.api_base,
            env=env,
        )  # fmt: skip
        started.append(stack)
        stack.wait_until_healthy()
        stack.wait_for_output(SERVING_MARK)
        return stack

    yield start
    for stack in started:
        if stack.process.poll() is None:
            stack.stop()


@pytest.fixture
def pipeline(world: World) -> Pipeline:
    return Pipeline(world)
