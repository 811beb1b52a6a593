"""Cold start: what each function pays to import its handler and build its AWS clients in a
fresh interpreter, against a bare function that only creates the boto3 clients it needs.

Every figure comes from a child interpreter started for that one measurement, under the
environment the stack gives the function plus what the Lambda runtime adds (``LAMBDA_TASK_ROOT``
among it: with it the X-Ray SDK samples locally and creates no X-Ray client, as in Lambda).
Handler and baseline runs alternate, so load on the machine hits both alike, and only their
ratio within one run is compared. The child times itself with ``perf_counter``, so the
interpreter's own start-up, which both pay alike, is left out.

The first invocation runs against a moto server, the demo service desk and the BigPanda
stand-in, started once by this process; each run gets an incident of its own, so every run
does the full work of a first delivery (store it, create its ticket, confirm it).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Final

from bench.report import Table

ROOT: Final = Path(__file__).resolve().parent.parent
LAMBDAS: Final = ROOT / "lambdas"
SAMPLE_EVENT: Final = ROOT / "events" / "apigateway" / "test-console-sample.json"

RUNS: Final = 15
QUICK_RUNS: Final = 3
TARGET_RATIO: Final = 1.5
TOP_MODULES: Final = 5
# The result line among whatever the handler itself prints (logs, EMF metrics) on stdout.
MARKER: Final = "@@cold-start@@ "

# Runs in the child. Before the clock starts it imports only what the handler and the bare
# baseline both import anyway (json through boto3), so each pays for everything it pulls in.
CHILD: Final = r"""
import importlib, json, os, resource, sys, time

spec = json.load(sys.stdin)
start = time.perf_counter()
start_cpu = time.process_time()
module = importlib.import_module(spec["module"])
for target in spec["builders"]:
    owner, _, name = target.partition(":")
    getattr(importlib.import_module(owner), name)()
init = time.perf_counter() - start
init_cpu = time.process_time() - start_cpu

invocation = None
answer = None
if spec["event"] is not None:
    class Context:
        function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        function_version = "$LATEST"
        memory_limit_in_mb = int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
        aws_request_id = spec["request_id"]
        invoked_function_arn = spec["function_arn"]
        log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]

        @staticmethod
        def get_remaining_time_in_millis():
            return 30000

    handler = getattr(module, spec["attribute"])
    start = time.perf_counter()
    answer = handler(spec["event"], Context())
    invocation = time.perf_counter() - start

try:
    with open("/proc/self/status") as status:
        rss = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
except OSError:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
sys.stdout.flush()
print(MARKER + json.dumps({"init": init, "init_cpu": init_cpu, "invocation": invocation,
                           "rss_kb": rss, "answer": answer}), flush=True)
""".replace("MARKER", repr(MARKER))


@dataclass(frozen=True)
class Run:
    init_ms: float
    init_cpu_ms: float
    invocation_ms: float | None
    rss_mb: float
    answer: Any


@dataclass(frozen=True)
class Function:
    """One function as the stack deploys it, and what its first invocation needs."""

    name: str
    handler: str  # as in the function configuration: module.attribute under lambdas/
    baseline: str  # the bare module under bench/bare/
    # What the handler calls to build its AWS clients, called after the import so that a
    # client built lazily on first use is still counted in "init".
    builders: tuple[str, ...]
    memory_mb: int
    environment: Mapping[str, str]
    # A fresh event for run n (each run gets its own incident) and whether the answer is right.
    event: Callable[[int], dict[str, Any]]
    succeeded: Callable[[Any], bool]

    @property
    def module(self) -> str:
        return self.handler.rpartition(".")[0]

    @property
    def attribute(self) -> str:
        return self.handler.rpartition(".")[2]


def lambda_environment(
    function_name: str, handler: str, memory_mb: int, task_root: Path
) -> dict[str, str]:
    """What the Lambda runtime sets for every function, with dummy credentials."""
    return {
        "LAMBDA_TASK_ROOT": str(task_root),
        "LAMBDA_RUNTIME_DIR": str(task_root),
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.14",
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/01/01/[$LATEST]0123456789abcdef",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "_HANDLER": handler,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_SESSION_TOKEN": "bench",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        # Segments go over UDP to the daemon's port, as in Lambda; nothing listens here.
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "_X_AMZN_TRACE_ID": "Root=1-6745a1b2-0123456789abcdef01234567;Parent=0123456789abcdef;"
        "Sampled=1",
        # The task root is read-only in Lambda: no bytecode is written there.
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def child_environment(function: Function, local: Stage) -> dict[str, str]:
    """A clean environment: nothing of this process's leaks into the child but PATH."""
    from local.aws import client_environment

    base = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8", "TZ": "UTC"}
    return (
        base
        | lambda_environment(function.name, function.handler, function.memory_mb, local.task_root)
        | client_environment(local.endpoint)
        | dict(function.environment)
    )


