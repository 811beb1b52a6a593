"""Fixtures of the end-to-end tests: stacks started as subprocesses, and AWS clients on them."""

from __future__ import annotations

import signal
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from local.aws import MotoServer, create_resources, queue_url
from local.demo.story import StoryStep, load_story
from local.names import TICKET_SYNC_QUEUE
from tests.local_stack.harness import StackProcess, aws_client, serving_stack


@pytest.fixture(scope="module")
def stack() -> Iterator[StackProcess]:
    """One stack for the module: started, healthy, its own sample post done."""
    with serving_stack() as running:
        yield running


@pytest.fixture(scope="session")
def story_stack() -> Iterator[StackProcess]:
    """The one stack that plays the incident story at start-up, as `make run` does; shared by
    the modules that read the story's outcome or need a busy stack (status, the burst)."""
    with serving_stack(story=True) as running:
        yield running


@pytest.fixture(scope="session")
def story() -> list[StoryStep]:
    """The story's steps, as `make run` plays them."""
    return load_story()


@pytest.fixture
def start_stack() -> Iterator[Callable[..., StackProcess]]:
    """Starts stacks of the test's own (for tests that stop them); all are stopped after."""
    started: list[StackProcess] = []

    def start(*extra: str, env: dict[str, str] | None = None, story: bool = False) -> StackProcess:
        started.append(StackProcess.start(*extra, env=env, story=story))
        return started[-1]

    yield start
    for running in started:
        if running.process.poll() is None:
            running.stop(signal.SIGKILL)


@pytest.fixture
def fresh(sample: dict[str, Any]) -> dict[str, Any]:
    """The sample as a new incident, never sent before."""
    sample["incident"]["id"] = f"e2e-{uuid.uuid4().hex[:12]}"
    return sample


@pytest.fixture(scope="module")
def dynamodb(stack: StackProcess) -> Any:
    """A DynamoDB client on the stack's moto server, as the printed ``aws`` example uses it."""
    return aws_client("dynamodb", stack.aws_endpoint)


@pytest.fixture(scope="module")
def s3(stack: StackProcess) -> Any:
    return aws_client("s3", stack.aws_endpoint)


@pytest.fixture(scope="module")
def sqs(stack: StackProcess) -> Any:
    return aws_client("sqs", stack.aws_endpoint)


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    """A moto server of the module's own, for the tests of one part of the stack."""
    server = MotoServer().start()
    yield server
    server.stop()


@pytest.fixture
def resources(moto: MotoServer) -> str:
    """The stack's tables, bucket and queues, created afresh on ``moto``; its endpoint."""
    moto.reset()
    create_resources(moto.endpoint)
    return moto.endpoint


@pytest.fixture
def ticket_sync_queue(resources: str) -> str:
    """The ticket-sync FIFO queue's URL on ``resources``."""
    return queue_url(resources, TICKET_SYNC_QUEUE.local_name)


UsageError = Callable[..., str]


@pytest.fixture
def usage_error(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> UsageError:
    """Parses ``python -m local`` flags under an environment and returns the usage message,
    after checking that they are refused as a usage error (exit 2)."""
    from local.__main__ import parse_args

    def refuse(flags: list[str], environment: dict[str, str], *, unset: str) -> str:
        monkeypatch.delenv(unset, raising=False)
        for name, value in environment.items():
            monkeypatch.setenv(name, value)
        with pytest.raises(SystemExit) as exit_info:
            parse_args(flags)
        assert exit_info.value.code == 2
        return capsys.readouterr().err

    return refuse
