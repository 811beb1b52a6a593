"""`make run` with the callback: a new ticket is confirmed to BigPanda once, and only once.

These run the real ingest, ticket-sync and callback handlers, the pipe emulation and the queue
pollers in a ``python -m local`` subprocess, with the BigPanda API stand-in on the other end.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from local import defaults
from local.demo.bigpanda import BigPandaStandIn
from local.names import CALLBACK_QUEUE
from pandabridge.names import BIGPANDA_CALLBACK_PATH
from tests.local_stack.conftest import UsageError
from tests.local_stack.harness import (
    APP_KEY,
    SERVING_MARK,
    StackProcess,
    http_request,
    queued_messages,
)

SAMPLE_ID = json.loads(defaults.SAMPLE_EVENT.read_text())["incident"]["id"]
MASKED_KEY = f"Bearer ****{defaults.BIGPANDA_API_KEY[-4:]}"
# Longer than the pipe's poll of the stream: what a write would set off has started by then.
SETTLE_SECONDS = 0.5

Payload = dict[str, Any]


def wait_for_callbacks(stack: StackProcess, incident_id: str, count: int) -> list[Payload]:
    # The first retry of a failed callback comes after 1-2 s of backoff: well within the wait.
    return stack.wait_until(
        lambda: stack.callbacks(incident_id),
        lambda records: len(records) >= count,
        f"callbacks of {incident_id}",
    )


@pytest.fixture
def settle(stack: StackProcess, sqs: Any) -> Callable[[], None]:
    """Waits until whatever the last webhook set off has gone through both queues."""

    def wait() -> None:
        time.sleep(SETTLE_SECONDS)
        stack.wait_until(lambda: queued_messages(sqs), lambda n: n == 0, "queued")

    return wait


@pytest.fixture
def confirmed(stack: StackProcess, fresh: Payload) -> Payload:
    """A new incident, posted, become a ticket and confirmed to BigPanda."""
    assert stack.post_webhook(json.dumps(fresh).encode()).json()["result"] == "created"
    wait_for_callbacks(stack, fresh["incident"]["id"], 1)
    return fresh


@pytest.fixture
def failing_bigpanda(stack: StackProcess) -> Iterator[Callable[[int], None]]:
    """Plans failures of the stack's stand-in; none are left planned after the test."""

    def fail(status: int) -> None:
        url = f"{stack.bigpanda_url}/_bigpanda/fail?status={status}&count=1"
        assert http_request("POST", url).status == 200

    yield fail
    http_request("POST", f"{stack.bigpanda_url}/_bigpanda/fail?count=0")


def test_a_new_incident_is_confirmed_to_bigpanda_by_exactly_one_callback(
    stack: StackProcess, confirmed: Payload
) -> None:
    # Given a new incident that has become a ticket
    incident_id = confirmed["incident"]["id"]
    # When the stand-in is asked for the calls about it
    (record,) = stack.callbacks(incident_id)
    # Then there was one: the documented callback, with the app key and the masked User API key
    assert (record["method"], record["path"], record["status"]) == (
        "POST",
        BIGPANDA_CALLBACK_PATH,
        200,
    )
    assert record["headers"]["Authorization"] == MASKED_KEY
    assert record["headers"]["Content-Type"] == "application/json"
    assert record["body"] == {
        "event_type": "incident#new",
        "incident_id": incident_id,
        "app_key": APP_KEY,
    }


def test_an_update_of_a_confirmed_incident_calls_bigpanda_no_more(
    stack: StackProcess, confirmed: Payload, settle: Callable[[], None]
) -> None:
    # Given a new incident, confirmed to BigPanda
    incident_id = confirmed["incident"]["id"]
    # When a newer version of it updates its ticket
    confirmed["incident"].update(status="Warning", severity="Warning", updatedOn=1752897578)
    assert stack.post_webhook(json.dumps(confirmed).encode()).json()["result"] == "updated"
    stack.wait_until(
        lambda: stack.desk_tickets(incident_id)[0]["history"],
        lambda history: len(history) > 1,
        f"history of the ticket of {incident_id}",
    )
    settle()
    # Then BigPanda was called back once, for the new incident only
    assert len(stack.callbacks(incident_id)) == 1


def test_a_duplicate_of_a_confirmed_incident_calls_bigpanda_no_more(
    stack: StackProcess, confirmed: Payload, settle: Callable[[], None]
) -> None:
    # Given a new incident, confirmed to BigPanda
    incident_id = confirmed["incident"]["id"]
    # When the same version is posted again
    assert stack.post_webhook(json.dumps(confirmed).encode()).json()["result"] == "duplicate"
    settle()
    # Then BigPanda was called back once
    assert len(stack.callbacks(incident_id)) == 1


