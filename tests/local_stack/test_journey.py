"""The journey a person reads while the local stack runs: one line per delivery, whoever sent it,
no raw JSON at the default log level, one latency figure everywhere, plain text when piped."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from typing import Any

from tests.local_stack.harness import (
    SERVING_MARK,
    SETTLE_SECONDS,
    StackProcess,
    http_request,
    run_module,
)

# A body the webhook refuses: an incident without its id.
NO_INCIDENT_ID = b'{"incident": {}}'
NO_INCIDENT_ID_REASON = "incident.id: is required"


def _new_incident(sample: dict[str, Any]) -> tuple[str, bytes]:
    incident_id = f"journey-{uuid.uuid4().hex[:12]}"
    sample["incident"]["id"] = incident_id
    return incident_id, json.dumps(sample).encode()


def _lines_with(stack: StackProcess, text: str) -> list[str]:
    return [line for line in stack.output.splitlines() if text in line]


def test_a_raw_http_post_gets_one_journey_line_with_its_result_incident_and_version(
    stack: StackProcess, sample: dict[str, Any]
) -> None:
    # Given a new incident, posted as curl would, outside any tool of the stack
    incident_id, body = _new_incident(sample)
    answer = stack.post_webhook(body)
    version = json.dumps(answer.json()["version"])
    # When the stack's output shows the delivery
    stack.wait_for_output(f"created incident {incident_id} version {version}", SETTLE_SECONDS)
    # Then exactly one line reports it, with the result, the incident and the version
    assert len(_lines_with(stack, f"created incident {incident_id}")) == 1, stack.output


def test_a_repeated_delivery_gets_a_line_that_says_duplicate(
    stack: StackProcess, sample: dict[str, Any]
) -> None:
    # Given an incident already delivered once
    incident_id, body = _new_incident(sample)
    stack.post_webhook(body)
    # When the very same body is posted again
    stack.post_webhook(body)
    # Then the second delivery has its own line, saying it was a duplicate
    stack.wait_for_output(f"duplicate incident {incident_id}", SETTLE_SECONDS)
    assert len(_lines_with(stack, f"duplicate incident {incident_id}")) == 1, stack.output


def test_a_refused_delivery_gets_one_line_with_its_status_and_reason(stack: StackProcess) -> None:
    # Given a body without an incident id
    before = len(_lines_with(stack, NO_INCIDENT_ID_REASON))
    # When it is posted
    assert stack.post_webhook(NO_INCIDENT_ID).status == 422
    # Then one line says 422 and why
    stack.wait_for_output(
        f"HTTP 422: invalid webhook payload: {NO_INCIDENT_ID_REASON}", SETTLE_SECONDS
    )
    assert len(_lines_with(stack, NO_INCIDENT_ID_REASON)) == before + 1, stack.output


def test_a_delivery_the_gateway_refuses_gets_a_line_with_the_status_and_reason(
    stack: StackProcess,
) -> None:
    # Given a request without the bearer token
    headers = {k: v for k, v in stack.webhook_headers().items() if k != "Authorization"}
    # When it is posted
    assert http_request("POST", stack.webhook_url, b"{}", headers).status == 401
    # Then a journey line says 401 and the gateway's reason
    stack.wait_for_output("HTTP 401: Unauthorized", SETTLE_SECONDS)


def test_the_default_log_level_prints_no_json_line(stack: StackProcess) -> None:
    # Given a stack at the default log level that refused a body (the functions log a warning)
    stack.post_webhook(NO_INCIDENT_ID)
    stack.wait_for_output(NO_INCIDENT_ID_REASON, SETTLE_SECONDS)
    # When its output is read
    # Then no line is a JSON object: neither the functions' logs nor their metrics
    json_lines = [line for line in stack.output.splitlines() if line.lstrip().startswith("{")]
    assert json_lines == []


def test_debug_level_prints_the_functions_json_logs(
    start_stack: Callable[..., StackProcess],
) -> None:
    # Given a stack at --log-level DEBUG
    stack = start_stack("--log-level", "DEBUG", "--no-sample")
    stack.wait_until_healthy()
    stack.wait_for_output(SERVING_MARK)
    # When a body is refused
    stack.post_webhook(NO_INCIDENT_ID)
    # Then the function's structured warning is printed as it is, a JSON line
    stack.wait_for_output('"message":"webhook rejected"', SETTLE_SECONDS)


def _journey_ms(stack: StackProcess, incident_id: str) -> int:
    pattern = rf"confirmed for incident {incident_id}\s+\((\d+) ms after the webhook\)"
    stack.wait_for_output(f"confirmed for incident {incident_id}", SETTLE_SECONDS)
    match = re.search(pattern, stack.output)
    assert match, stack.output
    return int(match[1])


def test_the_journey_status_and_inspect_give_one_callback_the_same_latency(
    stack: StackProcess, sample: dict[str, Any]
) -> None:
    # Given a new incident whose ticket BigPanda has confirmed, and a later version of it
    # (so the incident's stored receipt is no longer the one the callback counts from)
    incident_id, body = _new_incident(sample)
    stack.post_webhook(body)
    journey = _journey_ms(stack, incident_id)
    sample["incident"]["updatedOn"] += 60
    sample["incident"]["status"] = "Warning"
    assert stack.post_webhook(json.dumps(sample).encode()).json()["result"] == "updated"
    stack.wait_for_output(f"for incident {incident_id}: title changed", SETTLE_SECONDS)
    # When make status and ops inspect are asked about it
    status = run_module("local.demo.status", "--endpoint-url", stack.aws_endpoint).stdout
    row = next(line for line in status.splitlines() if line.startswith(incident_id))
    inspected = run_module(
        "ops", "inspect", incident_id, "--local", "--endpoint-url", stack.aws_endpoint, "--json"
    )
    seconds = json.loads(inspected.stdout)["ticket"]["webhook_to_callback_seconds"]
    # Then all three give the same figure, after the webhook
    assert f"confirmed, {journey} ms after the webhook" in row, status
    assert round(seconds * 1000) == journey


def test_piped_output_has_no_escape_codes_even_without_no_color(
    start_stack: Callable[..., StackProcess],
) -> None:
    # Given a stack whose output is piped, NO_COLOR unset (empty counts as unset)
    stack = start_stack(env={"NO_COLOR": ""})
    stack.wait_until_healthy()
    # When it has started and posted the sample
    stack.wait_for_output(SERVING_MARK)
    # Then its output is plain text
    assert "\x1b" not in stack.output
