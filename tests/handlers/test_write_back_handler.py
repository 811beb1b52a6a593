"""Write-back through the real ticket-sync handler on moto: desk events stored by the
desk-events store, ``DeskEventNudge`` messages on the real FIFO queue, BigPanda's stand-in over
HTTP behind the org rate limit in the control table.

The rate limiter and the stand-in share one stopped clock. The queue's postponements are real
(``ChangeMessageVisibility``) and recorded with the delay the handler asked for; when only
postponed messages are left, ``Queue.run`` lets that time pass on the clock and makes the
messages that are due visible again, as their backoff running out would.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from local.aws import MotoServer, put_secret, put_secret_string, queue_arn, queue_url
from local.context import LambdaContext
from local.demo.bigpanda import BigPandaStandIn
from local.fakes.bigpanda_api import ALL_ENVIRONMENT_ID
from local.names import CONTROL_TABLE, TICKET_SYNC_QUEUE
from local.poller import lambda_record
from pandabridge import settings
from pandabridge.composition import queues, ticket_sync, write_back
from pandabridge.composition.ingest import incident_store
from pandabridge.desk_events import DeskEvent
from pandabridge.fifo import fifo_id
from pandabridge.incidents import ingest
from pandabridge.messages import DeskEventNudge
from pandabridge.names import DEFAULT_LINK_TAG, Env, Metric
from pandabridge.parsing import parse_webhook
from pandabridge.stores.control import DynamoRateLimiter
from pandabridge.stores.desk_events import DeskEventStore
from pandabridge.stores.queues import QueueControl
from pandabridge.sync import SyncReport
from pandabridge.tickets.state import StepFailure
from tests.conftest import BIGPANDA_STAND_IN_KEY, StoppedClock
from tests.handlers.conftest import Aws, captured_logs, emitted_metrics, log_lines

Payload = dict[str, Any]
TARGET = "desk"
INTEGRATION_USER = "pandabridge"


@pytest.fixture
def clock() -> StoppedClock:
    return StoppedClock()


@contextlib.contextmanager
def running_stand_in(api_key: str, clock: StoppedClock) -> Iterator[BigPandaStandIn]:
    """BigPanda for one User API key on the stopped clock, with the link tag defined."""
    running = BigPandaStandIn(api_key, clock=clock).start()
    running.api.define_tag(DEFAULT_LINK_TAG)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def stand_in(clock: StoppedClock) -> Iterator[BigPandaStandIn]:
    """The stack's BigPanda org."""
    with running_stand_in(BIGPANDA_STAND_IN_KEY, clock) as running:
        yield running


