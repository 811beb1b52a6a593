"""The callback function on moto, with a real HTTP server standing in for BigPanda."""

from __future__ import annotations

import io
import json
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from local.aws import MotoServer, put_secret_string, queue_arn, queue_url
from local.context import LambdaContext
from local.names import CALLBACK_QUEUE, CONTROL_TABLE, TICKETS_TABLE
from local.poller import EventSource, QueuePoller
from pandabridge import settings
from pandabridge.messages import CallbackRequest
from pandabridge.names import BIGPANDA_CALLBACK_PATH, Env, Metric
from pandabridge.rate_limit import API_WINDOW, RATE_LIMIT_PREFIX, org_id
from pandabridge.stores.control import control_key
from pandabridge.stores.queues import CallbackQueue
from pandabridge.stores.tickets import CallbackLedger, TicketStateStore
from pandabridge.tickets.model import TicketRef
from pandabridge.tickets.state import TicketState
from tests.handlers.conftest import (
    Aws,
    assert_failed_unexpectedly,
    captured_logs,
    complaints,
    drain_queue,
    emitted_metrics,
    log_lines,
)

INCIDENT = "5555370aabc20a001145d6g9"
API_KEY = "bp-user-api-key-0123456789"
APP_KEY = "app-key-abc"
EXPECTED_BODY = {"event_type": "incident#new", "incident_id": INCIDENT, "app_key": APP_KEY}
EXPECTED_HEADERS = {"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
CONFIRMED = {"status": 200, "data": {}}


@pytest.fixture
def bigpanda_env(
    aws: Aws, moto_server: MotoServer, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str], None]]:
    """BigPanda's settings for the function; call it with another base URL to move BigPanda."""
    secret_name = f"bigpanda/{uuid.uuid4()}"  # Powertools caches secrets by name
    put_secret_string(moto_server.endpoint, secret_name, API_KEY)

    def point_at(base_url: str) -> None:
        monkeypatch.setenv(Env.BIGPANDA_API_BASE, base_url)
        monkeypatch.setenv(Env.BIGPANDA_APP_KEY, APP_KEY)
        monkeypatch.setenv(Env.BIGPANDA_SECRET_ID, secret_name)
        monkeypatch.setenv(Env.BIGPANDA_TIMEOUT_SECONDS, "1")
        settings.callback_settings.cache_clear()

    point_at(httpserver.url_for("/").rstrip("/"))
    yield point_at
    settings.callback_settings.cache_clear()


@pytest.fixture
def ticket(aws: Aws) -> TicketState:
    """The ticket state ticket sync left behind: a ticket whose callback is owed."""
    store = TicketStateStore(TICKETS_TABLE.local_name, aws.dynamodb)
    now = datetime.now(UTC)
    return store.save(
        TicketState(
            incident_id=INCIDENT,
            target="http",
            ticket=TicketRef(id="T-1"),
            created_at=now,
            callback_enqueued_at=now,
        )
    )


@pytest.fixture
def ledger(aws: Aws) -> CallbackLedger:
    return CallbackLedger(TICKETS_TABLE.local_name, aws.dynamodb)