def run_child(
    module: str,
    attribute: str,
    builders: tuple[str, ...],
    environment: Mapping[str, str],
    event: dict[str, Any] | None,
) -> Run:
    spec = {
        "module": module,
        "attribute": attribute,
        "builders": list(builders),
        "event": event,
        "request_id": str(uuid.uuid4()),
        "function_arn": "arn:aws:lambda:us-east-1:123456789012:function:"
        + environment.get("AWS_LAMBDA_FUNCTION_NAME", "bench"),
    }
    done = subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-c", CHILD],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        env=dict(environment),
        cwd=environment["LAMBDA_TASK_ROOT"],
        check=False,
        timeout=120,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARKER)]
    if done.returncode or not lines:
        output = done.stdout[-2000:] + done.stderr[-4000:]
        raise RuntimeError(f"{module}: the child failed\n{output}")
    result = json.loads(lines[-1].removeprefix(MARKER))
    return Run(
        init_ms=result["init"] * 1000,
        init_cpu_ms=result["init_cpu"] * 1000,
        invocation_ms=None if result["invocation"] is None else result["invocation"] * 1000,
        rss_mb=result["rss_kb"] / 1024,
        answer=result["answer"],
    )


def import_times(environment: Mapping[str, str], module: str) -> list[tuple[str, float, float]]:
    """(module, cumulative ms, self ms) of every module imported, from ``-X importtime``."""
    done = subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-X", "importtime", "-c", f"import {module}"],
        capture_output=True,
        text=True,
        env=dict(environment),
        cwd=environment["LAMBDA_TASK_ROOT"],
        check=True,
        timeout=120,
    )
    rows = []
    for line in done.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        own, cumulative, name = line.removeprefix("import time:").split("|", 2)
        rows.append((name.rstrip(), int(cumulative) / 1000, int(own) / 1000))
    return rows


def top_modules(
    rows: list[tuple[str, float, float]], module: str, count: int
) -> list[tuple[str, float, str | None]]:
    """The heaviest imports made by ``module``, each counted once (a module imported inside
    one already listed is skipped, so no time is counted twice), with the heaviest import
    inside each, to say what makes it heavy."""
    # importtime prints a module after the ones it imported, indented one step deeper, so a
    # module's importer is the next line below it that is less indented.
    depths = [len(name) - len(name.lstrip()) for name, _, _ in rows]
    parents = [
        next((j for j in range(i + 1, len(rows)) if depths[j] < depths[i]), None)
        for i in range(len(rows))
    ]

    def ancestors(index: int) -> Iterator[int]:
        parent = parents[index]
        while parent is not None:
            yield parent
            parent = parents[parent]

    root = next(i for i, (name, _, _) in enumerate(rows) if name.strip() == module)
    chosen: list[int] = []
    for index in sorted(range(len(rows)), key=lambda i: rows[i][1], reverse=True):
        lineage = set(ancestors(index))
        if root in lineage and not lineage & set(chosen):
            chosen.append(index)
            if len(chosen) == count:
                break

    def heaviest_child(index: int) -> str | None:
        children = [j for j in range(len(rows)) if parents[j] == index]
        if not children:
            return None
        child = max(children, key=lambda j: rows[j][1])
        return f"{rows[child][0].strip()} {rows[child][1]:.1f}"

    return [(rows[i][0].strip(), rows[i][1], heaviest_child(i)) for i in chosen]


