"""Ticket sync end to end on moto: stored incident → FIFO nudge → real handler → demo desk.

The desk is the local stack's real HTTP service desk (the generic ``http`` contract), reached
through the real adapter; the queues, tables and secret live on the moto server.
"""

from __future__ import annotations

import copy
import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from local.aws import MotoServer, put_secret, queue_arn, queue_url
from local.context import LambdaContext
from local.demo.service_desk import DemoDesk
from local.fakes.jira import DEFAULT_API_TOKEN, DEFAULT_EMAIL, DEFAULT_PROJECT, JiraFake
from local.names import CALLBACK_QUEUE, TICKET_SYNC_QUEUE
from local.poller import EventSource, QueuePoller
from pandabridge import settings
from pandabridge.composition.ingest import incident_store
from pandabridge.composition.ticket_sync import desk_config, reconciler, ticket_states
from pandabridge.errors import RetryableError, StepFailedError
from pandabridge.handoff import render_message
from pandabridge.incidents import ingest
from pandabridge.messages import SyncNudge
from pandabridge.names import Env, Metric
from pandabridge.parsing import parse_webhook
from pandabridge.sync import Reconciler
from pandabridge.tickets.model import TicketRef
from tests.handlers.conftest import (
    Aws,
    assert_failed_unexpectedly,
    captured_logs,
    drain_queue,
    emitted_metrics,
    log_lines,
)

Payload = dict[str, Any]
DESK_SECRET = "desk-shared-secret"
SECRET_NAME = "local/ticket-target"


class SlowDesk(DemoDesk):
    """The demo desk, able to answer creates late: the ticket exists, the caller times out."""

    slow_creates = 0
    delay_seconds = 0.0

    def answer(self, method: str, path: str, *args: Any) -> Any:
        reply = super().answer(method, path, *args)
        if method == "POST" and path == "/tickets" and self.slow_creates > 0:
            self.slow_creates -= 1
            time.sleep(self.delay_seconds)
        return reply


@pytest.fixture
def desk(aws: Aws) -> Iterator[SlowDesk]:
    server = SlowDesk(DESK_SECRET).start()
    yield server
    server.stop()


@pytest.fixture
def target_env(
    desk: SlowDesk, moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., None]:
    """Points ticket sync at the desk; call it again to change the secret's value or name."""

    def configure(secret_name: str = SECRET_NAME, hmac_secret: str = DESK_SECRET) -> None:
        put_secret(moto_server.endpoint, secret_name, {"hmac_secret": hmac_secret})
        monkeypatch.setenv(Env.TICKET_TARGET, "http")
        monkeypatch.setenv(Env.TICKET_BASE_URL, desk.url)
        monkeypatch.setenv(Env.TICKET_SECRET_ID, secret_name)
        monkeypatch.setenv(Env.TICKET_TIMEOUT_SECONDS, "1")
        settings.ticket_target_settings.cache_clear()
        settings.ticket_sync_settings.cache_clear()
        desk_config.cache_clear()

    configure()
    return configure


@pytest.fixture
def poller(moto_server: MotoServer, target_env: Any) -> QueuePoller:
    from ticket_sync.handler import handler

    source = EventSource(
        queue_url=queue_url(moto_server.endpoint, TICKET_SYNC_QUEUE.local_name),
        queue_arn=queue_arn(TICKET_SYNC_QUEUE.local_name),
    )
    return QueuePoller(
        "ticket-sync",
        lambda event: handler(event, LambdaContext(function_name="ticket-sync")),
        source,
        endpoint=moto_server.endpoint,
    )


