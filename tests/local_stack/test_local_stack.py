"""`make run` end to end: the stack's own output, its answers over HTTP, its shutdown."""

from __future__ import annotations

import http.client
import json
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from local import defaults
from local.__main__ import parse_args
from local.client import authorization
from local.names import INCIDENTS_TABLE, PAYLOAD_BUCKET
from pandabridge.auth import DENIED_MESSAGE, UNAUTHORIZED_MESSAGE
from pandabridge.names import AUTHORIZATION_HEADER, SERVICE_NAME, Limits
from tests.local_stack.conftest import UsageError
from tests.local_stack.harness import (
    API_KEY,
    BEARER_TOKEN,
    SERVING_MARK,
    STARTUP_SECONDS,
    StackProcess,
    aws_client,
    http_request,
    local_command,
    plain_environment,
    run_module,
)

SAMPLE_ID = json.loads(defaults.SAMPLE_EVENT.read_text())["incident"]["id"]
STREAM_CHUNK = b" " * (1024 * 1024)


# Deliveries posted at once, and from how many threads, to see that none is answered for
# another: enough to overlap in the ingest handler, few enough to stay quick.
CONCURRENT_DELIVERIES = 32
CONCURRENT_THREADS = 8
# A token of the right form that the stack does not hold.
WRONG_TOKEN = "e2e-wrong-token-a41f07c9d2b85e36"


def post(stack: StackProcess, body: bytes, headers: dict[str, str] | None = None) -> Any:
    """POST with the stack's credentials, or with exactly ``headers`` when given."""
    sent = stack.webhook_headers() if headers is None else headers
    return http_request("POST", stack.webhook_url, body, sent)


def new_incident(sample: dict[str, Any]) -> tuple[str, bytes]:
    """The sample as an incident never sent before: its id and its body."""
    incident_id = f"e2e-{uuid.uuid4().hex}"
    sample["incident"]["id"] = incident_id
    return incident_id, json.dumps(sample).encode()


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


def run_send(
    stack: StackProcess, body: Path, bearer_token: str = BEARER_TOKEN
) -> subprocess.CompletedProcess[str]:
    """``python -m local.demo.send`` (what ``make send`` runs) against ``stack``."""
    return run_module(
        "local.demo.send",
        str(body),
        "--url",
        stack.webhook_url,
        "--api-key",
        stack.api_key,
        "--bearer-token",
        bearer_token,
    )


def test_banner_shows_the_webhook_url_the_credentials_and_a_curl_to_paste(
    stack: StackProcess,
) -> None:
    # Given a running stack
    # When its start-up output is read
    output = stack.output
    # Then it names the URL, the key and the Authorization header, and gives a curl command
    # that posts the sample with both
    assert f"POST {stack.webhook_url}" in output
    assert API_KEY in output
    assert f"Authorization: Bearer {BEARER_TOKEN}  (token in secret " in output
    curl = (
        f"curl -sS -X POST {stack.webhook_url} -H 'x-api-key: {API_KEY}' "
        f"-H 'Authorization: Bearer {BEARER_TOKEN}' "
        "-H 'content-type: application/json' --data-binary @events/sample.json"
    )
    assert curl in output
    assert f"--endpoint-url {stack.aws_endpoint} dynamodb scan" in output


def test_the_bearer_token_is_in_its_secret_in_the_stacks_shape(stack: StackProcess) -> None:
    # Given a running stack
    # When its token secret is read from the moto server, as the authorizer reads it
    secrets = aws_client("secretsmanager", stack.aws_endpoint)
    value = secrets.get_secret_value(SecretId=defaults.BEARER_SECRET_NAME)["SecretString"]
    # Then it holds the token given with --bearer-token, as {"token": ...}
    assert json.loads(value) == {"token": BEARER_TOKEN}


def test_stack_posts_the_sample_itself_and_reports_created(stack: StackProcess) -> None:
    # Given a stack that has started
    # When it has posted events/sample.json through its own gateway
    output = stack.output
    # Then it reports the incident created, once, and reads it back from the store
    assert output.count(f"created incident {SAMPLE_ID} version [") == 1
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
    "api_key",
    [None, "not-the-key"],
    ids=["no key", "wrong key"],
)
def test_request_without_the_api_key_is_forbidden_and_nothing_is_stored(
    stack: StackProcess, sample: dict[str, Any], dynamodb: Any, s3: Any, api_key: str | None
) -> None:
    # Given an incident that was never sent, and a valid bearer token
    incident_id, body = new_incident(sample)
    headers = {AUTHORIZATION_HEADER: authorization(BEARER_TOKEN)}
    if api_key is not None:
        headers[defaults.API_KEY_HEADER] = api_key
    # When it is posted without the right API key
    answer = post(stack, body, headers)
    # Then API Gateway's answer comes back and neither the table nor the bucket has it
    assert answer.status == 403
    assert answer.json() == {"message": "Forbidden"}
    assert stored_item(dynamodb, incident_id) is None
    assert archived_keys(s3, incident_id) == []


def test_request_without_authorization_gets_401_and_nothing_is_stored(
    stack: StackProcess, sample: dict[str, Any], dynamodb: Any, s3: Any
) -> None:
    # Given an incident that was never sent
    incident_id, body = new_incident(sample)
    # When it is posted with the API key but no Authorization header
    answer = post(stack, body, {defaults.API_KEY_HEADER: stack.api_key})
    # Then API Gateway's 401 comes back with the bearer challenge, and nothing is stored
    assert answer.status == 401
    assert answer.json() == {"message": UNAUTHORIZED_MESSAGE}
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert stored_item(dynamodb, incident_id) is None
    assert archived_keys(s3, incident_id) == []