# --- the local stand-ins and the events ---------------------------------------------------


@dataclass
class Stage:
    """The running stand-ins and what the functions' first invocations need from them."""

    endpoint: str
    # A copy of the code asset: the stack ships no bytecode, so every cold start in Lambda
    # compiles the project's modules, and so does every run here.
    task_root: Path
    environments: dict[str, dict[str, str]]
    events: dict[str, Callable[[int], dict[str, Any]]]


# Made-up credentials that only the local stand-ins check.
BEARER_TOKEN: Final = "Bench0token0of0forty0characters000000000"  # noqa: S105
BIGPANDA_KEY: Final = "bench-bigpanda-user-api-key"
DESK_SECRET: Final = "bench-desk-secret"  # noqa: S105
DESK_EVENTS_SECRET_NAME: Final = "bench/desk-events"  # noqa: S105 - a name
DESK_EVENTS_SECRET: Final = "bench-desk-events-secret-0123456789"  # noqa: S105


@contextmanager
def stage(runs: int) -> Iterator[Stage]:
    """Start moto, the demo desk and the BigPanda stand-in; store what the runs will need."""
    # Imported here: moto and the CDK are heavy, and only the parent ever needs them.
    from local.aws import (
        MotoServer,
        aws_client,
        create_resources,
        function_environment,
        put_secret,
        put_secret_string,
        queue_arn,
        queue_url,
    )
    from local.demo.bigpanda import BigPandaStandIn
    from local.demo.service_desk import DemoDesk
    from local.poller import lambda_record
    from pandabridge.fifo import fifo_id
    from pandabridge.names import Env
    from stacks.functions import CODE_EXCLUDES

    # The local servers log every request; only the tables belong on the terminal.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with ExitStack() as stack:
        moto = MotoServer().start()
        stack.callback(moto.stop)
        desk = DemoDesk(DESK_SECRET).start()
        stack.callback(desk.stop)
        bigpanda = BigPandaStandIn(BIGPANDA_KEY).start()
        stack.callback(bigpanda.stop)
        endpoint = moto.endpoint
        task_root = Path(stack.enter_context(tempfile.TemporaryDirectory())) / "task"
        asset_excludes = (pattern.removeprefix("**/") for pattern in CODE_EXCLUDES)
        shutil.copytree(LAMBDAS, task_root, ignore=shutil.ignore_patterns(*asset_excludes))
        create_resources(endpoint)
        secrets = {
            "ticket": put_secret(endpoint, "bench/ticket-target", {"hmac_secret": DESK_SECRET}),
            "bigpanda": put_secret_string(endpoint, "bench/bigpanda", BIGPANDA_KEY),
            "bearer": put_secret(endpoint, "bench/bearer", {"token": BEARER_TOKEN}),
        }
        put_secret(endpoint, DESK_EVENTS_SECRET_NAME, {"secret": DESK_EVENTS_SECRET})
        environments = stack_environments(
            function_environment(endpoint), secrets, desk.url, bigpanda.api_base
        )
        target = desk_target_name()
        environments["desk-events"][Env.DESK_CONFIG_FILE] = str(
            two_way_config(task_root.parent, target)
        )
        sample = json.loads(SAMPLE_EVENT.read_text(encoding="utf-8"))
        # Ingest and callback runs take the first half, ticket-sync runs the second.
        incident_ids = [f"bench-{uuid.uuid4().hex}" for _ in range(2 * runs)]
        sqs = aws_client("sqs", endpoint)

        def ingest_event(n: int) -> dict[str, Any]:
            body = json.loads(sample["body"])
            body["incident"]["id"] = incident_ids[n]
            return {**sample, "body": json.dumps(body)}

        def sqs_event(queue: Any, body: str, group: str) -> dict[str, Any]:
            url = queue_url(endpoint, queue.local_name)
            sqs.send_message(
                QueueUrl=url,
                MessageBody=body,
                MessageGroupId=fifo_id(group),
                MessageDeduplicationId=fifo_id(group),
            )
            messages = sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=1, AttributeNames=["All"], WaitTimeSeconds=1
            )["Messages"]
            return {"Records": [lambda_record(messages[0], queue_arn(queue.local_name))]}

        yield Stage(
            endpoint=endpoint,
            task_root=task_root,
            environments=environments,
            events={
                "ingest": ingest_event,
                "ticket-sync": lambda n: ticket_sync_event(
                    endpoint, ingest_event(runs + n), sqs_event
                ),
                "callback": lambda n: callback_event(endpoint, incident_ids[n], sqs_event),
                "authorizer": authorizer_event,
                "desk-events": lambda n: desk_event(endpoint, sample, n, target),
                "reconciler": lambda _n: {},
            },
        )


