"""The ops commands against a real moto server over HTTP: one server per test module, fresh
resources per test, and the CLI run in-process with its output captured."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest

from local.aws import MotoServer, create_resources
from ops.__main__ import main
from tests.ops.support import Cli, LocalStack, Run


@pytest.fixture(scope="module")
def moto_server() -> Iterator[MotoServer]:
    server = MotoServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def clients() -> dict[str, Any]:
    """The tests' own AWS clients, made once per module (each loads its service model)."""
    return {}


@pytest.fixture
def stack(moto_server: MotoServer, clients: dict[str, Any]) -> LocalStack:
    moto_server.reset()
    create_resources(moto_server.endpoint)
    return LocalStack(moto_server.endpoint, clients)


@pytest.fixture
def cli(stack: LocalStack) -> Cli:
    """``python -m ops <args> --local --endpoint-url <moto>``, in-process."""

    def run(*args: str) -> Run:
        out, err = io.StringIO(), io.StringIO()
        code = main([*args, "--local", "--endpoint-url", stack.endpoint], out=out, err=err)
        return Run(code, out.getvalue(), err.getvalue())

    return run


@pytest.fixture
def newer(sample: dict[str, Any]) -> dict[str, Any]:
    """A later update of the sample incident."""
    later = json.loads(json.dumps(sample))
    later["incident"]["updatedOn"] = sample["incident"]["updatedOn"] + 60
    later["incident"]["status"] = "Warning"
    return later
