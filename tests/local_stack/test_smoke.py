"""``make smoke`` against the local stack standing in for a deployed one.

The local stack has the same stores, a demo desk and a BigPanda stand-in, so the smoke run sees
every step there as it would on AWS; a stack whose BigPanda API never answers shows how a run
that misses a step reports it.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from local import defaults
from local.names import INCIDENTS_TABLE, PAYLOAD_BUCKET, TICKETS_TABLE
from ops.smoke import API_KEY_ENV, BEARER_TOKEN_ENV
from tests.local_stack.harness import (
    StackProcess,
    aws_client,
    free_port,
    run_as_developer,
    run_module,
    serving_stack,
)

# Long enough for a healthy local stack's callback (well under a second), short enough that
# the run that never sees one fails quickly.
FAILING_TIMEOUT_SECONDS = "3"
_INCIDENT_ID = re.compile(r"smoke-[0-9a-f-]{36}")


@dataclass(frozen=True)
class SmokeRun:
    exit_code: int
    output: str

    @property
    def incident_id(self) -> str:
        found = _INCIDENT_ID.search(self.output)
        assert found, self.output
        return found.group()


def credentials(stack: StackProcess) -> dict[str, str]:
    """The stack's API key and bearer token, where the smoke run reads them."""
    return {API_KEY_ENV: stack.api_key, BEARER_TOKEN_ENV: stack.bearer_token}


def where(stack: StackProcess) -> list[str]:
    """The flags that point the smoke run at ``stack``."""
    return ["--local", "--endpoint-url", stack.aws_endpoint]


def smoke(stack: StackProcess, *flags: str) -> SmokeRun:
    """``python -m ops.smoke`` against ``stack``, as ``make smoke`` runs it."""
    ran = run_module(
        "ops.smoke", "--url", stack.webhook_url, *where(stack), *flags, env=credentials(stack)
    )
    return SmokeRun(ran.returncode, ran.stdout + ran.stderr)


def stored_traces(stack: StackProcess, incident_id: str) -> dict[str, Any]:
    """What the stack's stores hold of an incident: its items and archived objects."""
    dynamodb = aws_client("dynamodb", stack.aws_endpoint)
    s3 = aws_client("s3", stack.aws_endpoint)
    key = {"incident_id": {"S": incident_id}}
    listed = s3.list_objects_v2(
        Bucket=PAYLOAD_BUCKET.local_name, Prefix=f"{PAYLOAD_BUCKET.key_prefix}{incident_id}/"
    )
    return {
        "incident": dynamodb.get_item(TableName=INCIDENTS_TABLE.local_name, Key=key).get("Item"),
        "ticket": dynamodb.get_item(TableName=TICKETS_TABLE.local_name, Key=key).get("Item"),
        "archive": [obj["Key"] for obj in listed.get("Contents", [])],
    }


NOTHING_STORED = {"incident": None, "ticket": None, "archive": []}


@pytest.fixture(scope="module")
def passed(stack: StackProcess) -> SmokeRun:
    """``make smoke`` itself, against the module's healthy stack."""
    make = shutil.which("make")
    assert make, "make is not on PATH"
    command = [make, "--no-print-directory", "smoke", f"URL={stack.webhook_url}"]
    ran = run_as_developer([*command, f"ARGS={' '.join(where(stack))}"], credentials(stack))
    return SmokeRun(ran.returncode, ran.stdout + ran.stderr)


@pytest.fixture(scope="module")
def unanswered_stack() -> Iterator[StackProcess]:
    """A stack whose callbacks go to a BigPanda API that never answers (a closed port)."""
    silent = f"http://{defaults.HOST}:{free_port()}"
    user_api_key = {defaults.BIGPANDA_KEY_ENV: "smoke-test-user-api-key"}
    with serving_stack("--no-sample", "--bigpanda-url", silent, env=user_api_key) as running:
        yield running


@pytest.fixture(scope="module")
def failed(unanswered_stack: StackProcess) -> SmokeRun:
    """A smoke run against the stack whose callbacks are never accepted."""
    return smoke(unanswered_stack, "--timeout", FAILING_TIMEOUT_SECONDS)