def stack_environments(
    resources: Mapping[str, str],
    secrets: Mapping[str, str],
    desk_url: str,
    bigpanda_api_base: str,
) -> dict[str, dict[str, str]]:
    """Each function's environment as the stack's constructs build it, with the local
    resources' names: the settings variables come from the same helpers the stack calls."""
    from pandabridge.names import Env
    from stacks.callback import bigpanda_environment
    from stacks.config import StackSettings
    from stacks.desk import load_stack_desk, ticket_target_environment
    from stacks.functions import FunctionDefaults

    settings = StackSettings.model_validate(
        StackSettings.defaults() | {"bigpanda_app_key": "bench-app-key"}
    )
    # The stack accepts https URLs only; the local stand-ins serve plain http on loopback.
    # The desk configuration file is read where it lies, not from the layer's /opt.
    local_urls = {
        Env.TICKET_BASE_URL: desk_url,
        Env.BIGPANDA_API_BASE: bigpanda_api_base,
        Env.DESK_CONFIG_FILE: str(settings.config_path),
    }
    # The method reads nothing but the settings; a whole construct would hash the code asset.
    shared = FunctionDefaults.environment(SimpleNamespace(settings=settings))  # type: ignore[arg-type]

    storage = pick_from(resources, Env.INCIDENTS_TABLE, Env.PAYLOAD_BUCKET) | {
        Env.INLINE_PAYLOAD_MAX_BYTES: str(settings.inline_payload_max_bytes)
    }
    return {
        "ingest": shared | storage,
        "ticket-sync": shared
        | storage
        | pick_from(resources, Env.TICKETS_TABLE, Env.TICKET_SYNC_DLQ_URL, Env.CALLBACK_QUEUE_URL)
        | {Env.TICKET_SECRET_ID: secrets["ticket"]}
        | ticket_target_environment(load_stack_desk(settings))
        | pick_from(local_urls, Env.TICKET_BASE_URL, Env.DESK_CONFIG_FILE),
        "callback": shared
        | pick_from(resources, Env.TICKETS_TABLE, Env.CONTROL_TABLE, Env.CALLBACK_DLQ_URL)
        | {Env.BIGPANDA_SECRET_ID: secrets["bigpanda"]}
        | bigpanda_environment(settings)
        | pick_from(local_urls, Env.BIGPANDA_API_BASE),
        "authorizer": shared | {Env.BEARER_SECRET_ID: secrets["bearer"]},
        "desk-events": shared
        | pick_from(resources, Env.CONTROL_TABLE, Env.TICKETS_TABLE, Env.TICKET_SYNC_QUEUE_URL)
        | pick_from(local_urls, Env.DESK_CONFIG_FILE),
        "reconciler": shared
        | storage
        | pick_from(resources, Env.CONTROL_TABLE)
        | {Env.BIGPANDA_SECRET_ID: secrets["bigpanda"]}
        | pick_from(local_urls, Env.BIGPANDA_API_BASE, Env.DESK_CONFIG_FILE),
    }


