"""The local stack as a user runs it: ``python -m local`` in a subprocess, over real HTTP.

The stack listens on ports that the OS hands out, so the tests run beside a developer's own
``make run``; its output is collected line by line for the tests that read it. It skips the
incident story (``--no-story``) unless a test asks for it: the story adds seconds to every
start-up, and one stack that plays it is enough (see ``conftest.story_stack``).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import boto3
import pytest

from local import defaults, state
from local.aws import LOCAL_CREDENTIALS, LOCAL_REGION
from local.client import Credentials
from local.names import CALLBACK_QUEUE, TICKET_SYNC_QUEUE
from pandabridge.names import WEBHOOK_PATH

STARTUP_SECONDS = 60.0
# A key other than the default, so the tests see that --api-key is what the gateway checks.
API_KEY = "e2e-key-3f9c"
# Likewise for the bearer token, which the stack keeps in its token secret.
BEARER_TOKEN = "e2e-bearer-token-5d2f8a61c07b94e3"
# Likewise for the integration's app key that callbacks carry.
APP_KEY = "e2e-app-key-8d1a"
# The line that `python -m local` prints once the sample (and story) are posted and it serves.
SERVING_MARK = "serving"
# How long a test waits for the pipeline to reach a state it expects.
SETTLE_SECONDS = 10.0
# How long a `python -m local.<tool>` run may take.
TOOL_SECONDS = 30.0

T = TypeVar("T")


def free_port() -> int:
    """A port that the OS considers free right now."""
    with socket.socket() as probe:
        probe.bind((defaults.HOST, 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http_request(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> HttpAnswer:
    """One request with ``http.client``: every status is an answer, none an exception."""
    parts = url.split("/", 3)
    host, port = parts[2].split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request(method, f"/{parts[3]}", body=body, headers=headers or {})
        response = connection.getresponse()
        return HttpAnswer(response.status, response.headers, response.read())
    finally:
        connection.close()


@dataclass
class StackProcess:
    """A running ``python -m local`` and everything it has printed so far."""

    process: subprocess.Popen[str]
    port: int
    moto_port: int
    desk_port: int
    bigpanda_port: int
    api_key: str
    bearer_token: str
    lines: list[str] = field(default_factory=list)
    _changed: threading.Condition = field(default_factory=threading.Condition)

    @classmethod
    def start(
        cls, *extra: str, env: dict[str, str] | None = None, story: bool = False
    ) -> StackProcess:
        """Start ``python -m local`` on free ports; ``story`` lets it play the incident story."""
        port, moto_port, desk_port, bigpanda_port = (free_port() for _ in range(4))
        ports = ("--desk-port", str(desk_port), "--bigpanda-port", str(bigpanda_port))
        flags = () if story else ("--no-story",)
        process = subprocess.Popen(  # noqa: S603 - this interpreter, this repository's module
            local_command(port, moto_port, *ports, *flags, *extra),
            cwd=defaults.REPO_ROOT,
            env={**plain_environment(), **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        stack = cls(process, port, moto_port, desk_port, bigpanda_port, API_KEY, BEARER_TOKEN)
        threading.Thread(target=stack._collect, daemon=True).start()
        return stack

    @property
    def base_url(self) -> str:
        return f"http://{defaults.HOST}:{self.port}"

    @property
    def webhook_url(self) -> str:
        return f"{self.base_url}{WEBHOOK_PATH}"

    @property
    def aws_endpoint(self) -> str:
        return f"http://{defaults.HOST}:{self.moto_port}"

    @property
    def desk_url(self) -> str:
        """The demo service desk's base URL (when the stack runs it)."""
        return f"http://{defaults.HOST}:{self.desk_port}/"

    @property
    def bigpanda_url(self) -> str:
        """The BigPanda API stand-in's base URL (when the stack runs it)."""
        return f"http://{defaults.HOST}:{self.bigpanda_port}"

    @property
    def credentials(self) -> Credentials:
        """The stack's API key and bearer token, as BigPanda's integration would hold them."""
        return Credentials(self.api_key, self.bearer_token)

    def webhook_headers(self) -> dict[str, str]:
        """The headers BigPanda sends: JSON, the API key and ``Authorization: Bearer``."""
        return {"Content-Type": "application/json", **self.credentials.headers()}

    def post_webhook(self, body: bytes) -> HttpAnswer:
        """POST a body to the webhook as BigPanda does, with the stack's credentials."""
        return http_request("POST", self.webhook_url, body, self.webhook_headers())

    def desk_records(self) -> list[dict[str, Any]]:
        """The demo desk's records of every ticket, with their comments and history."""
        records: list[dict[str, Any]] = http_request("GET", f"{self.desk_url}_desk/tickets").json()[
            "tickets"
        ]
        return records

    def desk_tickets(self, incident_id: str) -> list[dict[str, Any]]:
        """The demo desk's records of an incident's tickets, with their history."""
        return [record for record in self.desk_records() if record["incident_id"] == incident_id]

    def callbacks(self, incident_id: str) -> list[dict[str, Any]]:
        """The stand-in's records of the calls about an incident, oldest first."""
        url = f"{self.bigpanda_url}/_bigpanda/callbacks?incident_id={incident_id}"
        records: list[dict[str, Any]] = http_request("GET", url).json()["callbacks"]
        return records

    @property
    def output(self) -> str:
        with self._changed:
            return "".join(self.lines)

    def _collect(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def wait_for_output(self, text: str, timeout: float = STARTUP_SECONDS) -> None:
        """Wait until ``text`` has been printed; fail with the output if it never is."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while text not in "".join(self.lines):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.process.poll() is not None:
                    pytest.fail(f"{text!r} never printed; output:\n{''.join(self.lines)}")
                self._changed.wait(min(remaining, 0.2))

    def wait_until(
        self,
        probe: Callable[[], T],
        ready: Callable[[T], bool],
        what: str,
        timeout: float = SETTLE_SECONDS,
    ) -> T:
        """``probe()`` once ``ready`` accepts it; fails with the last value and the stack's
        output if it never does within ``timeout``."""
        deadline = time.monotonic() + timeout
        while not ready(value := probe()):
            if time.monotonic() > deadline:
                pytest.fail(f"{what}: {value}\noutput:\n{self.output}")
            time.sleep(0.05)
        return value

    def wait_until_healthy(self, timeout: float = STARTUP_SECONDS) -> None:
        """Poll the gateway's health path until it answers 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the stack exited with {self.process.returncode}:\n{self.output}")
            try:
                if http_request("GET", f"{self.base_url}{defaults.HEALTH_PATH}").status == 200:
                    return
            except OSError:
                time.sleep(0.1)
        pytest.fail(f"the stack never became healthy:\n{self.output}")

    def stop(self, signum: int = signal.SIGINT, timeout: float = 10.0) -> int:
        """Send ``signum`` and wait for the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


@contextmanager
def serving_stack(
    *extra: str, env: dict[str, str] | None = None, story: bool = False
) -> Iterator[StackProcess]:
    """A stack started as ``StackProcess.start`` does, yielded once it is healthy and serving,
    and stopped afterwards."""
    running = StackProcess.start(*extra, env=env, story=story)
    try:
        running.wait_until_healthy()
        running.wait_for_output(SERVING_MARK)
        yield running
    finally:
        running.stop()


def local_command(port: int, moto_port: int, *extra: str) -> list[str]:
    """``python -m local`` on the given ports, with the tests' keys and bearer token."""
    return [
        sys.executable, "-m", "local",
        "--port", str(port), "--moto-port", str(moto_port),
        "--api-key", API_KEY, "--bearer-token", BEARER_TOKEN, "--app-key", APP_KEY, *extra,
    ]  # fmt: skip


def run_module(
    module: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m <module> *args`` from the repository, its output captured as text."""
    return subprocess.run(  # noqa: S603 - this interpreter, this repository's module
        [sys.executable, "-m", module, *args],
        cwd=defaults.REPO_ROOT,
        env={**plain_environment(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=TOOL_SECONDS,
        check=False,
    )


def queued_messages(sqs: Any) -> int:
    """Messages on the ticket-sync and callback queues, waiting or being handled."""
    total = 0
    for queue in (TICKET_SYNC_QUEUE, CALLBACK_QUEUE):
        url = sqs.get_queue_url(QueueName=queue.local_name)["QueueUrl"]
        attributes = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        total += sum(int(value) for value in attributes.values())
    return total


# The tests' stacks record themselves here, never in a developer's own .local/stack.json.
_STATE_FILE = Path(tempfile.mkdtemp(prefix="pandabridge-tests-")) / "stack.json"


def plain_environment() -> dict[str, str]:
    """Unbuffered, colourless output, so that lines arrive as they are printed."""
    return {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "NO_COLOR": "1",
        state.STATE_FILE_ENV: str(_STATE_FILE),
    }


# What a make that runs the tests hands down to the makes they run: its own flags, and the
# variables given on its command line (``make test ARGS=-x``), which make exports.
_MAKE_ONLY = ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "ARGS", "FILE", "ID", "URL")


def make_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a ``make`` that a test runs as a developer would, in a fresh shell."""
    inherited = {k: v for k, v in plain_environment().items() if k not in _MAKE_ONLY}
    return {**inherited, **(extra or {})}


def run_as_developer(
    command: list[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """A command (a make target, a script of .venv/bin) run from the repository's root, as a
    developer types it in a fresh shell."""
    return subprocess.run(  # noqa: S603 - the repository's make targets and scripts
        command,
        cwd=defaults.REPO_ROOT,
        env=make_environment(env),
        capture_output=True,
        text=True,
        timeout=TOOL_SECONDS,
        check=False,
    )


def aws_client(service: str, endpoint: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=LOCAL_REGION,
        aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
