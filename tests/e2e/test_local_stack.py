"""`make run` end to end: the stack's own output, its answers over HTTP, its shutdown."""

from __future__ import annotations

import http.client
import json
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from local import defaults
from local.__main__ import parse_args
from pandabridge.names import INCIDENTS_TABLE, PAYLOAD_BUCKET, SERVICE_NAME, Limits
from tests.e2e.harness import (
    API_KEY,
    SERVING_MARK,
    STARTUP_SECONDS,
    StackProcess,
    http_request,
    local_command,
    plain_environment,
    run_module,
)

SAMPLE_ID = json.loads(defaults.SAMPLE_EVENT.read_text())["incident"]["id"]
STREAM_CHUNK = b" " * (1024 * 1024)


def post(stack: StackProcess, body: bytes, headers: dict[str, str] | None = None) -> Any:
    sent = {"Content-Type": "application/json", defaults.API_KEY_HEADER: stack.api_key}
    return http_request("POST", stack.webhook_url, body, sent if headers is None else headers)


def stored_item(dynamodb: Any, incident_id: str) -> dict[str, Any] | None:
    key = {INCIDENTS_TABLE.partition_key: {"S": incident_id}}
    item: dict[str, Any] | None = dynamodb.get_item(
        TableName=INCIDENTS_TABLE.local_name, Key=key, ConsistentRead=True
    ).get("Item")
    return item


def archived_keys(s3: Any, incident_id: str) -> list[str]:
    listing = s3.list_objects_v2(
        Bucket=PAYLOAD_BUCKET.local_name, Prefix=f"{PAYLOAD_BUCKET.key_prefix}{incident_id}"
    )
    return [obj["Key"] for obj in listing.get("Contents", [])]


def run_send(stack: StackProcess, body: Path) -> subprocess.CompletedProcess[str]:
    """``python -m local.send`` (what ``make send`` runs) against ``stack``."""
    return run_module(
        "local.send", str(body), "--url", stack.webhook_url, "--api-key", stack.api_key
    )


def test_banner_shows_the_webhook_url_the_key_and_a_curl_to_paste(stack: StackProcess) -> None:
    # Given a running stack
    # When its start-up output is read
    output = stack.output
    # Then it names the URL and the key, and gives a curl command that posts the sample
    assert f"POST {stack.webhook_url}" in output
    assert API_KEY in output
    curl = (
        f"curl -sS -X POST {stack.webhook_url} -H 'x-api-key: {API_KEY}' "
        "-H 'content-type: application/json' --data-binary @events/sample.json"
    )
    assert curl in output
    assert f"--endpoint-url {stack.aws_endpoint} dynamodb scan" in output


def test_stack_posts_the_sample_itself_and_reports_created(stack: StackProcess) -> None:
    # Given a stack that has started
    # When it has posted events/sample.json through its own gateway
    output = stack.output
    # Then it reports the incident created and reads it back from the store
    assert f"created incident {SAMPLE_ID} version [" in output
    assert "stored" in output
    assert "2 alerts" in output


def test_a_stack_started_with_no_story_posts_the_sample_only(stack: StackProcess) -> None:
    # Given a stack started with --no-story (as the harness starts all but one)
    # When its start-up output, up to "serving", is read
    played = stack.output[: stack.output.index(f"ok   {SERVING_MARK}")]
    # Then the sample was posted, and no step of the story
    assert f"created incident {SAMPLE_ID}" in played
    assert "story 1/" not in played


def test_health_path_identifies_the_stack(stack: StackProcess) -> None:
    # When the health path is asked
    answer = http_request("GET", f"{stack.base_url}{defaults.HEALTH_PATH}")
    # Then it answers as a local stack, naming its AWS endpoint, ticket target and BigPanda API
    assert answer.status == 200
    assert answer.json() == {
        "status": "ok",
        "service": SERVICE_NAME,
        "aws_endpoint": stack.aws_endpoint,
        "ticket_url": stack.desk_url,
        "bigpanda_url": stack.bigpanda_url,
    }


def test_posting_the_sample_again_answers_duplicate(stack: StackProcess) -> None:
    # Given the sample, already stored by the stack at start-up
    # When it is posted again
    answer = post(stack, defaults.SAMPLE_EVENT.read_bytes())
    # Then it is a duplicate of the stored version
    assert answer.status == 200
    assert answer.json()["result"] == "duplicate"
    assert answer.json()["incident_id"] == SAMPLE_ID


@pytest.mark.parametrize(
    "headers",
    [{}, {defaults.API_KEY_HEADER: "not-the-key"}],
    ids=["no key", "wrong key"],
)
def test_request_without_the_api_key_is_forbidden_and_nothing_is_stored(
    stack: StackProcess, sample: dict[str, Any], dynamodb: Any, s3: Any, headers: dict[str, str]
) -> None:
    # Given an incident that was never sent
    incident_id = f"e2e-{uuid.uuid4().hex}"
    sample["incident"]["id"] = incident_id
    # When it is posted without the right API key
    answer = post(stack, json.dumps(sample).encode(), headers)
    # Then API Gateway's answer comes back and neither the table nor the bucket has it
    assert answer.status == 403
    assert answer.json() == {"message": "Forbidden"}
    assert stored_item(dynamodb, incident_id) is None
    assert archived_keys(s3, incident_id) == []