def pick_from(values: Mapping[str, str], *names: str) -> dict[str, str]:
    return {name: values[name] for name in names}


def ticket_sync_event(
    endpoint: str, delivery: dict[str, Any], sqs_event: Callable[..., dict[str, Any]]
) -> dict[str, Any]:
    """Store the delivery as ingest would, then the nudge the pipe would send for it."""
    from local.aws import aws_client
    from local.names import INCIDENTS_TABLE, PAYLOAD_BUCKET, TICKET_SYNC_QUEUE
    from pandabridge.handoff import render_message
    from pandabridge.incidents import ingest
    from pandabridge.messages import SyncNudge
    from pandabridge.parsing import parse_webhook
    from pandabridge.stores.incidents import IncidentStore

    dynamodb = aws_client("dynamodb", endpoint)
    store = IncidentStore(
        INCIDENTS_TABLE.local_name,
        PAYLOAD_BUCKET.local_name,
        dynamodb,
        aws_client("s3", endpoint),
    )
    webhook = parse_webhook(delivery["body"], is_base64_encoded=False)
    ingest(webhook, store)
    key = {INCIDENTS_TABLE.partition_key: {"S": webhook.incident_id}}
    item = dynamodb.get_item(TableName=INCIDENTS_TABLE.local_name, Key=key, ConsistentRead=True)
    nudge = SyncNudge(
        incident_id=webhook.incident_id,
        version=item["Item"]["version_key"]["S"],
        sha256=item["Item"]["content_hash"]["S"],
    )
    return sqs_event(TICKET_SYNC_QUEUE, render_message(nudge), webhook.incident_id)


def callback_event(
    endpoint: str, incident_id: str, sqs_event: Callable[..., dict[str, Any]]
) -> dict[str, Any]:
    """The ticket state ticket sync leaves behind, then its message on the callback queue."""
    from local.aws import aws_client
    from local.names import CALLBACK_QUEUE, TICKETS_TABLE
    from pandabridge.messages import CallbackRequest
    from pandabridge.stores.tickets import TicketStateStore
    from pandabridge.tickets.model import TicketRef
    from pandabridge.tickets.state import TicketState

    now = datetime.now(UTC)
    TicketStateStore(TICKETS_TABLE.local_name, aws_client("dynamodb", endpoint)).save(
        TicketState(
            incident_id=incident_id,
            target="http",
            ticket=TicketRef(id=f"T-{incident_id}"),
            created_at=now,
            callback_enqueued_at=now,
        )
    )
    request = CallbackRequest(
        incident_id=incident_id, ticket_ref=f"T-{incident_id}", received_at=now.isoformat()
    )
    return sqs_event(CALLBACK_QUEUE, request.model_dump_json(), incident_id)


def desk_target_name() -> str:
    """The target of the shipped desk configuration."""
    from stacks.config import StackSettings
    from stacks.desk import load_stack_desk

    return load_stack_desk(StackSettings.model_validate(StackSettings.defaults())).target_name


def two_way_config(directory: Path, name: str) -> Path:
    """The shipped desk configuration with its target ``name`` taking desk events (events
    secret ``DESK_EVENTS_SECRET_NAME``), written into ``directory``."""
    from stacks.config import StackSettings

    settings = StackSettings.model_validate(StackSettings.defaults())
    path = directory / "pandabridge.two-way.toml"
    two_way = f'\n[targets.{name}.two_way]\nevents_secret = "{DESK_EVENTS_SECRET_NAME}"\n'
    path.write_text(settings.config_path.read_text(encoding="utf-8") + two_way, encoding="utf-8")
    return path