class Callbacks:
    """The callback queue as ticket sync fills it, and the function as Lambda would run it."""

    def __init__(self, aws: Aws, endpoint: str) -> None:
        from callback.handler import handler

        self.aws = aws
        self.endpoint = endpoint
        self.url = queue_url(endpoint, CALLBACK_QUEUE.local_name)
        self.poller = QueuePoller(
            "callback",
            lambda event: handler(event, LambdaContext(function_name="callback")),
            EventSource(queue_url=self.url, queue_arn=queue_arn(CALLBACK_QUEUE.local_name)),
            endpoint=endpoint,
        )

    def send_body(self, body: str) -> None:
        """A message as some other producer might send it."""
        self.aws.sqs.send_message(
            QueueUrl=self.url,
            MessageBody=body,
            MessageGroupId=INCIDENT,
            MessageDeduplicationId=str(uuid.uuid4()),
        )

    def request(self, received_at: datetime | None = None) -> None:
        received = received_at or datetime.now(UTC)
        CallbackQueue(self.url, self.aws.sqs).send(
            CallbackRequest(
                incident_id=INCIDENT, ticket_ref="T-1", received_at=received.isoformat()
            )
        )

    def redeliver(self) -> None:
        """The same request again, past SQS deduplication (as after its five-minute window)."""
        self.aws.sqs.send_message(
            QueueUrl=self.url,
            MessageBody=CallbackRequest(
                incident_id=INCIDENT, ticket_ref="T-1", received_at=datetime.now(UTC).isoformat()
            ).model_dump_json(),
            MessageGroupId=INCIDENT,
            MessageDeduplicationId=str(uuid.uuid4()),
        )

    def drain(self, timeout: float = 20.0) -> None:
        drain_queue(self.poller, lambda: self.depth(CALLBACK_QUEUE.local_name), timeout)

    def depth(self, name: str) -> int:
        attributes = self.aws.sqs.get_queue_attributes(
            QueueUrl=queue_url(self.endpoint, name),
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return sum(int(value) for value in attributes.values())

    def dead_letters(self) -> list[dict[str, Any]]:
        answer = self.aws.sqs.receive_message(
            QueueUrl=queue_url(self.endpoint, CALLBACK_QUEUE.dlq_local_name),
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
        )
        return answer.get("Messages", [])


@pytest.fixture
def callbacks(
    aws: Aws, moto_server: MotoServer, bigpanda_env: Any, ticket: TicketState
) -> Callbacks:
    return Callbacks(aws, moto_server.endpoint)


@pytest.fixture
def callback_logs() -> Iterator[io.StringIO]:
    from callback.handler import logger

    with captured_logs(logger) as stream:
        yield stream


@pytest.fixture
def without_app_key(bigpanda_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The function as deployed before the BigPanda integration (and its app key) exists."""
    monkeypatch.delenv(Env.BIGPANDA_APP_KEY)
    settings.callback_settings.cache_clear()


def expect_callback(httpserver: HTTPServer, status: int = 200, **reply: Any) -> None:
    handler = httpserver.expect_ordered_request(
        BIGPANDA_CALLBACK_PATH, method="POST", headers=EXPECTED_HEADERS, json=EXPECTED_BODY
    )
    if status == 200:
        handler.respond_with_json(CONFIRMED)
    else:
        handler.respond_with_response(
            Response(json.dumps({"status": status}), status=status, headers=reply)
        )


def attempt_waits_without_calling_bigpanda(callbacks: Callbacks, httpserver: HTTPServer) -> None:
    """Request a callback and handle it once: it must fail without a call to BigPanda and
    wait in its queue, not in the DLQ."""
    callbacks.request()
    outcome = callbacks.poller.poll_once()
    assert outcome is not None
    assert outcome.failed
    assert httpserver.log == []
    assert callbacks.dead_letters() == []
    assert callbacks.depth(CALLBACK_QUEUE.local_name) == 1


def test_confirmation_sends_the_exact_request_and_records_it(
    callbacks: Callbacks, httpserver: HTTPServer, ledger: CallbackLedger
) -> None:
    expect_callback(httpserver)
    callbacks.request()
    callbacks.drain()
    httpserver.check_assertions()
    assert len(httpserver.log) == 1
    assert ledger.confirmed_at(INCIDENT) is not None


def test_503_503_200_gives_one_confirmation_after_three_calls(
    callbacks: Callbacks, httpserver: HTTPServer, ledger: CallbackLedger
) -> None:
    expect_callback(httpserver, 503)
    expect_callback(httpserver, 503)
    expect_callback(httpserver)
    callbacks.request()
    callbacks.drain(timeout=30)
    httpserver.check_assertions()
    assert len(httpserver.log) == 3
    assert ledger.confirmed_at(INCIDENT) is not None
    assert callbacks.dead_letters() == []


def test_429_retry_after_is_honoured(callbacks: Callbacks, httpserver: HTTPServer) -> None:
    # Given BigPanda asks to come back in 3 seconds
    expect_callback(httpserver, 429, **{"Retry-After": "3"})
    expect_callback(httpserver)
    callbacks.request()
    first = callbacks.poller.poll_once()
    assert first is not None
    assert first.failed
    failed_at = time.monotonic()
    # When the consumer keeps polling, Then the message stays away for those 3 seconds
    while callbacks.depth(CALLBACK_QUEUE.local_name) and callbacks.poller.poll_once() is None:
        time.sleep(0.1)
    assert time.monotonic() - failed_at >= 2.9
    assert len(httpserver.log) == 2


def test_401_is_not_retried_goes_to_the_dlq_and_names_the_secret(
    callbacks: Callbacks,
    httpserver: HTTPServer,
    ledger: CallbackLedger,
    callback_logs: io.StringIO,
) -> None:
    expect_callback(httpserver, 401)
    callbacks.request()
    callbacks.drain()
    assert len(httpserver.log) == 1
    [dead] = callbacks.dead_letters()
    assert Env.BIGPANDA_SECRET_ID in dead["MessageAttributes"]["reason"]["StringValue"]
    assert ledger.confirmed_at(INCIDENT) is None
    assert Env.BIGPANDA_SECRET_ID in callback_logs.getvalue()


def test_400_names_the_app_key(callbacks: Callbacks, httpserver: HTTPServer) -> None:
    expect_callback(httpserver, 400)
    callbacks.request()
    callbacks.drain()
    [dead] = callbacks.dead_letters()
    assert Env.BIGPANDA_APP_KEY in dead["MessageAttributes"]["reason"]["StringValue"]


def test_redelivery_after_confirmation_calls_nobody(
    callbacks: Callbacks, httpserver: HTTPServer
) -> None:
    expect_callback(httpserver)
    callbacks.request()
    callbacks.drain()
    callbacks.redeliver()
    callbacks.drain()
    assert len(httpserver.log) == 1


def test_connection_refused_is_retried_not_dead_lettered(
    callbacks: Callbacks, httpserver: HTTPServer, bigpanda_env: Callable[[str], None]
) -> None:
    # Given BigPanda's address refuses connections
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    bigpanda_env(f"http://127.0.0.1:{closed_port}")
    callbacks.request()
    outcome = callbacks.poller.poll_once()
    assert outcome is not None
    assert outcome.failed
    assert callbacks.dead_letters() == []
    # When BigPanda is reachable again, Then the postponed message is confirmed
    bigpanda_env(httpserver.url_for("/").rstrip("/"))
    expect_callback(httpserver)
    callbacks.drain()
    assert len(httpserver.log) == 1


def test_the_api_key_never_appears_in_logs_or_dead_letters(
    callbacks: Callbacks, httpserver: HTTPServer, callback_logs: io.StringIO
) -> None:
    # Given BigPanda refuses the key and echoes it back in its answer
    httpserver.expect_request(BIGPANDA_CALLBACK_PATH).respond_with_response(
        Response(json.dumps({"error": f"bad token {API_KEY}"}), status=401)
    )
    callbacks.request()
    callbacks.drain()
    [dead] = callbacks.dead_letters()
    assert API_KEY not in json.dumps(dead)
    assert API_KEY not in callback_logs.getvalue()
    assert "bad token" in dead["MessageAttributes"]["reason"]["StringValue"]


def test_latency_from_webhook_receipt_to_confirmation_is_a_metric(
    callbacks: Callbacks, httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    expect_callback(httpserver)
    callbacks.request(received_at=datetime.now(UTC) - timedelta(seconds=2))
    callbacks.drain()
    metrics = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line
    ]
    [latency] = [m["WebhookToCallbackLatency"] for m in metrics if "WebhookToCallbackLatency" in m]
    assert 2000 <= latency[0] < 10_000


# --- loud failures ----------------------------------------------------------------------------


def test_without_an_app_key_each_attempt_logs_one_error_naming_the_setting_and_is_counted(
    callbacks: Callbacks,
    httpserver: HTTPServer,
    without_app_key: None,
    callback_logs: io.StringIO,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given the stack was deployed without bigpanda_app_key
    # When a callback is attempted
    # Then it fails without calling BigPanda, and waits in the queue instead of the DLQ
    attempt_waits_without_calling_bigpanda(callbacks, httpserver)
    # And one ERROR names the cdk.json setting and the variable, and a metric counts it
    [error] = log_lines(callback_logs, level="ERROR")
    assert "bigpanda_app_key" in json.dumps(error)
    assert Env.BIGPANDA_APP_KEY in json.dumps(error)
    assert len(complaints(caplog)) == 1
    assert emitted_metrics(capsys.readouterr().out)[Metric.CALLBACK_NOT_CONFIGURED] == [1.0]


def test_a_malformed_message_reaches_the_dlq_even_without_an_app_key(
    callbacks: Callbacks, without_app_key: None, callback_logs: io.StringIO
) -> None:
    # Given the app key is missing, so the function's BigPanda settings are incomplete
    # When a message that is not a callback request is consumed
    callbacks.send_body('{"not": "a callback request"}')
    outcome = callbacks.poller.poll_once()
    # Then it is in the callback DLQ with its reason, and off the callback queue
    assert outcome is not None
    assert not outcome.failed
    [dead] = callbacks.dead_letters()
    assert dead["Body"] == '{"not": "a callback request"}'
    assert "CallbackRequest" in dead["MessageAttributes"]["reason"]["StringValue"]
    [error] = log_lines(callback_logs, level="ERROR")
    assert error["message"] == "failed for good; message sent to the DLQ"


def test_a_failed_dlq_send_is_not_logged_as_sent_and_the_message_is_kept(
    callbacks: Callbacks,
    callback_logs: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given the DLQ the function is told about does not exist
    monkeypatch.setenv(Env.CALLBACK_DLQ_URL, f"{callbacks.endpoint}/123456789012/gone.fifo")
    # When a malformed message is consumed
    callbacks.send_body("not json")
    outcome = callbacks.poller.poll_once()
    # Then it stays on its queue to be retried, and its one ERROR says it was not sent
    assert outcome is not None
    assert outcome.failed
    assert callbacks.depth(CALLBACK_QUEUE.local_name) == 1
    [error] = log_lines(callback_logs, level="ERROR")
    assert error["message"] == "failed for good, but could not be sent to the DLQ; will be retried"
    assert_failed_unexpectedly(
        callback_logs,
        caplog,
        capsys.readouterr().out,
        cause="NonExistentQueue",
        metric=Metric.CALLBACK_RETRIED,
    )


def test_an_unexpected_exception_logs_one_error_with_its_traceback_and_is_counted(
    callbacks: Callbacks,
    httpserver: HTTPServer,
    callback_logs: io.StringIO,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given a setting the function cannot run without is missing (not a refusal by BigPanda)
    monkeypatch.delenv(Env.BIGPANDA_SECRET_ID)
    settings.callback_settings.cache_clear()
    # When a callback is attempted
    callbacks.request()
    outcome = callbacks.poller.poll_once()
    # Then it fails, to be retried, without calling BigPanda
    assert outcome is not None
    assert outcome.failed
    assert httpserver.log == []
    # And one ERROR carries the traceback that names the variable, and the failure is counted
    assert_failed_unexpectedly(
        callback_logs,
        caplog,
        capsys.readouterr().out,
        cause=Env.BIGPANDA_SECRET_ID,
        metric=Metric.CALLBACK_RETRIED,
    )


def test_a_retried_failure_logs_one_warning_and_nothing_else(
    callbacks: Callbacks, httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    # Given BigPanda answers 503
    expect_callback(httpserver, 503)
    # When the callback is attempted
    callbacks.request()
    outcome = callbacks.poller.poll_once()
    # Then the one complaint about it is the function's WARNING that it will be retried
    assert outcome is not None
    assert outcome.failed
    [warning] = complaints(caplog)
    assert (warning.levelname, warning.getMessage()) == ("WARNING", "will be retried")


def test_an_integrations_callback_goes_to_its_own_bigpanda_account(
    bigpanda_env: Any,
    moto_server: MotoServer,
    httpserver: HTTPServer,
    ledger: CallbackLedger,
    aws: Aws,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the integration "ops" with its own app key, API base and key secret, and a ticket
    # of its incident (stored under the scoped key) whose callback is owed
    from pandabridge.composition.callback import confirmer

    secret = f"ops-bigpanda/{uuid.uuid4()}"
    put_secret_string(moto_server.endpoint, secret, "ops-user-api-key-0123456789")
    ops = {"app_key": "ops-app", "api_base": httpserver.url_for("/eu"), "key_secret": secret}
    monkeypatch.setenv(Env.BIGPANDA_INTEGRATIONS, json.dumps({"ops": ops}))
    settings.callback_settings.cache_clear()
    scoped = f"ops#{INCIDENT}"
    TicketStateStore(TICKETS_TABLE.local_name, aws.dynamodb).save(
        TicketState(incident_id=scoped, target="desk", ticket=TicketRef(id="T-2"))
    )
    httpserver.expect_ordered_request(
        f"/eu{BIGPANDA_CALLBACK_PATH}",
        method="POST",
        headers={"Authorization": "Bearer ops-user-api-key-0123456789"},
        json={"event_type": "incident#new", "incident_id": INCIDENT, "app_key": "ops-app"},
    ).respond_with_json(CONFIRMED)
    # When its callback is confirmed
    request = CallbackRequest(
        incident_id=scoped, ticket_ref="T-2", received_at=datetime.now(UTC).isoformat()
    )
    confirmer(scoped).confirm(request)
    # Then BigPanda got ops's app key and BigPanda's own id, with ops's key; recorded as ops's
    httpserver.check_assertions()
    assert ledger.confirmed_at(scoped) is not None
    assert ledger.confirmed_at(INCIDENT) is None


def test_a_callback_waits_without_calling_bigpanda_while_the_org_s_minute_is_used_up(
    callbacks: Callbacks,
    httpserver: HTTPServer,
    aws: Aws,
    ledger: CallbackLedger,
    callback_logs: io.StringIO,
) -> None:
    # Given the org's minute of BigPanda API calls already used up by its other callers
    org = org_id(os.environ[Env.BIGPANDA_API_BASE], os.environ[Env.BIGPANDA_SECRET_ID])
    now = time.time()
    for start in (API_WINDOW.start(now), API_WINDOW.start(now) + API_WINDOW.seconds):
        aws.dynamodb.put_item(
            TableName=CONTROL_TABLE.local_name,
            Item={
                **control_key(f"{RATE_LIMIT_PREFIX}{org}", f"api#{start}"),
                "used": {"N": str(API_WINDOW.limit)},
            },
        )
    expect_callback(httpserver)
    # When the callback is handled
    # Then BigPanda is not called, the message waits in its queue (not the DLQ), unconfirmed
    attempt_waits_without_calling_bigpanda(callbacks, httpserver)
    assert ledger.confirmed_at(INCIDENT) is None
    assert "BigPanda rate limit" in callback_logs.getvalue()