class Pipeline:
    """Stores deliveries as ingest does and nudges ticket sync as the pipe does."""

    def __init__(self, aws: Aws, endpoint: str, poller: QueuePoller) -> None:
        self.aws = aws
        self.endpoint = endpoint
        self.poller = poller
        self.sent = 0

    def store(self, payload: Payload) -> SyncNudge:
        webhook = parse_webhook(json.dumps(payload))
        ingest(webhook, incident_store())
        return SyncNudge(
            incident_id=webhook.incident_id,
            version=webhook.version.key,
            sha256=webhook.content_hash,
        )

    def nudge(self, nudge: SyncNudge) -> None:
        """Send as the pipe does; each send is a new delivery (a redelivery, for duplicates)."""
        self.sent += 1
        self.aws.sqs.send_message(
            QueueUrl=queue_url(self.endpoint, TICKET_SYNC_QUEUE.local_name),
            MessageBody=render_message(nudge),
            MessageGroupId=nudge.incident_id,
            MessageDeduplicationId=f"{nudge.sha256[:40]}-{self.sent}",
        )

    def deliver(self, payload: Payload) -> SyncNudge:
        nudge = self.store(payload)
        self.nudge(nudge)
        return nudge

    def drain(self, timeout: float = 15.0) -> None:
        drain_queue(self.poller, lambda: self.queue_depth(TICKET_SYNC_QUEUE.local_name), timeout)

    def queue_depth(self, name: str) -> int:
        attributes = self.aws.sqs.get_queue_attributes(
            QueueUrl=queue_url(self.endpoint, name),
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return sum(int(value) for value in attributes.values())

    def messages(self, name: str) -> list[dict[str, Any]]:
        answer = self.aws.sqs.receive_message(
            QueueUrl=queue_url(self.endpoint, name),
            MaxNumberOfMessages=10,
            MessageAttributeNames=["All"],
            VisibilityTimeout=0,
        )
        return answer.get("Messages", [])

    def callbacks(self) -> list[dict[str, Any]]:
        return [json.loads(m["Body"]) for m in self.messages(CALLBACK_QUEUE.local_name)]


@pytest.fixture
def ticket_sync_logs() -> Iterator[io.StringIO]:
    from ticket_sync.handler import logger

    with captured_logs(logger) as stream:
        yield stream


@pytest.fixture
def pipeline(aws: Aws, moto_server: MotoServer, poller: QueuePoller) -> Pipeline:
    return Pipeline(aws, moto_server.endpoint, poller)


def tickets(desk: DemoDesk) -> list[dict[str, Any]]:
    return desk.book.records()


def history(desk: DemoDesk) -> list[str]:
    [ticket] = tickets(desk)
    return [change["kind"] for change in ticket["history"]]


def later(payload: Payload, seconds: int = 60, **incident: Any) -> Payload:
    changed = copy.deepcopy(payload)
    changed["incident"]["updatedOn"] += seconds
    changed["incident"].update(incident)
    return changed


def test_first_share_creates_one_ticket_and_queues_one_callback(
    pipeline: Pipeline, desk: SlowDesk, sample: Payload
) -> None:
    pipeline.deliver(sample)
    pipeline.drain()
    [ticket] = tickets(desk)
    assert ticket["incident_id"] == sample["incident"]["id"]
    assert ticket["title"].startswith("BigPanda Incident: P1 - ")
    [callback] = pipeline.callbacks()
    assert callback["incident_id"] == sample["incident"]["id"]
    assert callback["ticket_ref"] == ticket["id"]
    assert datetime.fromisoformat(callback["received_at"]) <= datetime.now(UTC)


def test_ticket_state_records_ticket_version_and_callback(
    pipeline: Pipeline, sample: Payload, desk: SlowDesk
) -> None:
    nudge = pipeline.deliver(sample)
    pipeline.drain()
    state = ticket_states().get(nudge.incident_id)
    assert state is not None
    assert state.ticket is not None
    assert state.ticket.id == tickets(desk)[0]["id"]
    assert (state.synced_hash, state.synced_version) == (nudge.sha256, nudge.version)
    assert state.status == "open"
    assert state.callback_enqueued_at is not None
    assert state.created_at is not None


def test_concurrent_syncs_of_one_incident_create_one_ticket_and_one_callback(
    pipeline: Pipeline, desk: SlowDesk, sample: Payload
) -> None:
    # Given a stored incident, and 6 workers that each sync it at once (no FIFO serializing)
    nudge = pipeline.store(sample)
    start = threading.Barrier(6)

    def sync_until_done() -> None:
        start.wait(timeout=10)
        for _ in range(10):
            try:
                reconciler().sync(nudge)
                return
            except RetryableError:  # lost the race for the state; sync again
                time.sleep(0.05)

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(lambda _: sync_until_done(), range(6)))
    # Then the revision lock let exactly one of them create and queue the callback
    assert len(tickets(desk)) == 1
    assert len(pipeline.callbacks()) == 1