def desk_event(endpoint: str, api_event: dict[str, Any], n: int, target: str) -> dict[str, Any]:
    """An incident's ticket as ticket sync records it, then a signed ``http`` desk event (a
    comment on that ticket) as API Gateway hands it to the desk-events function."""
    from local.aws import aws_client
    from local.names import TICKETS_TABLE
    from pandabridge.desk_event_auth import (
        HTTP_SIGNATURE_HEADER,
        HTTP_TIMESTAMP_HEADER,
        http_signature,
    )
    from pandabridge.stores.tickets import TicketStateStore
    from pandabridge.tickets.model import TicketRef
    from pandabridge.tickets.state import TicketState

    incident_id = f"bench-desk-{uuid.uuid4().hex}"
    TicketStateStore(TICKETS_TABLE.local_name, aws_client("dynamodb", endpoint)).save(
        TicketState(incident_id=incident_id, target="http", ticket=TicketRef(id=f"T-{n}"))
    )
    body = json.dumps(
        {
            "event_id": f"bench-{incident_id}",
            "ticket_id": f"T-{n}",
            "incident_id": incident_id,
            "kind": "commented",
            "comment": "Restarted the primary",
        }
    )
    now = int(time.time())
    headers = {
        "Content-Type": "application/json",
        HTTP_TIMESTAMP_HEADER: str(now),
        HTTP_SIGNATURE_HEADER: http_signature(body.encode(), DESK_EVENTS_SECRET, now),
    }
    return {
        **api_event,
        "resource": "/desk/{target}/events",
        "path": f"/desk/{target}/events",
        "pathParameters": {"target": target},
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "body": body,
    }


def authorizer_event(n: int) -> dict[str, Any]:
    """A REQUEST authorizer event for POST /webhook with the valid token."""
    arn = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/v1/POST/webhook"
    headers = {"Authorization": f"Bearer {BEARER_TOKEN}"}
    return {
        "type": "REQUEST",
        "methodArn": arn,
        "resource": "/webhook",
        "path": "/webhook",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "abcdef1234",
            "stage": "v1",
            "requestId": f"bench-{n}",
            "identity": {"sourceIp": "203.0.113.9"},
        },
    }


def _no_failures(answer: Any) -> bool:
    return isinstance(answer, dict) and answer.get("batchItemFailures") == []


def functions(stage: Stage) -> list[Function]:
    """The six functions, with the client builders each handler calls."""
    from stacks.authorizer import AUTHORIZER_HANDLER
    from stacks.callback import CALLBACK_HANDLER
    from stacks.desk_events import DESK_EVENTS_HANDLER
    from stacks.ingest_api import INGEST_HANDLER
    from stacks.reconciler import RECONCILER_HANDLER
    from stacks.ticket_sync import TICKET_SYNC_HANDLER

    memory = _memory_sizes()
    # name -> (handler, what a good first answer looks like); the rest follows from the name.
    shapes: dict[str, tuple[str, Callable[[Any], bool]]] = {
        "ingest": (INGEST_HANDLER, lambda answer: answer.get("statusCode") == 200),
        "ticket-sync": (TICKET_SYNC_HANDLER, _no_failures),
        "callback": (CALLBACK_HANDLER, _no_failures),
        "authorizer": (
            AUTHORIZER_HANDLER,
            lambda answer: answer["policyDocument"]["Statement"][0]["Effect"] == "Allow",
        ),
        "desk-events": (DESK_EVENTS_HANDLER, lambda answer: answer.get("statusCode") == 200),
        # A scheduled run over the stand-in, which has shared nothing: it completes.
        "reconciler": (
            RECONCILER_HANDLER,
            lambda answer: answer.get("stopped") is None and bool(answer.get("completed")),
        ),
    }
    return [
        Function(
            name=name,
            handler=handler,
            baseline=f"bench.bare.{name.replace('-', '_')}",
            builders=BUILDERS[name],
            memory_mb=memory[name],
            environment=stage.environments[name],
            event=stage.events[name],
            succeeded=succeeded,
        )
        for name, (handler, succeeded) in shapes.items()
    ]