@pytest.fixture
def two_way(
    aws: Aws,
    moto_server: MotoServer,
    stand_in: BigPandaStandIn,
    clock: StoppedClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[None]:
    """Ticket sync configured for a two-way ``http`` target, writing back to the stand-in;
    the org rate limit in moto's control table, on the stopped clock."""
    events_secret = f"desk-events/{uuid.uuid4()}"
    put_secret(moto_server.endpoint, events_secret, {"secret": "s" * 32})
    key_secret = f"bigpanda/{uuid.uuid4()}"  # Powertools caches secrets by name
    put_secret_string(moto_server.endpoint, key_secret, BIGPANDA_STAND_IN_KEY)
    config = tmp_path / "pandabridge.toml"
    config.write_text(
        f'[targets.{TARGET}]\nkind = "http"\nbase_url = "https://desk.example.com"\n'
        f'[targets.{TARGET}.two_way]\nevents_secret = "{events_secret}"\n'
        f'integration_user = "{INTEGRATION_USER}"\n'
    )
    for name, value in {
        Env.DESK_CONFIG_FILE: str(config),
        Env.TICKET_TARGET: "http",
        Env.TICKET_BASE_URL: "https://desk.example.com",
        Env.TICKET_SECRET_ID: "unused",
        Env.BIGPANDA_API_BASE: stand_in.api_base,
        Env.BIGPANDA_SECRET_ID: key_secret,
    }.items():
        monkeypatch.setenv(name, value)
    limiter = DynamoRateLimiter(CONTROL_TABLE.local_name, aws.dynamodb, clock=clock)
    monkeypatch.setattr(write_back, "rate_limiter", lambda: limiter)
    _clear_caches()
    yield
    _clear_caches()


def _clear_caches() -> None:
    for cached in (
        settings.ticket_target_settings,
        settings.bigpanda_api_settings,
        settings.control_table_settings,
        ticket_sync.desk_config,
        ticket_sync.ticket_states,
        queues.queue_control,
        write_back.echo_ledger,
        write_back.circuit_breaker,
        write_back.desk_events,
    ):
        cached.cache_clear()


@dataclass
class Queue:
    """The ticket-sync FIFO queue and the handler, run batch by batch as Lambda would."""

    aws: Aws
    endpoint: str
    clock: StoppedClock
    url: str = ""
    # Receipt handle -> when (on the clock) the handler's postponement lets it be seen again.
    postponed: dict[str, float] = field(default_factory=dict)
    batches: int = 0

    def __post_init__(self) -> None:
        self.url = queue_url(self.endpoint, TICKET_SYNC_QUEUE.local_name)

    def send(self, nudge: DeskEventNudge) -> None:
        self.aws.sqs.send_message(
            QueueUrl=self.url,
            MessageBody=nudge.model_dump_json(),
            MessageGroupId=fifo_id(nudge.incident_id),
            MessageDeduplicationId=uuid.uuid4().hex,
        )

    def run(self, *, max_batches: int = 2000) -> None:
        """Until the queue is empty: receive a batch and invoke the handler; when only
        postponed messages are left, let time pass until the first is due."""
        from ticket_sync.handler import handler

        while self.batches < max_batches:
            messages = self.aws.sqs.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=10,
                AttributeNames=["All"],
                MessageSystemAttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                if not self.postponed:
                    return
                self._let_time_pass()
                continue
            self.batches += 1
            records = [lambda_record(m, queue_arn(TICKET_SYNC_QUEUE.local_name)) for m in messages]
            answer = handler({"Records": records}, LambdaContext(function_name="ticket-sync"))
            failed = {item["itemIdentifier"] for item in answer["batchItemFailures"]}
            done = [r for r in records if r["messageId"] not in failed]
            for record in done:
                self.aws.sqs.delete_message(
                    QueueUrl=self.url, ReceiptHandle=record["receiptHandle"]
                )
        raise AssertionError(f"the queue did not drain in {max_batches} batches")

    def postponing(self, delays: Any) -> None:
        """Note the handler's postponements, in seconds from now on the clock."""
        for handle, seconds in delays:
            self.postponed[handle] = self.clock.now + seconds

    def _let_time_pass(self) -> None:
        self.clock.now = max(self.clock.now, min(self.postponed.values()))
        for handle, due in list(self.postponed.items()):
            if due > self.clock.now:
                continue
            del self.postponed[handle]
            # A short postponement may already have run out in real time, and the message been
            # received again under a new handle: the old one is then refused.
            with contextlib.suppress(self.aws.sqs.exceptions.ReceiptHandleIsInvalid):
                self.aws.sqs.change_message_visibility(
                    QueueUrl=self.url, ReceiptHandle=handle, VisibilityTimeout=0
                )

    def dead_letters(self) -> list[dict[str, Any]]:
        return self.aws.sqs.receive_message(
            QueueUrl=queue_url(self.endpoint, TICKET_SYNC_QUEUE.dlq_local_name),
            MaxNumberOfMessages=10,
        ).get("Messages", [])


@pytest.fixture
def queue(
    aws: Aws,
    moto_server: MotoServer,
    clock: StoppedClock,
    two_way: None,
    monkeypatch: pytest.MonkeyPatch,
) -> Queue:
    queue = Queue(aws, moto_server.endpoint, clock)
    postpone = QueueControl.postpone

    def noted(control: QueueControl, queue_arn: str, delays: Any) -> None:
        delays = list(delays)
        queue.postponing(delays)
        postpone(control, queue_arn, delays)

    monkeypatch.setattr(QueueControl, "postpone", noted)
    return queue


@dataclass
class Desk:
    """Incidents as ingest stores them and shared by BigPanda; desk events as the desk-events
    function stores and queues them."""

    aws: Aws
    stand_in: BigPandaStandIn
    queue: Queue
    sample: Payload
    events: int = 0

    def incident(self, number: int = 0) -> str:
        payload = copy.deepcopy(self.sample)
        payload["incident"]["id"] = f"{self.sample['incident']['id']}-{number}"
        ingest(parse_webhook(json.dumps(payload)), incident_store())
        return self.stand_in.api.share(payload)

    def event(self, incident_id: str, kind: str, **fields: Any) -> DeskEventNudge:
        """Store a desk event and queue its nudge; the nudge, to deliver again."""
        self.events += 1
        event = DeskEvent(
            target=TARGET,
            event_id=f"evt-{self.events}:{kind}",
            ticket_key=f"OPS-{self.events}",
            incident_key=incident_id,
            kind=kind,  # type: ignore[arg-type]
            actor=fields.pop("actor", "dana"),
            actor_name="Dana Levi",
            at=datetime.now(UTC).isoformat(),
            **fields,
        )
        DeskEventStore(CONTROL_TABLE.local_name, self.aws.dynamodb).save(event)
        nudge = DeskEventNudge(target=TARGET, event_id=event.event_id, incident_id=incident_id)
        self.queue.send(nudge)
        return nudge


@pytest.fixture
def desk(aws: Aws, stand_in: BigPandaStandIn, queue: Queue, sample: Payload) -> Desk:
    return Desk(aws, stand_in, queue, sample)


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    from ticket_sync.handler import logger

    with captured_logs(logger) as stream:
        yield stream


def test_a_desk_resolve_is_one_bigpanda_resolve_on_redelivery(
    desk: Desk, queue: Queue, stand_in: BigPandaStandIn
) -> None:
    # Given a desk resolve queued, and queued again (a redelivery past SQS deduplication)
    incident = desk.incident()
    nudge = desk.event(incident, "resolved")
    queue.send(nudge)
    # When ticket sync runs
    queue.run()
    # Then BigPanda received one resolve
    assert [w.incident_id for w in stand_in.api.writes("resolve")] == [incident]


def test_a_desk_resolve_of_an_incident_resolved_meanwhile_is_done(
    desk: Desk, queue: Queue, stand_in: BigPandaStandIn
) -> None:
    # Given an incident BigPanda resolved itself, and the desk's resolve queued twice
    incident = desk.incident()
    path = f"/environments/{ALL_ENVIRONMENT_ID}/incidents/{incident}/resolve"
    stand_in.api.answer("POST", path, {}, {"comments": "resolved in BigPanda"})
    desk.event(incident, "resolved")
    desk.event(incident, "resolved")
    # When ticket sync runs
    queue.run()
    # Then BigPanda's own resolve is the only one
    assert [w.body for w in stand_in.api.writes("resolve")] == [
        {"comments": "resolved in BigPanda"}
    ]


def test_a_desk_comment_is_one_attributed_bigpanda_comment(
    desk: Desk, queue: Queue, stand_in: BigPandaStandIn, logs: io.StringIO, capsys: Any
) -> None:
    # Given an agent's comment queued, and delivered again
    incident = desk.incident()
    queue.send(desk.event(incident, "commented", comment="disk replaced"))
    # When ticket sync runs
    queue.run()
    # Then BigPanda holds it once, attributed; counted as mirrored once
    assert [w.body["comment"] for w in stand_in.api.writes("comment")] == [
        "[OPS-1] Dana Levi: disk replaced"
    ]
    assert emitted_metrics(capsys.readouterr().out)[Metric.DESK_EVENT_MIRRORED] == [1.0]


def test_an_event_of_our_integration_user_writes_nothing(
    desk: Desk, queue: Queue, stand_in: BigPandaStandIn
) -> None:
    incident = desk.incident()
    desk.event(incident, "commented", comment="ours", actor=INTEGRATION_USER)
    queue.run()
    assert stand_in.api.writes() == []


# 200 resolves are 400 Incidents API calls (a GET, then the resolve): at 150 a minute, the
# burst cannot drain in less than 160 s; waiting for what the limiter asks (plus jitter) keeps
# it within twice that (an exponential backoff took about 1,000 s).
BURST = 200
BURST_DRAIN_BOUND_SECONDS = 320


def test_a_burst_of_200_resolves_stays_under_the_limits_with_no_dlq(
    desk: Desk, queue: Queue, stand_in: BigPandaStandIn, clock: StoppedClock, logs: io.StringIO
) -> None:
    # Given 200 incidents resolved in the desk at once
    incidents = [desk.incident(number) for number in range(BURST)]
    for incident in incidents:
        desk.event(incident, "resolved")
    started = clock.now
    # When ticket sync works through them
    queue.run()
    drained = clock.now - started
    print(f"a burst of {BURST} resolves drained in {drained:.0f} s of the test clock")
    # Then each incident was resolved once, no call met a 429, nothing reached the DLQ, and
    # the messages that waited for the rate limit waited without counting as failures
    assert sorted(w.incident_id for w in stand_in.api.writes("resolve")) == sorted(incidents)
    assert queue.dead_letters() == []
    assert [line for line in log_lines(logs) if line["level"] in ("WARNING", "ERROR")] == []
    waited = [line for line in log_lines(logs, level="INFO") if line["message"] == "waits"]
    assert waited, "the burst never met the rate limit"
    # and the burst drained about as fast as the rate limit allows
    assert drained <= BURST_DRAIN_BOUND_SECONDS, f"drained in {drained:.0f} s"


OPS_KEY = "ops-user-api-key-5b1f0c3a"


@pytest.fixture
def ops_stand_in(clock: StoppedClock) -> Iterator[BigPandaStandIn]:
    """A second BigPanda org, the integration ``ops``'s, with its own User API key."""
    with running_stand_in(OPS_KEY, clock) as running:
        yield running


@pytest.fixture
def ops_integration(
    two_way: None,
    ops_stand_in: BigPandaStandIn,
    moto_server: MotoServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The integration ``ops`` with its own API base and key secret, as the stack renders it
    for the ticket-sync function."""
    secret = f"ops-bigpanda/{uuid.uuid4()}"
    put_secret_string(moto_server.endpoint, secret, OPS_KEY)
    ops = {"api_base": ops_stand_in.api_base, "key_secret": secret}
    monkeypatch.setenv(Env.BIGPANDA_INTEGRATIONS, json.dumps({"ops": ops}))
    _clear_caches()


def test_a_desk_comment_on_an_integrations_incident_goes_to_that_integrations_bigpanda(
    ops_integration: None,
    desk: Desk,
    queue: Queue,
    stand_in: BigPandaStandIn,
    ops_stand_in: BigPandaStandIn,
    sample: Payload,
) -> None:
    # Given an incident of the integration "ops", stored under its scoped key and shared by
    # ops's BigPanda org
    payload = copy.deepcopy(sample)
    ingest(parse_webhook(json.dumps(payload)), incident_store(), integration="ops")
    incident = ops_stand_in.api.share(payload)
    # When an agent's comment on its ticket is mirrored
    desk.event(f"ops#{incident}", "commented", comment="disk replaced")
    queue.run()
    # Then ops's BigPanda (its API base, with its key) holds the comment on BigPanda's own id,
    # and the stack's default account got nothing
    assert [(w.incident_id, w.body["comment"]) for w in ops_stand_in.api.writes("comment")] == [
        (incident, "[OPS-1] Dana Levi: disk replaced")
    ]
    assert stand_in.api.writes() == []


def test_a_refused_link_step_names_bigpanda_and_the_link_tag_setting(
    logs: io.StringIO,
) -> None:
    # Given a sync whose ticket link BigPanda refused for a missing tag definition
    from ticket_sync.handler import report_failed_steps

    setting = f"targets.{TARGET}.two_way.link_tag"
    failure = StepFailure("link", "no incident tag definition", setting, datetime.now(UTC))
    report = SyncReport(incident_id="i-1", ticket=None, failed_steps=(failure,))
    # When the handler reports the refused steps
    report_failed_steps(report, "OPS-1")
    # Then its WARNING says BigPanda refused the link, and names the link tag setting
    [warning] = [line["message"] for line in log_lines(logs) if line["level"] == "WARNING"]
    assert "BigPanda refused the ticket link" in warning
    assert "the desk" not in warning
    assert setting in warning