def test_lifecycle_reaches_the_ticket_in_order(
    pipeline: Pipeline, desk: SlowDesk, sample: Payload
) -> None:
    # Given new → severity update → comment → resolve → reopen, each synced before the next
    commented = later(sample, 60, severity="Warning")
    commented["metadata"]["comment"] = {"comment": "DB team is on it", "environment": "All"}
    steps = [
        sample,
        later(sample, 30, severity="Warning"),
        commented,
        later(sample, 90, status="OK", active=False, severity="Warning"),
        later(sample, 120, status="Critical", active=True, severity="Critical"),
    ]
    for step in steps:
        pipeline.deliver(step)
        pipeline.drain()
    # Then the desk saw each change once, in order
    [ticket] = tickets(desk)
    events = [(change["kind"], change["detail"]) for change in ticket["history"]]
    kinds = [kind for kind, _ in events]
    assert kinds[0] == "created"
    assert kinds.count("created") == 1
    commented = events.index(("commented", "DB team is on it"))
    assert kinds.index("updated") < commented < kinds.index("resolved") < kinds.index("reopened")
    assert ticket["status"] == "open"
    assert [c["body"] for c in ticket["comments"]].count("DB team is on it") == 1
    assert len(pipeline.callbacks()) == 1


def test_comment_of_an_overtaken_version_is_still_added(
    pipeline: Pipeline, desk: SlowDesk, sample: Payload
) -> None:
    # Given a version with a comment stored, then overtaken by a newer one before any sync
    commented = copy.deepcopy(sample)
    commented["metadata"]["comment"] = "first look"
    pipeline.deliver(commented)
    pipeline.deliver(later(sample))
    # When both nudges are synced
    pipeline.drain()
    # Then the comment, read from that version's archive, reached the ticket
    [ticket] = tickets(desk)
    assert [c["body"] for c in ticket["comments"]] == ["first look"]


def test_timeout_after_the_desk_created_the_ticket_still_gives_one_ticket(
    pipeline: Pipeline, desk: SlowDesk, sample: Payload
) -> None:
    # Given the desk creates the ticket but answers after the client's 1 s timeout
    desk.slow_creates, desk.delay_seconds = 1, 1.5
    # When the nudge is retried after the timeout
    pipeline.deliver(sample)
    pipeline.drain(timeout=20)
    # Then the retry found the ticket instead of creating another, and one callback went out
    assert len(tickets(desk)) == 1
    assert len(pipeline.callbacks()) == 1


def test_503_then_success_gives_one_ticket(
    pipeline: Pipeline, desk: SlowDesk, sample: Payload
) -> None:
    desk.failures.arm(503, 1)
    pipeline.deliver(sample)
    first = pipeline.poller.poll_once()
    assert first is not None
    assert first.failed  # the first attempt failed and was postponed, not lost
    pipeline.drain(timeout=20)
    assert len(tickets(desk)) == 1
    assert len(pipeline.callbacks()) == 1


def test_429_retry_after_is_honoured_as_the_message_visibility(
    pipeline: Pipeline, desk: SlowDesk, sample: Payload
) -> None:
    desk.failures.arm(429, 1, retry_after=3)
    pipeline.deliver(sample)
    pipeline.poller.poll_once()
    # The message stays invisible for the desk's Retry-After, then succeeds
    assert pipeline.poller.poll_once() is None
    time.sleep(1.5)
    assert pipeline.poller.poll_once() is None
    pipeline.drain(timeout=20)
    assert len(tickets(desk)) == 1