# What each handler calls to build the AWS clients it uses: what a handler leaves to its
# first event is counted in its init all the same, so laziness cannot hide a cost here.
BUILDERS: Final[dict[str, tuple[str, ...]]] = {
    "ingest": ("pandabridge.composition.ingest:incident_store",),
    "ticket-sync": (
        "pandabridge.composition.ingest:incident_store",
        "pandabridge.composition.queues:queue_control",
        "pandabridge.composition.ticket_sync:ticket_states",
        "pandabridge.aws_clients:secrets_provider",
    ),
    "callback": (
        "pandabridge.composition.queues:queue_control",
        "pandabridge.composition.callback:callback_ledger",
        "pandabridge.aws_clients:secrets_provider",
    ),
    "authorizer": ("pandabridge.aws_clients:secrets_provider",),
    "desk-events": (
        "pandabridge.composition.desk_events:intake",
        "pandabridge.aws_clients:secrets_provider",
    ),
    "reconciler": (
        "pandabridge.composition.ingest:incident_store",
        "pandabridge.composition.reconciler:watermarks",
        "pandabridge.composition.callback:rate_limiter",
        "pandabridge.aws_clients:secrets_provider",
    ),
}


def _memory_sizes() -> dict[str, int]:
    """The memory each function is given (the runtime reports it in the context)."""
    from stacks.authorizer import AUTHORIZER_MEMORY_MB
    from stacks.config import StackSettings
    from stacks.limits import StackLimits

    defaults = StackSettings.model_validate(StackSettings.defaults())
    return {
        "ingest": defaults.lambda_memory_mb,
        "ticket-sync": defaults.ticket_sync_memory_mb,
        "callback": defaults.callback_memory_mb,
        "authorizer": AUTHORIZER_MEMORY_MB,
        "desk-events": defaults.lambda_memory_mb,
        "reconciler": StackLimits.RECONCILER_MEMORY_MB,
    }


# --- the tables ----------------------------------------------------------------------------


def run(*, quick: bool = False) -> list[Table]:
    """Measure every function; ``quick`` takes a few runs only, for a smoke check."""
    runs = QUICK_RUNS if quick else RUNS
    cold = Table(
        f"Cold start: handler import and client set-up, median of {runs} fresh interpreters",
        (
            "handler",
            "init median ms",
            "baseline median ms",
            "ratio",
            "CPU ratio",
            "first invocation ms",
            "peak RSS MB",
            "baseline RSS MB",
            f"target <= {TARGET_RATIO}x",
        ),
    )
    breakdown = Table(
        f"Cold start: the {TOP_MODULES} heaviest imports of each handler (-X importtime)",
        ("handler", "module", "cumulative ms", "share of handler import", "heaviest inside (ms)"),
    )
    libraries = Table(
        "Cold start: import time by library, handler and its bare baseline (-X importtime)",
        ("function", "import ms", *LIBRARIES),
    )
    with stage(runs) as local:
        for function in functions(local):
            measure(function, local, runs, cold)
            explain(function, local, breakdown, libraries)
    cold.notes += [
        "init = importing the handler module and building every AWS client it uses (clients "
        "a handler builds on first use are built here too, through the same functions); the "
        "baseline is a bare module that creates the same clients with boto3.client()",
        "each run is a fresh interpreter with the function's environment as the stack sets "
        "it plus the Lambda runtime's variables (LAMBDA_TASK_ROOT, X-Ray context); handler and "
        "baseline runs alternate; interpreter start-up is excluded from both",
        "first invocation = the handler's first call with a representative event against "
        "moto, the demo service desk and the BigPanda stand-in on loopback (each run a new "
        "incident: store it / create its ticket / confirm it / allow a token); for "
        "information only: it includes the local servers' latency",
        "the code runs from a copy of the code asset, without bytecode as the stack ships "
        "it, so the project's modules are compiled in every run, as in every Lambda cold start",
        "peak RSS = the child's VmHWM (ru_maxrss would carry over this process's peak across exec)",
        "CPU ratio = the same ratio of the children's CPU time (process_time): less moved "
        "by other load on the machine than the wall-clock ratio, which the target applies to",
        "timings from a shared machine: compare the ratios, not the milliseconds",
    ]
    breakdown.notes += [
        "each module counted once: a module imported inside a listed one is not listed again",
        "share = the module's cumulative import time over the handler module's own",
    ]
    libraries.notes += [
        "self time of every imported module, summed by the library it belongs to; one run "
        "each, so the figures are rougher than the medians above",
        "project = the handler's own modules: compiling them (no bytecode ships) and running "
        "their bodies, which builds their pydantic models",
        "what the handler imports beyond its bare baseline, and clients it builds, is what "
        "the ratio above measures",
    ]
    return [cold, breakdown, libraries]