def test_make_smoke_passes_when_every_step_is_seen(passed: SmokeRun) -> None:
    # Given a healthy local stack standing in for a deployment
    # When `make smoke` runs against its URL with both credentials
    # Then it sees the 200, the stored incident, the ticket and the callback, and exits 0
    assert passed.exit_code == 0, passed.output
    for step in ("webhook   HTTP 200", "stored", "ticket", "callback"):
        assert f"  ok   {step}" in passed.output
    assert "verdict        in sync, callback confirmed" in passed.output
    assert f"smoke passed: {passed.incident_id}" in passed.output


def test_make_smoke_removes_what_it_created(stack: StackProcess, passed: SmokeRun) -> None:
    # Given a smoke run that passed
    # When the stack's stores are read for its incident
    traces = stored_traces(stack, passed.incident_id)
    # Then no item, ticket state or archived payload of it is left
    assert traces == NOTHING_STORED


def test_make_smoke_never_prints_the_credentials(stack: StackProcess, passed: SmokeRun) -> None:
    # Given a smoke run that sent both credentials
    # When its output is read / Then neither credential is in it
    assert stack.api_key not in passed.output
    assert stack.bearer_token not in passed.output


def test_smoke_names_the_callback_when_bigpanda_never_accepts_it(failed: SmokeRun) -> None:
    # Given a stack whose BigPanda API never answers
    # When the smoke run waits for the callback
    # Then it saw the stored incident and the ticket, names the callback, and exits 1
    assert failed.exit_code == 1, failed.output
    assert "  ok   stored" in failed.output
    assert "  ok   ticket" in failed.output
    assert "  ok   callback" not in failed.output
    assert "FAIL callback: not seen within 3 s" in failed.output


def test_a_failed_smoke_run_keeps_its_incident_for_inspection(
    unanswered_stack: StackProcess, failed: SmokeRun
) -> None:
    # Given a smoke run that failed at the callback
    # When the stores are read
    traces = stored_traces(unanswered_stack, failed.incident_id)
    # Then the incident, its ticket state and its payload are kept, and the output says how
    # to inspect them
    assert traces["incident"] is not None
    assert traces["ticket"] is not None
    assert traces["archive"]
    assert f".venv/bin/pandabridge-ops inspect {failed.incident_id} --local" in failed.output


def test_the_printed_clean_up_removes_a_failed_runs_incident(
    unanswered_stack: StackProcess, failed: SmokeRun
) -> None:
    # Given the clean-up command a failed run printed
    assert f"--clean-up {failed.incident_id}" in failed.output
    # When it is run
    cleaned = run_module("ops.smoke", "--clean-up", failed.incident_id, *where(unanswered_stack))
    # Then it exits 0 and nothing of the incident is left
    assert cleaned.returncode == 0, cleaned.stderr
    assert stored_traces(unanswered_stack, failed.incident_id) == NOTHING_STORED


def test_clean_up_refuses_an_incident_that_is_not_a_smoke_incident(stack: StackProcess) -> None:
    # Given the sample incident, which the stack stored at start-up
    sample_id = "5555370aabc20a001145d6g9"
    # When a clean-up names it
    refused = run_module("ops.smoke", "--clean-up", sample_id, *where(stack))
    # Then it is refused by its id, and the incident is still stored
    assert refused.returncode == 1
    assert "is not a smoke incident" in refused.stderr
    assert stored_traces(stack, sample_id)["incident"] is not None


def test_smoke_without_credentials_names_the_variables_to_set() -> None:
    # Given no credentials in the environment, and a deployed URL
    environment = {API_KEY_ENV: "", BEARER_TOKEN_ENV: ""}
    # When the smoke run starts
    ran = run_module("ops.smoke", "--url", "https://example.invalid/v1/webhook", env=environment)
    # Then it is a usage error that names both variables, before any request
    assert ran.returncode == 2
    assert f"set {API_KEY_ENV} and {BEARER_TOKEN_ENV}" in ran.stderr
