"""The local stack as one object: AWS on a moto server, the functions, the local gateway, the
pipe and queue pollers that play what Lambda and EventBridge do, the ticket target and BigPanda's
API (a stand-in unless another URL is given).

Each part starts with its own method, so that the caller can time and report every step,
and ``stop`` takes down whatever has started, last started first.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from local import defaults
from local.aws import (
    MotoServer,
    client_environment,
    create_resources,
    function_environment,
    get_secret_string,
    put_secret,
    put_secret_string,
    queue_arn,
    queue_url,
)
from local.demo.agent import TalkBack
from local.demo.bigpanda import BigPandaStandIn
from local.demo.journey import Journey
from local.demo.readback import CallbackConfirmations, stored_receipt
from local.demo.service_desk import DemoDesk
from local.desk_config import LOCAL_TARGET, write_local_config
from local.fakes.bigpanda_api import DEFAULT_SHARE_TARGET as STAND_IN_SHARE_TARGET
from local.fakes.jira import DEFAULT_API_TOKEN as JIRA_API_TOKEN
from local.fakes.jira import DEFAULT_EMAIL as JIRA_EMAIL
from local.fakes.jira import JiraFake
from local.fakes.servicenow import ServiceNowFake
from local.functions import CALLBACK, DESK_EVENTS, INGEST, RECONCILER, TICKET_SYNC, LocalFunction
from local.gateway import LocalGateway, Route
from local.integrations import LocalIntegrations, integration_path
from local.names import (
    CALLBACK_QUEUE,
    CONTROL_TABLE,
    INCIDENTS_TABLE,
    PAYLOAD_BUCKET,
    TICKET_SYNC_QUEUE,
    TICKETS_TABLE,
    QueueSpec,
)
from local.pipe import StreamPipe
from local.poller import EventSource, OnBatch, QueuePoller
from local.reconcile_timer import ReconcileTimer
from pandabridge.auth import TokenSecretError, valid_tokens
from pandabridge.desk_config import load_config
from pandabridge.names import (
    DEFAULT_LINK_TAG,
    DESK_EVENTS_PATH,
    DESK_EVENTS_TARGET_PARAMETER,
    SERVICE_NAME,
    WEBHOOK_PATH,
    Env,
)
from pandabridge.settings import TargetKind
from stacks.limits import StackLimits


@dataclass(frozen=True)
class TicketTargetOptions:
    """Where tickets go: a local desk of ``kind`` (no ``url``: the demo desk for ``http``, the
    Jira or ServiceNow fake), or a real desk and its credentials; and the desk configuration
    file, pointed at that desk."""

    kind: TargetKind = "http"
    url: str | None = None
    credentials: Mapping[str, Any] = field(default_factory=dict)
    config_file: Path = defaults.DESK_CONFIG_FILE

    @property
    def demo(self) -> bool:
        return self.url is None


@dataclass(frozen=True)
class BigPandaOptions:
    """Where callbacks go: the stand-in (no ``url``), or another BigPanda API; and the keys."""

    url: str | None = None
    api_key: str = defaults.BIGPANDA_API_KEY
    app_key: str = defaults.BIGPANDA_APP_KEY

    @property
    def stand_in(self) -> bool:
        return self.url is None


@dataclass(frozen=True)
class StackOptions:
    """Where the stack listens and how it talks."""

    host: str = defaults.HOST
    port: int = defaults.GATEWAY_PORT
    moto_port: int = defaults.MOTO_PORT
    desk_port: int = defaults.DESK_PORT
    bigpanda_port: int = defaults.BIGPANDA_PORT
    api_key: str = defaults.API_KEY
    bearer_token: str = defaults.BEARER_TOKEN
    tickets: TicketTargetOptions = field(default_factory=TicketTargetOptions)
    bigpanda: BigPandaOptions = field(default_factory=BigPandaOptions)
    # An AWS endpoint that is already serving (a moto server that outlives the stack) instead
    # of a moto server of the stack's own; its resources are created if missing, else reused.
    aws_endpoint: str | None = None
    # The queues' visibility timeout instead of the deployed one (see ``create_resources``).
    queue_visibility_seconds: int | None = None
    # Extra environment for the functions (log level, metrics output); a value that is
    # already set in the environment wins, so a developer can override any of them.
    function_overrides: Mapping[str, str] | None = None
    # How often the reconciler runs (EventBridge Scheduler's part); 0: not at all.
    reconcile_every_seconds: float = defaults.RECONCILE_EVERY_SECONDS


def demo_desk_credentials() -> dict[str, str]:
    """What ticket sync's secret holds for a demo desk (the http contract's HMAC key)."""
    return {"hmac_secret": defaults.DESK_SECRET}


class LocalStack:
    """Starts and stops the parts of the local stack in order."""

    def __init__(self, options: StackOptions, journey: Journey | None = None) -> None:
        self.options = options
        self.journey = journey
        self.moto: MotoServer | None = None
        self.gateway: LocalGateway | None = None
        self.desk: DemoDesk | None = None
        # The Jira or ServiceNow fake, when one is the local desk.
        self.fake_desk: JiraFake | ServiceNowFake | None = None
        self.desk_config_file: Path | None = None
        self.bigpanda: BigPandaStandIn | None = None
        # The configuration file's integrations besides default, and a demo desk per other
        # routed target (by target name).
        # Read with the desk configuration (``start_tickets``), which names them.
        self.integrations = LocalIntegrations(None)
        self.routed_desks: dict[str, DemoDesk] = {}
        self.reconcile_timer: ReconcileTimer | None = None
        self._stops: list[tuple[str, Callable[[], None]]] = []

    @property
    def aws_endpoint(self) -> str:
        if self.options.aws_endpoint is not None:
            return self.options.aws_endpoint
        if self.moto is None:
            raise RuntimeError("the moto server is not started")
        return self.moto.endpoint

    @property
    def webhook_url(self) -> str:
        if self.gateway is None:
            raise RuntimeError("the gateway is not started")
        return self.gateway.url(WEBHOOK_PATH)

    @property
    def ticket_url(self) -> str:
        """The ticket target's base URL: the demo desk's once started, or the real desk's."""
        if self.options.tickets.url is not None:
            return self.options.tickets.url
        desk = self.desk or self.fake_desk
        if desk is None:
            raise RuntimeError("the local desk is not started")
        return desk.url

    @property
    def bigpanda_url(self) -> str:
        """BigPanda's API base for the callback function: the stand-in's, or the one given."""
        if self.options.bigpanda.url is not None:
            return self.options.bigpanda.url
        if self.bigpanda is None:
            raise RuntimeError("the BigPanda stand-in is not started")
        return self.bigpanda.api_base

    def start_aws(self) -> str:
        """Start the moto server, unless one is already serving at ``aws_endpoint``, and point
        boto3 and the functions at it; returns its URL."""
        if self.options.aws_endpoint is None:
            self.moto = MotoServer(host=self.options.host, port=self.options.moto_port).start()
            self._stops.append(("moto server", self.moto.stop))
        os.environ.update(client_environment(self.aws_endpoint))
        os.environ.update(function_environment(self.aws_endpoint))
        for name, value in (self.options.function_overrides or {}).items():
            os.environ.setdefault(name, value)
        return self.aws_endpoint

    def create_resources(self) -> str:
        """Create the tables, bucket and queues (those that are missing, on an endpoint already
        serving); returns what there is, for the step line."""
        visibility = self.options.queue_visibility_seconds
        create_resources(self.aws_endpoint, visibility_seconds=visibility)
        tables = ", ".join(t.local_name for t in (INCIDENTS_TABLE, TICKETS_TABLE, CONTROL_TABLE))
        queues = f"{TICKET_SYNC_QUEUE.local_name}, {CALLBACK_QUEUE.local_name} (+ DLQs)"
        if visibility is not None:
            queues += f", visibility timeout {visibility} s"
        return f"tables {tables}; bucket {PAYLOAD_BUCKET.local_name}; queues {queues}"

    def store_bearer_token(self) -> str:
        """Put the bearer token into its secret, in the JSON shape the stack generates, for
        the gateway to read at start. Returns where it is, for the step line (no token)."""
        value = {defaults.BEARER_SECRET_KEY: self.options.bearer_token}
        put_secret(self.aws_endpoint, defaults.BEARER_SECRET_NAME, value)
        return f"secret {defaults.BEARER_SECRET_NAME}, checked on POST {WEBHOOK_PATH}"

    def bearer_tokens(self) -> tuple[str, ...]:
        """The valid tokens the secret holds, read as the authorizer reads them.

        ``TokenSecretError`` names the flag that sets the token, not the deployed setting.
        """
        try:
            return valid_tokens(get_secret_string(self.aws_endpoint, defaults.BEARER_SECRET_NAME))
        except TokenSecretError as error:
            raise TokenSecretError(error.reason, "--bearer-token") from None

    def start_tickets(self) -> str:
        """Start the local desk unless a real one is the target; store the target's
        credentials, write the desk configuration pointed at it, and point ticket sync at both.
        Returns the target, for the step line."""
        tickets = self.options.tickets
        credentials = dict(tickets.credentials)
        where = f"{tickets.kind} desk"
        if tickets.demo:
            credentials, where = self._start_local_desk(tickets.kind)
        put_secret(self.aws_endpoint, defaults.TICKET_SECRET_NAME, credentials)
        self.integrations = LocalIntegrations(load_config(tickets.config_file))
        routed = self._start_routed_desks()
        self.integrations.store_target_secrets(
            self.aws_endpoint, credentials, demo_desk_credentials()
        )
        put_secret(
            self.aws_endpoint,
            defaults.DESK_EVENTS_SECRET_NAME,
            {"secret": defaults.DESK_EVENTS_SECRET},
        )
        directory = Path(tempfile.mkdtemp(prefix="pandabridge-local-"))
        self._stops.append(
            ("desk configuration", partial(shutil.rmtree, directory, ignore_errors=True))
        )
        self.desk_config_file, _ = write_local_config(
            tickets.config_file,
            tickets.kind,
            self.ticket_url,
            directory,
            fake=tickets.demo,
            routed=routed,
            share_target=STAND_IN_SHARE_TARGET if self.options.bigpanda.stand_in else None,
        )
        os.environ.update(
            {
                Env.TICKET_TARGET: tickets.kind,
                Env.TICKET_BASE_URL: self.ticket_url,
                Env.TICKET_SECRET_ID: defaults.TICKET_SECRET_NAME,
                Env.DESK_CONFIG_FILE: str(self.desk_config_file),
            }
        )
        desks = "".join(f", {name} demo desk at {url}" for name, url in routed.items())
        return f"{where} at {self.ticket_url}{desks}"

    def _start_routed_desks(self) -> dict[str, str]:
        """A demo desk, on a free port, for each routed target besides the file's default."""
        urls = {}
        for name in self.integrations.routed_desks():
            on_change = self.journey.ticket_changed if self.journey else None
            desk = DemoDesk(
                defaults.DESK_SECRET, host=self.options.host, port=0, on_change=on_change
            ).start()
            self.routed_desks[name] = desk
            self._stops.append((f"{name} demo desk", desk.stop))
            urls[name] = desk.url
        return urls

    def _start_local_desk(self, kind: TargetKind) -> tuple[dict[str, str], str]:
        """Start the local desk of ``kind``; its credentials and its name for the step line."""
        host, port = self.options.host, self.options.desk_port
        if kind == "jira":
            jira = JiraFake(host=host, port=port).start()
            self.fake_desk = jira
            self._stops.append(("Jira fake", jira.stop))
            return {"email": JIRA_EMAIL, "api_token": JIRA_API_TOKEN}, "Jira fake"
        if kind == "servicenow":
            snow = ServiceNowFake(
                username=defaults.SERVICENOW_USER,
                password=defaults.SERVICENOW_PASSWORD,
                host=host,
                port=port,
            ).start()
            self.fake_desk = snow
            self._stops.append(("ServiceNow fake", snow.stop))
            credentials = {
                "username": defaults.SERVICENOW_USER,
                "password": defaults.SERVICENOW_PASSWORD,
            }
            return credentials, "ServiceNow fake"
        on_change = self.journey.ticket_changed if self.journey else None
        self.desk = DemoDesk(
            defaults.DESK_SECRET, host=host, port=port, on_change=on_change
        ).start()
        self._stops.append(("demo desk", self.desk.stop))
        return demo_desk_credentials(), "demo service desk"

    def start_bigpanda(self) -> str:
        """Start the BigPanda stand-in unless another API is the target; store the User API key
        and point the callback function at the API. Returns the target, for the step line."""
        options = self.options.bigpanda
        if options.stand_in:
            self.bigpanda = BigPandaStandIn(
                options.api_key, host=self.options.host, port=self.options.bigpanda_port
            ).start()
            self._stops.append(("bigpanda stand-in", self.bigpanda.stop))
            # The local desk talks back: write-back tags each new incident with its ticket.
            self.bigpanda.api.define_tag(DEFAULT_LINK_TAG)
        put_secret_string(self.aws_endpoint, defaults.BIGPANDA_SECRET_NAME, options.api_key)
        self.integrations.store_secrets(
            self.aws_endpoint, self.options.bearer_token, options.api_key
        )
        os.environ.update(
            {
                Env.BIGPANDA_API_BASE: self.bigpanda_url,
                Env.BIGPANDA_APP_KEY: options.app_key,
                Env.BIGPANDA_SECRET_ID: defaults.BIGPANDA_SECRET_NAME,
                **self.integrations.environment(self.bigpanda_url, options.app_key),
            }
        )
        where = "API stand-in" if options.stand_in else "API"
        return f"callbacks to the BigPanda {where} at {self.bigpanda_url}"

    def load_functions(self) -> str:
        """Import the handlers now (cold start), so an import error stops the start-up."""
        functions = (INGEST, TICKET_SYNC, CALLBACK, DESK_EVENTS, RECONCILER)
        for function in functions:
            function.load()
        return ", ".join(function.handler for function in functions)

    def start_gateway(self) -> str:
        """Serve the API, with the tokens of the bearer token secret; returns the webhook URL."""
        invoke, on_answer = INGEST.invoke, None
        if self.journey is not None:
            invoke = self.journey.observe(INGEST.invoke, stored_receipt)
            on_answer = self.journey.delivered
        routes = [Route("POST", WEBHOOK_PATH, invoke, on_answer=on_answer)] + [
            Route("POST", path, invoke, on_answer=on_answer, integration=name)
            for name, path in self.integrations.paths().items()
        ]
        tokens = self.integrations.tokens(self.bearer_tokens(), self.options.bearer_token)
        self.gateway = LocalGateway(
            [
                *routes,
                # A desk proves itself to the function, as in the stack: no key, no authorizer.
                Route(
                    "POST",
                    DESK_EVENTS_PATH,
                    DESK_EVENTS.invoke,
                    api_key_required=False,
                    bearer_auth=False,
                ),
            ],
            self.options.api_key,
            bearer_tokens=tokens,
            host=self.options.host,
            port=self.options.port,
            health={
                "aws_endpoint": self.aws_endpoint,
                "ticket_url": self.ticket_url,
                "bigpanda_url": self.bigpanda_url,
                **self._integration_health(),
            },
        ).start()
        self._stops.append(("gateway", self.gateway.stop))
        self._connect_desk_events()
        others = [self.gateway.url(path) for path in self.integrations.paths().values()]
        return ", ".join([self.webhook_url, *others])

    def _integration_health(self) -> dict[str, str]:
        """The integrations' paths and routed desks, for the health answer (a developer and
        the tests find them there); nothing when the file has no integrations."""
        if not self.integrations.names and not self.routed_desks:
            return {}
        paths = {name: integration_path(name) for name in self.integrations.names}
        desks = {name: desk.url for name, desk in self.routed_desks.items()}
        return {"integrations": json.dumps(paths), "routed_desks": json.dumps(desks)}

    @property
    def desk_events_url(self) -> str:
        """Where the local desk posts its events (the target is the local configuration's)."""
        if self.gateway is None:
            raise RuntimeError("the gateway has not started")
        path = DESK_EVENTS_PATH.replace("{" + DESK_EVENTS_TARGET_PARAMETER + "}", LOCAL_TARGET)
        return self.gateway.url(path)

    def _connect_desk_events(self) -> None:
        """Point the Jira fake's webhook, or the ServiceNow fake's business rule, or the demo
        desk's agent buttons, at the desk-events route, with the events secret."""
        secret = defaults.DESK_EVENTS_SECRET
        if isinstance(self.fake_desk, JiraFake):
            self.fake_desk.register_webhook(self.desk_events_url, secret)
        elif isinstance(self.fake_desk, ServiceNowFake):
            self.fake_desk.install_rule(self.desk_events_url, secret)
        elif self.desk is not None:
            self.desk.talk_back = TalkBack(self.desk_events_url, secret)

    def start_pipe(self) -> str:
        """Follow the incidents table's stream into the ticket-sync queue, as the pipe does."""
        pipe = StreamPipe(
            self.aws_endpoint,
            table_name=INCIDENTS_TABLE.local_name,
            queue_url=queue_url(self.aws_endpoint, TICKET_SYNC_QUEUE.local_name),
            on_queued=self.journey.queued if self.journey else None,
        ).start()
        self._stops.append(("stream pipe", pipe.stop))
        return f"{INCIDENTS_TABLE.local_name} stream -> {TICKET_SYNC_QUEUE.local_name}"

    def start_pollers(self) -> str:
        """Feed each queue to its function, as the event source mappings do."""
        on_sync: OnBatch | None = None
        on_callback: OnBatch | None = None
        if self.journey is not None:
            confirmed_at = CallbackConfirmations(self.aws_endpoint).confirmed_at
            on_sync = self.journey.batch_done
            on_callback = partial(self.journey.callback_done, confirmed_at=confirmed_at)
        sync = self._poll(
            TICKET_SYNC_QUEUE, TICKET_SYNC, StackLimits.TICKET_SYNC_BATCH_SIZE, on_sync
        )
        callback = self._poll(
            CALLBACK_QUEUE, CALLBACK, StackLimits.CALLBACK_BATCH_SIZE, on_callback
        )
        return f"{sync}; {callback}"

    def _poll(
        self, queue: QueueSpec, function: LocalFunction, batch_size: int, on_batch: OnBatch | None
    ) -> str:
        # One poller, so one execution environment, per queue: the deployed concurrency caps
        # matter for BigPanda's rate limit, not for a local run.
        source = EventSource(
            queue_url=queue_url(self.aws_endpoint, queue.local_name),
            queue_arn=queue_arn(queue.local_name),
            batch_size=batch_size,
        )
        poller = QueuePoller(
            function.name, function.invoke, source, endpoint=self.aws_endpoint, on_batch=on_batch
        ).start()
        label = function.name.removeprefix(f"{SERVICE_NAME}-")
        self._stops.append((f"{label} poller", poller.stop))
        return f"{queue.local_name} -> {function.name} (batches of {batch_size})"

    def drop_delivery(self, payload: dict[str, Any]) -> str:
        """BigPanda (the stand-in) shares the incident and drops its delivery: it never reaches
        the gateway. Returns the incident id."""
        if self.bigpanda is None:
            raise RuntimeError("--drop-delivery needs the BigPanda stand-in (no --bigpanda-url)")
        self.bigpanda.api.drop_next_deliveries(1)
        self.bigpanda.deliver(payload, lambda _body: None)
        return str(payload["incident"]["id"])

    def start_reconciler(self) -> str:
        """Run the reconciler every ``reconcile_every_seconds``, as the schedule does."""
        period = self.options.reconcile_every_seconds
        if period <= 0:
            return "off (--reconcile-every 0)"
        on_run = None
        if self.journey is not None:
            on_run = partial(self.journey.reconciled, received_at=stored_receipt)
        self.reconcile_timer = ReconcileTimer(RECONCILER, period, on_run=on_run).start()
        self._stops.append(("reconciler timer", self.reconcile_timer.stop))
        return f"{RECONCILER.name} every {period:g} s (the BigPanda stand-in's search)"

    def stop(self) -> list[str]:
        """Stop what has started, in reverse order; returns the names of what was stopped."""
        stopped = []
        while self._stops:
            name, stop = self._stops.pop()
            stop()
            stopped.append(name)
        return stopped