def test_bad_credentials_go_to_the_dlq_naming_the_secret_setting(
    pipeline: Pipeline,
    desk: SlowDesk,
    sample: Payload,
    target_env: Callable[..., None],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given the secret holds a key the desk does not accept
    target_env(secret_name="local/wrong-secret", hmac_secret="not-the-desk-secret")
    # When a nudge is processed
    pipeline.deliver(sample)
    pipeline.drain()
    # Then no ticket, the message is in the DLQ with its reason, and the log names the setting
    assert tickets(desk) == []
    [dead] = pipeline.messages(TICKET_SYNC_QUEUE.dlq_local_name)
    reason = dead["MessageAttributes"]["reason"]["StringValue"]
    assert Env.TICKET_SECRET_ID in reason
    assert "not-the-desk-secret" not in reason
    assert any(Env.TICKET_SECRET_ID in r.getMessage() + str(r.__dict__) for r in caplog.records)
    assert pipeline.queue_depth(TICKET_SYNC_QUEUE.local_name) == 0


def test_crash_before_the_callback_is_queued_still_queues_it_once(
    pipeline: Pipeline, desk: SlowDesk, sample: Payload, aws: Aws, moto_server: MotoServer
) -> None:
    # Given the callback queue is unreachable when the ticket is created
    callback_url = queue_url(moto_server.endpoint, CALLBACK_QUEUE.local_name)
    attributes = aws.sqs.get_queue_attributes(QueueUrl=callback_url, AttributeNames=["All"])
    aws.sqs.delete_queue(QueueUrl=callback_url)
    pipeline.deliver(sample)
    failed = pipeline.poller.poll_once()
    assert failed is not None
    assert failed.failed
    assert len(tickets(desk)) == 1
    # When the queue is back and the nudge is retried
    kept = {"VisibilityTimeout", "FifoQueue", "DeduplicationScope", "FifoThroughputLimit"}
    restored = {k: v for k, v in attributes["Attributes"].items() if k in kept}
    aws.sqs.create_queue(QueueName=CALLBACK_QUEUE.local_name, Attributes=restored)
    pipeline.drain(timeout=20)
    # Then the owed callback is queued exactly once, and still one ticket
    assert len(pipeline.callbacks()) == 1
    assert len(tickets(desk)) == 1


def send_body(aws: Aws, endpoint: str, body: str) -> None:
    """A message on the ticket-sync queue as some other producer might send it."""
    aws.sqs.send_message(
        QueueUrl=queue_url(endpoint, TICKET_SYNC_QUEUE.local_name),
        MessageBody=body,
        MessageGroupId="g",
        MessageDeduplicationId="d",
    )


def test_unparseable_message_goes_to_the_dlq(
    pipeline: Pipeline, aws: Aws, moto_server: MotoServer
) -> None:
    send_body(aws, moto_server.endpoint, '{"not": "a nudge"}')
    pipeline.drain()
    assert len(pipeline.messages(TICKET_SYNC_QUEUE.dlq_local_name)) == 1


def test_a_malformed_message_reaches_the_dlq_even_with_other_settings_missing(
    pipeline: Pipeline, aws: Aws, moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a setting that only the sync itself needs is missing
    monkeypatch.delenv(Env.TICKETS_TABLE)
    settings.ticket_sync_settings.cache_clear()
    # When a message that is not a nudge is consumed
    send_body(aws, moto_server.endpoint, '{"not": "a nudge"}')
    outcome = pipeline.poller.poll_once()
    # Then it is in the DLQ, not back on its queue
    assert outcome is not None
    assert not outcome.failed
    assert len(pipeline.messages(TICKET_SYNC_QUEUE.dlq_local_name)) == 1


def test_an_unexpected_exception_logs_one_error_with_its_traceback_and_is_counted(
    pipeline: Pipeline,
    sample: Payload,
    desk: SlowDesk,
    monkeypatch: pytest.MonkeyPatch,
    ticket_sync_logs: io.StringIO,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given the ticket target setting is missing (a deployment fault, not a desk refusal)
    monkeypatch.delenv(Env.TICKET_TARGET)
    settings.ticket_target_settings.cache_clear()
    # When a nudge is processed
    # Then it fails, to be retried, and no ticket is made; one ERROR carries the traceback
    # that names the variable, and the failure is counted
    fails_for_retry_without_ticket(
        pipeline, sample, desk, (ticket_sync_logs, caplog, capsys), cause=Env.TICKET_TARGET
    )


def fails_for_retry_without_ticket(
    pipeline: Pipeline,
    sample: Payload,
    desk: SlowDesk,
    logs: tuple[io.StringIO, pytest.LogCaptureFixture, pytest.CaptureFixture[str]],
    *,
    cause: str,
) -> None:
    """Delivers ``sample``; its nudge fails to be retried, no ticket is made, and one ERROR
    with a traceback names ``cause``."""
    pipeline.deliver(sample)
    outcome = pipeline.poller.poll_once()
    assert outcome is not None
    assert outcome.failed
    assert tickets(desk) == []
    function_logs, caplog, capsys = logs
    assert_failed_unexpectedly(
        function_logs,
        caplog,
        capsys.readouterr().out,
        cause=cause,
        metric=Metric.TICKET_SYNC_RETRIED,
    )


def test_a_bad_desk_configuration_fails_every_message_naming_the_key_path(
    pipeline: Pipeline,
    sample: Payload,
    desk: SlowDesk,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    ticket_sync_logs: io.StringIO,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given a desk configuration file whose summary names an unknown placeholder
    config = tmp_path / "pandabridge.toml"
    config.write_text(
        f'[targets.desk]\nkind = "http"\nbase_url = "{desk.url}"\n'
        '[targets.desk.fields]\nsummary = "{hostname}"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv(Env.DESK_CONFIG_FILE, str(config))
    settings.ticket_target_settings.cache_clear()
    desk_config.cache_clear()
    # When a nudge is processed
    # Then it fails, to be retried, no ticket is made, and one ERROR names the key path
    fails_for_retry_without_ticket(
        pipeline,
        sample,
        desk,
        (ticket_sync_logs, caplog, capsys),
        cause="targets.desk.fields.summary",
    )


# --- steps that fail alone, and waiting without dead-lettering ---------------------------------


def resolved(payload: Payload, seconds: int, comment: str) -> Payload:
    version = later(payload, seconds, status="OK", active=False)
    version["metadata"]["comment"] = {"comment": comment, "environment": "All"}
    return version


RESOLVE_SETTING = "targets.http.workflow.resolve"


@dataclass
class RefusedResolves:
    """The http adapter of a desk whose workflow refuses every resolve, as an adapter reports a
    step the desk refuses as configured (``StepFailedError``); every other call is the real
    adapter's against the demo desk."""

    inner: Any

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def resolve(self, ref: TicketRef, note: str) -> None:  # noqa: ARG002 - refused whatever
        raise StepFailedError("no transition named Done", setting=RESOLVE_SETTING, step="resolve")


def test_a_refused_resolve_lets_later_versions_and_comments_through(
    pipeline: Pipeline,
    desk: SlowDesk,
    sample: Payload,
    monkeypatch: pytest.MonkeyPatch,
    ticket_sync_logs: io.StringIO,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Failure 3 (engine side): one bad step no longer blocks the incident."""
    # Given a desk that refuses every resolve, and a step retry that does not wait
    monkeypatch.setattr(
        "ticket_sync.handler.reconciler", lambda key: refusing_resolves(reconciler(key))
    )
    pipeline.deliver(sample)
    pipeline.drain()
    # When two resolved versions, each with a comment, are synced
    pipeline.deliver(resolved(sample, 60, "restarted"))
    pipeline.drain()
    pipeline.deliver(resolved(sample, 120, "stable for an hour"))
    pipeline.drain()
    # Then both comments reached the ticket once, and nothing went to the DLQ
    [ticket] = tickets(desk)
    assert [c["body"] for c in ticket["comments"]] == ["restarted", "stable for an hour"]
    assert pipeline.messages(TICKET_SYNC_QUEUE.dlq_local_name) == []
    # And each refusal was logged at WARNING naming the setting, and counted
    warnings = [w for w in log_lines(ticket_sync_logs, level="WARNING") if "step" in w]
    assert [w["setting"] for w in warnings] == [RESOLVE_SETTING] * 2
    assert RESOLVE_SETTING in warnings[0]["message"]
    assert emitted_metrics(capsys.readouterr().out)[Metric.TICKET_STEP_FAILED] == [1.0, 1.0]
    # And the state says the resolve needs attention
    state = ticket_states().get(sample["incident"]["id"])
    assert state is not None
    assert state.step_failures["resolve"].attempts == 2


def refusing_resolves(built: Reconciler) -> Reconciler:
    """The function's reconciler on a desk that refuses resolves; a refused step is not
    retried before the next version, so that each version syncs in one delivery."""
    return replace(built, target=RefusedResolves(built.target), step_retry_attempts=1)


@pytest.fixture
def jira(
    aws: Aws, moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[JiraFake]:
    """A Jira Cloud fake that ticket sync uses through the real Jira adapter."""
    fake = JiraFake().start()
    config = tmp_path / "pandabridge.toml"
    config.write_text(
        f'[targets.jira]\nkind = "jira"\nbase_url = "{fake.url}"\n'
        f'[targets.jira.jira]\nproject = "{DEFAULT_PROJECT}"\n',
        encoding="utf-8",
    )
    put_secret(
        moto_server.endpoint,
        "local/jira-target",
        {"email": DEFAULT_EMAIL, "api_token": DEFAULT_API_TOKEN},
    )
    monkeypatch.setenv(Env.TICKET_TARGET, "jira")
    monkeypatch.setenv(Env.TICKET_BASE_URL, fake.url)
    monkeypatch.setenv(Env.TICKET_SECRET_ID, "local/jira-target")
    monkeypatch.setenv(Env.DESK_CONFIG_FILE, str(config))
    settings.ticket_target_settings.cache_clear()
    desk_config.cache_clear()
    yield fake
    fake.stop()


MAX_RECEIVE_COUNT = 3


def test_a_wait_longer_than_the_receive_count_allows_never_reaches_the_dlq(
    pipeline: Pipeline,
    jira: JiraFake,
    sample: Payload,
    aws: Aws,
    moto_server: MotoServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Failure 2 through the real Jira adapter: a create that times out but succeeded, and a
    search that lags 10 s, on a queue that dead-letters after 3 receives."""
    # Given a queue whose redrive policy allows 3 receives
    url = queue_url(moto_server.endpoint, TICKET_SYNC_QUEUE.local_name)
    redrive = json.loads(
        aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"][
            "RedrivePolicy"
        ]
    )
    redrive["maxReceiveCount"] = MAX_RECEIVE_COUNT
    aws.sqs.set_queue_attributes(QueueUrl=url, Attributes={"RedrivePolicy": json.dumps(redrive)})
    # And a Jira whose create answers after the client's 1 s timeout, whose search shows an
    # issue 10 s after its create, and a reconciler that trusts an empty search after 15 s
    jira.slow(1.5, method="POST", path="/rest/api/3/issue")
    jira.search_lag_seconds = 10
    monkeypatch.setattr(
        "ticket_sync.handler.reconciler",
        lambda key: replace(reconciler(key), create_outcome_window_seconds=15),
    )
    # When the incident is synced until its queue drains
    started = time.monotonic()
    pipeline.deliver(sample)
    pipeline.drain(timeout=40)
    waited = time.monotonic() - started
    # Then it waited longer than 3 receives allow, found the issue, and made no second
    assert waited > 10
    assert len(jira.issues()) == 1
    assert pipeline.messages(TICKET_SYNC_QUEUE.dlq_local_name) == []
    assert len(pipeline.callbacks()) == 1