def test_start_up_waits_for_the_samples_callback_and_prints_its_latency(
    stack: StackProcess,
) -> None:
    # Given a stack that posted the sample at start-up
    # When its output is read
    output = stack.output
    # Then the journey ends with BigPanda's confirmation, timed from the webhook, before serving
    line = re.search(
        rf"ok\s+callback\s+confirmed for incident {SAMPLE_ID}\s+\(\d+ ms after the webhook\)",
        output,
    )
    assert line is not None, output
    assert line.start() < output.index(f"ok   {SERVING_MARK}")


def test_the_banner_shows_the_bigpanda_stand_in_and_its_controls(stack: StackProcess) -> None:
    # When the start-up output is read
    output = stack.output
    # Then it gives the stand-in's URL, its listing and the command that makes it fail
    assert f"BigPanda  {stack.bigpanda_url}  (API stand-in; app key {APP_KEY})" in output
    assert f"{stack.bigpanda_url}/_bigpanda/callbacks" in output
    assert f"curl -sS -X POST '{stack.bigpanda_url}/_bigpanda/fail?status=503&count=2'" in output


def test_a_callback_that_bigpanda_fails_is_retried_until_confirmed(
    stack: StackProcess, fresh: Payload, failing_bigpanda: Callable[[int], None]
) -> None:
    # Given BigPanda failing the next callback with a 503
    failing_bigpanda(503)
    # When a new incident becomes a ticket
    incident_id = fresh["incident"]["id"]
    stack.post_webhook(json.dumps(fresh).encode())
    # Then its callback is tried again after a backoff and confirmed, and the journey says so
    records = wait_for_callbacks(stack, incident_id, 2)
    assert [record["status"] for record in records] == [503, 200]
    stack.wait_for_output(f"incident {incident_id}: attempt 1 failed, will be retried")
    stack.wait_for_output(f"confirmed for incident {incident_id}")


def test_a_callback_that_bigpanda_refuses_goes_to_the_dlq_unconfirmed(
    stack: StackProcess, fresh: Payload, sqs: Any, failing_bigpanda: Callable[[int], None]
) -> None:
    # Given BigPanda refusing the next callback with a 400
    failing_bigpanda(400)
    # When a new incident becomes a ticket
    incident_id = fresh["incident"]["id"]
    stack.post_webhook(json.dumps(fresh).encode())
    # Then the callback is not retried: the journey says it was refused, and it is in the DLQ
    stack.wait_for_output(f"incident {incident_id} not confirmed: BigPanda refused it")
    assert [record["status"] for record in stack.callbacks(incident_id)] == [400]
    dlq = sqs.get_queue_url(QueueName=CALLBACK_QUEUE.dlq_local_name)["QueueUrl"]
    bodies = [
        json.loads(message["Body"])
        for message in sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", [])
    ]
    assert incident_id in [body.get("incident_id") for body in bodies]


@pytest.fixture
def team_bigpanda() -> Iterator[BigPandaStandIn]:
    """A stand-in of the test's own, with a key of its own, playing another BigPanda API."""
    stand_in = BigPandaStandIn("team-bigpanda-key-4c1f").start()
    yield stand_in
    stand_in.stop()


def test_callbacks_go_to_the_api_given_by_flags_and_no_stand_in_runs(
    start_stack: Callable[..., StackProcess], team_bigpanda: BigPandaStandIn
) -> None:
    # Given a stack pointed at another BigPanda API, with that API's key in the environment
    stack = start_stack(
        "--bigpanda-url",
        team_bigpanda.api_base,
        env={defaults.BIGPANDA_KEY_ENV: "team-bigpanda-key-4c1f"},
    )
    # When it has posted the sample at start-up
    stack.wait_for_output(SERVING_MARK)
    # Then that API confirmed the sample's ticket, the journey says so, and no stand-in runs
    assert [record.status for record in team_bigpanda.records(SAMPLE_ID)] == [200], stack.output
    assert f"confirmed for incident {SAMPLE_ID}" in stack.output
    with pytest.raises(ConnectionRefusedError):
        http_request("GET", f"{stack.bigpanda_url}/_bigpanda/callbacks")


@pytest.mark.parametrize(
    ("flags", "environment", "message"),
    [
        (["--bigpanda-url", "https://api.bigpanda.io"], {}, "needs the User API key"),
        (["--bigpanda-url", "api.bigpanda.io"], {"LOCAL_BIGPANDA_API_KEY": "k"}, "http"),
        (["--app-key", ""], {}, "--app-key must not be empty"),
    ],
    ids=["url without key", "url without scheme", "empty app key"],
)
def test_bigpanda_flags_that_do_not_add_up_are_a_usage_error(
    usage_error: UsageError, flags: list[str], environment: dict[str, str], message: str
) -> None:
    # Given BigPanda flags that cannot work / When they are parsed
    # Then it is a usage error (exit 2) that says what is wrong
    assert message in usage_error(flags, environment, unset=defaults.BIGPANDA_KEY_ENV)