def test_body_just_over_the_api_gateway_limit_gets_413(stack: StackProcess) -> None:
    # Given a body one byte over API Gateway's limit, streamed rather than held in memory
    size = Limits.API_GATEWAY_MAX_BODY_BYTES + 1
    connection = http.client.HTTPConnection(defaults.HOST, stack.port, timeout=30)
    try:
        connection.putrequest("POST", stack.webhook_url.removeprefix(stack.base_url))
        connection.putheader("Content-Type", "application/json")
        connection.putheader(defaults.API_KEY_HEADER, stack.api_key)
        connection.putheader("Content-Length", str(size))
        connection.endheaders()
        # When it is sent
        remaining = size
        while remaining:
            chunk = STREAM_CHUNK[: min(remaining, len(STREAM_CHUNK))]
            connection.send(chunk)
            remaining -= len(chunk)
        response = connection.getresponse()
        # Then API Gateway's 413 comes back
        assert response.status == 413
        assert json.loads(response.read()) == {"message": "Request Too Long"}
    finally:
        connection.close()


def test_a_second_make_run_posts_to_the_running_stack_and_reports_duplicate(
    stack: StackProcess,
) -> None:
    # Given a stack serving the ports
    # When `python -m local` is started again on the same ports
    second = subprocess.run(  # noqa: S603 - this interpreter, this repository's module
        local_command(stack.port, stack.moto_port),
        cwd=defaults.REPO_ROOT,
        env=plain_environment(),
        capture_output=True,
        text=True,
        timeout=STARTUP_SECONDS,
        check=False,
    )
    # Then it posts the sample to the running stack, reports duplicate and exits 0
    assert second.returncode == 0, second.stdout + second.stderr
    assert f"already serves {stack.webhook_url}" in second.stdout
    assert f"tickets    at {stack.desk_url}" in second.stdout
    assert f"bigpanda   callbacks to {stack.bigpanda_url}" in second.stdout
    assert f"duplicate incident {SAMPLE_ID}" in second.stdout


def test_send_posts_a_file_and_prints_the_answer(stack: StackProcess) -> None:
    # When `python -m local.send` posts the sample
    sent = run_send(stack, defaults.SAMPLE_EVENT)
    # Then it prints the status and the JSON answer, and exits 0
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert sent.stdout.startswith("HTTP 200")
    assert f'"incident_id": "{SAMPLE_ID}"' in sent.stdout


def test_send_exits_1_on_a_rejected_body(stack: StackProcess, tmp_path: Path) -> None:
    # Given a file that is not JSON
    body = tmp_path / "not.json"
    body.write_text("{not json")
    # When it is sent
    sent = run_send(stack, body)
    # Then the 400 and its reason are printed, and the exit code says it was rejected
    assert sent.returncode == 1, sent.stdout + sent.stderr
    assert sent.stdout.startswith("HTTP 400")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_signal_stops_the_stack_cleanly_within_5_seconds(
    start_stack: Callable[..., StackProcess], signum: int
) -> None:
    # Given a running stack
    stack = start_stack("--no-sample")
    stack.wait_until_healthy()
    stack.wait_for_output("serving")
    # When it gets the signal
    started = time.monotonic()
    code = stack.stop(signum)
    elapsed = time.monotonic() - started
    # Then it exits 0 within 5 s, having closed every port
    assert code == 0, stack.output
    assert elapsed < 5, stack.output
    assert "stopped" in stack.output
    for port in (stack.port, stack.moto_port, stack.desk_port, stack.bigpanda_port):
        with pytest.raises(ConnectionRefusedError):
            http_request("GET", f"http://{defaults.HOST}:{port}{defaults.HEALTH_PATH}")


@pytest.mark.parametrize(
    ("flags", "environment", "message"),
    [
        (["--ticket-target", "jira"], {}, "--ticket-target jira needs --ticket-url"),
        (["--ticket-url", "https://desk.example.com"], {}, "needs the desk's credentials"),
        (
            ["--ticket-url", "https://desk.example.com"],
            {defaults.TICKET_SECRET_ENV: "[1, 2]"},
            "is not a JSON object",
        ),
    ],
    ids=["target without url", "url without credentials", "credentials not an object"],
)
def test_ticket_flags_that_do_not_add_up_are_a_usage_error(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    flags: list[str],
    environment: dict[str, str],
    message: str,
) -> None:
    # Given ticket flags that cannot work together
    monkeypatch.delenv(defaults.TICKET_SECRET_ENV, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    # When they are parsed
    with pytest.raises(SystemExit) as exit_info:
        parse_args(flags)
    # Then it is a usage error (exit 2) that says what is missing
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err