def measure(function: Function, local: Stage, runs: int, table: Table) -> None:
    environment = child_environment(function, local)
    handler_runs: list[Run] = []
    baseline_runs: list[Run] = []
    for n in range(runs):
        # Alternate which goes first, so neither always follows the other.
        if n % 2:
            baseline_runs.append(run_child(function.baseline, "", (), environment, None))
        event = function.event(n)
        handler_runs.append(
            run_child(function.module, function.attribute, function.builders, environment, event)
        )
        if n % 2 == 0:
            baseline_runs.append(run_child(function.baseline, "", (), environment, None))
    failed = [r for r in handler_runs if not function.succeeded(r.answer)]
    if failed:
        raise RuntimeError(f"{function.name}: first invocation answered {failed[0].answer!r}")
    init = statistics.median(r.init_ms for r in handler_runs)
    baseline = statistics.median(r.init_ms for r in baseline_runs)
    invocations = [r.invocation_ms for r in handler_runs if r.invocation_ms is not None]
    ratio = init / baseline
    cpu_ratio = statistics.median(r.init_cpu_ms for r in handler_runs) / statistics.median(
        r.init_cpu_ms for r in baseline_runs
    )
    table.add(
        function.name,
        init,
        baseline,
        round(ratio, 2),
        round(cpu_ratio, 2),
        statistics.median(invocations) if invocations else None,
        max(r.rss_mb for r in handler_runs),
        max(r.rss_mb for r in baseline_runs),
        "yes" if ratio <= TARGET_RATIO else "NO",
    )


def explain(function: Function, local: Stage, heaviest: Table, libraries: Table) -> None:
    environment = child_environment(function, local)
    rows = import_times(environment, function.module)
    total = next(ms for name, ms, _ in rows if name.strip() == function.module)
    for name, ms, inside in top_modules(rows, function.module, TOP_MODULES):
        heaviest.add(function.name, name, ms, f"{ms / total:.0%}", inside)
    # The bare module's body is its client set-up; what it imports is boto3.
    for label, module in ((function.name, function.module), ("  bare", "boto3")):
        shares = library_shares(import_times(environment, module))
        libraries.add(label, sum(shares.values()), *(shares[name] for name in LIBRARIES))


# Who the import time belongs to, by top-level package; the project's share includes
# compiling its modules and building its pydantic models, which run in its module bodies.
LIBRARIES: Final[dict[str, tuple[str, ...]]] = {
    "AWS SDK": ("boto3", "botocore", "s3transfer", "urllib3", "dateutil", "six", "jmespath"),
    "pydantic": ("pydantic", "pydantic_core", "annotated_types", "typing_inspection"),
    "Powertools": ("aws_lambda_powertools",),
    "X-Ray": ("aws_xray_sdk", "wrapt"),
    "project": (
        "pandabridge",
        "ingest",
        "ticket_sync",
        "callback",
        "authorizer",
        "desk_events",
        "reconciler",
    ),
    "stdlib and other": (),
}


def library_shares(rows: list[tuple[str, float, float]]) -> dict[str, float]:
    """Self import time summed by library: each module's own time counted once."""
    owners = {package: label for label, packages in LIBRARIES.items() for package in packages}
    shares = dict.fromkeys(LIBRARIES, 0.0)
    for name, _, own in rows:
        shares[owners.get(name.strip().split(".")[0], "stdlib and other")] += own
    return shares