@pytest.mark.parametrize(
    "value",
    [authorization(WRONG_TOKEN), f"Basic {BEARER_TOKEN}", BEARER_TOKEN],
    ids=["wrong token", "other scheme", "no scheme"],
)
def test_request_with_a_wrong_bearer_token_is_denied_and_nothing_is_stored(
    stack: StackProcess, sample: dict[str, Any], dynamodb: Any, s3: Any, value: str
) -> None:
    # Given an incident that was never sent
    incident_id, body = new_incident(sample)
    # When it is posted with the API key and an Authorization header without a valid token
    answer = post(
        stack, body, {defaults.API_KEY_HEADER: stack.api_key, AUTHORIZATION_HEADER: value}
    )
    # Then API Gateway's answer to the authorizer's Deny comes back, and nothing is stored
    assert answer.status == 403
    assert answer.json() == {"message": DENIED_MESSAGE}
    assert stored_item(dynamodb, incident_id) is None
    assert archived_keys(s3, incident_id) == []


def test_the_bearer_scheme_in_lower_case_is_accepted(
    stack: StackProcess, sample: dict[str, Any], dynamodb: Any
) -> None:
    # Given an incident that was never sent
    incident_id, body = new_incident(sample)
    # When it is posted with "bearer" in lower case
    headers = {
        "Content-Type": "application/json",
        defaults.API_KEY_HEADER: stack.api_key,
        AUTHORIZATION_HEADER: f"bearer {BEARER_TOKEN}",
    }
    answer = post(stack, body, headers)
    # Then it is stored like any delivery
    assert answer.status == 200
    assert answer.json()["result"] == "created"
    assert stored_item(dynamodb, incident_id) is not None


def test_the_bearer_token_never_appears_in_the_stacks_output(
    stack: StackProcess, sample: dict[str, Any]
) -> None:
    # Given a stack that has served deliveries with the token, and one with a wrong token
    _, body = new_incident(sample)
    denied = stack.output.count("HTTP 403: ")
    assert post(stack, body).status == 200
    wrong = {defaults.API_KEY_HEADER: stack.api_key, AUTHORIZATION_HEADER: f"Bearer {WRONG_TOKEN}"}
    assert post(stack, body, wrong).status == 403
    stack.wait_until(
        lambda: stack.output.count("HTTP 403: "),
        lambda count: count > denied,
        "the journey line of the denied request",
    )
    # When its output is read
    lines = stack.output.splitlines()
    # Then no token that was sent is in it, but on the banner's lines that print it on purpose
    assert not [line for line in lines if WRONG_TOKEN in line]
    shown = [line.split()[0] for line in lines if BEARER_TOKEN in line]
    assert shown == ["Bearer", "Try"], shown


def test_concurrent_deliveries_are_each_answered_for_their_own_incident(
    stack: StackProcess, sample: dict[str, Any]
) -> None:
    # Given new incidents, posted at once from several threads
    bodies = [new_incident(sample) for _ in range(CONCURRENT_DELIVERIES)]
    # When the gateway has answered them all
    with ThreadPoolExecutor(max_workers=CONCURRENT_THREADS) as pool:
        answers = list(pool.map(lambda item: post(stack, item[1]), bodies))
    # Then each answer is about the incident its request carried, as in Lambda, where an
    # execution environment serves one request at a time
    answered = [(answer.status, answer.json().get("incident_id")) for answer in answers]
    assert answered == [(200, incident_id) for incident_id, _ in bodies]


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
    # When `python -m local.demo.send` posts the sample
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


def test_send_without_a_bearer_token_gets_401(stack: StackProcess) -> None:
    # When `python -m local.demo.send` is told to send no Authorization header
    sent = run_send(stack, defaults.SAMPLE_EVENT, bearer_token="")
    # Then the gateway's 401 is printed and the exit code says it was rejected
    assert sent.returncode == 1, sent.stdout + sent.stderr
    assert sent.stdout.startswith(f"HTTP 401  {UNAUTHORIZED_MESSAGE}")


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
        (
            ["--desk", "jira", "--ticket-url", "https://desk.example.com"],
            {defaults.TICKET_SECRET_ENV: "{}"},
            "--desk starts a local desk; leave it out with --ticket-url",
        ),
    ],
    ids=[
        "target without url",
        "url without credentials",
        "credentials not an object",
        "local desk and url",
    ],
)
def test_ticket_flags_that_do_not_add_up_are_a_usage_error(
    usage_error: UsageError, flags: list[str], environment: dict[str, str], message: str
) -> None:
    # Given ticket flags that cannot work together / When they are parsed
    # Then it is a usage error (exit 2) that says what is missing
    assert message in usage_error(flags, environment, unset=defaults.TICKET_SECRET_ENV)


@pytest.mark.parametrize(
    ("token", "message"),
    [
        ("short-token", "shorter than 16 characters"),
        ("a token with spaces inside", "spaces or characters other than visible ASCII"),
        ("", "has no token"),
    ],
    ids=["short", "spaces", "empty"],
)
def test_a_bearer_token_the_secret_would_refuse_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], token: str, message: str
) -> None:
    # When --bearer-token is a token that the deployed secret could not hold either
    with pytest.raises(SystemExit) as exit_info:
        parse_args(["--bearer-token", token])
    # Then it is a usage error (exit 2) that says why, without repeating the token
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert "the bearer token secret " in error
    assert message in error
    assert "(check --bearer-token)" in error
    assert not token or token not in error
