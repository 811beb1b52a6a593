"""What the cost model prices: the stack as its template says it is, and as it runs.

The template is the CDK app synthesized as ``app.py`` builds it (with the ``cdk.json``
settings, or overrides): each function's memory, architecture, tracing and log level, which
queues are FIFO and which function consumes which, the tables' billing mode, streams and
point-in-time recovery, the log groups' retention, the alarms, dashboards, secrets, KMS keys
and WAF rules, the authorizer's cache TTL, the API's access-log format and the X-Ray sampling
rule on its stage. What the template cannot say is measured by playing the incident story on
the local stack: the bytes of the stored items and archived objects, of the log lines the
handlers print at the deployed level, and the custom metrics they publish.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import re
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from bench.storage_cost import item_size

STORY: Final = Path(__file__).resolve().parents[1] / "events" / "story"


# ---------------------------------------------------------------------------------------------
# The template


@dataclass(frozen=True)
class FunctionFacts:
    role: str  # ingest, ticket_sync, callback, authorizer: the handler's package
    memory_mb: int
    architecture: str
    tracing: bool
    log_level: str


@dataclass(frozen=True)
class Sampling:
    """An X-Ray sampling rule's budget: a reservoir of traces a second, then a share."""

    reservoir_per_second: float
    rate: float


@dataclass(frozen=True)
class StackFacts:
    """What the synthesized template says, as the model needs it."""

    functions: dict[str, FunctionFacts]
    # Queue kind by what it is for: "ticket_sync", "callback" (their function's role),
    # "dlq" for the others; True when FIFO.
    queue_fifo: dict[str, bool]
    queues: int
    tables: int
    on_demand_tables: int
    pitr_tables: int
    stream: bool
    pipe_filtered: bool
    log_retention_days: dict[str, int]
    alarms: int
    dashboards: int
    secrets: int
    kms_keys: int
    waf_rules: int | None
    authorizer_ttl_seconds: int | None
    access_log_format: str | None
    api_tracing: bool
    archive_expiry_days: int | None
    # The stack's own sampling rule for its API stage; None: X-Ray's default rule applies.
    api_sampling: Sampling | None = None
    # Gzip bodies up to this size are kept in the incident item (ingest's setting).
    inline_payload_max_bytes: int | None = None

    def function(self, role: str) -> FunctionFacts | None:
        return self.functions.get(role)


def synthesize(context: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The stack's CloudFormation template, built as ``app.py`` builds it."""
    from stacks.application import build_app

    with tempfile.TemporaryDirectory(prefix="cost-model-") as outdir:
        app, stack = build_app(context=context, outdir=outdir)
        template: dict[str, Any] = app.synth().get_stack_by_name(stack.stack_name).template
    return template


def read_facts(template: Mapping[str, Any]) -> StackFacts:
    resources: dict[str, Any] = template["Resources"]

    def of_type(kind: str) -> dict[str, dict[str, Any]]:
        return {
            name: resource.get("Properties", {})
            for name, resource in resources.items()
            if resource["Type"] == kind
        }

    functions_by_id = {
        name: FunctionFacts(
            role=str(props["Handler"]).split(".")[0],
            memory_mb=int(props.get("MemorySize", 128)),
            architecture=(props.get("Architectures") or ["x86_64"])[0],
            tracing=props.get("TracingConfig", {}).get("Mode") == "Active",
            log_level=str(
                props.get("Environment", {}).get("Variables", {}).get("POWERTOOLS_LOG_LEVEL")
                or "INFO"
            ).upper(),
        )
        for name, props in of_type("AWS::Lambda::Function").items()
    }
    queue_fifo: dict[str, bool] = {}
    for props in of_type("AWS::Lambda::EventSourceMapping").values():
        queue = _ref(props.get("EventSourceArn"))
        function = functions_by_id.get(_ref(props.get("FunctionName")) or "")
        if queue in resources and function is not None:
            fifo = bool(resources[queue].get("Properties", {}).get("FifoQueue"))
            queue_fifo[function.role] = fifo
    tables = of_type("AWS::DynamoDB::Table")
    pipes = of_type("AWS::Pipes::Pipe")
    stages = of_type("AWS::ApiGateway::Stage")
    authorizers = of_type("AWS::ApiGateway::Authorizer")
    acls = of_type("AWS::WAFv2::WebACL")
    payload_expiry = [
        rule["ExpirationInDays"]
        for props in of_type("AWS::S3::Bucket").values()
        for rule in props.get("LifecycleConfiguration", {}).get("Rules", [])
        if rule.get("Prefix") == "incidents/" and "ExpirationInDays" in rule
    ]
    stage = next(iter(stages.values()), {})
    return StackFacts(
        functions={f.role: f for f in functions_by_id.values()},
        queue_fifo=queue_fifo,
        queues=len(of_type("AWS::SQS::Queue")),
        tables=len(tables),
        on_demand_tables=sum(
            1 for t in tables.values() if t.get("BillingMode") == "PAY_PER_REQUEST"
        ),
        pitr_tables=sum(
            1
            for t in tables.values()
            if t.get("PointInTimeRecoverySpecification", {}).get("PointInTimeRecoveryEnabled")
        ),
        stream=any("StreamSpecification" in t for t in tables.values()),
        pipe_filtered=any(
            p.get("SourceParameters", {}).get("FilterCriteria") for p in pipes.values()
        ),
        log_retention_days={
            name: int(props.get("RetentionInDays", 0))
            for name, props in of_type("AWS::Logs::LogGroup").items()
        },
        alarms=len(of_type("AWS::CloudWatch::Alarm")),
        dashboards=len(of_type("AWS::CloudWatch::Dashboard")),
        secrets=len(of_type("AWS::SecretsManager::Secret")),
        kms_keys=len(of_type("AWS::KMS::Key")),
        waf_rules=len(next(iter(acls.values())).get("Rules", [])) if acls else None,
        authorizer_ttl_seconds=(
            int(next(iter(authorizers.values())).get("AuthorizerResultTtlInSeconds", 300))
            if authorizers
            else None
        ),
        access_log_format=stage.get("AccessLogSetting", {}).get("Format"),
        api_tracing=bool(stage.get("TracingEnabled")),
        archive_expiry_days=min(payload_expiry) if payload_expiry else None,
        inline_payload_max_bytes=_inline_limit(of_type("AWS::Lambda::Function").values()),
        api_sampling=_stage_sampling(
            stage,
            [str(api.get("Name", "")) for api in of_type("AWS::ApiGateway::RestApi").values()],
            [props["SamplingRule"] for props in of_type("AWS::XRay::SamplingRule").values()],
        ),
    )


def _inline_limit(functions: Iterable[Mapping[str, Any]]) -> int | None:
    from pandabridge.names import Env

    for props in functions:
        value = props.get("Environment", {}).get("Variables", {}).get(Env.INLINE_PAYLOAD_MAX_BYTES)
        if value is not None:
            return int(value)
    return None


def _stage_sampling(
    stage: Mapping[str, Any], api_names: Sequence[str], rules: Sequence[Mapping[str, Any]]
) -> Sampling | None:
    """The first rule, by priority, that matches the stage's X-Ray service name
    (``{api name}/{stage name}``) and type, as API Gateway evaluates them."""
    services = [f"{name}/{stage.get('StageName', '')}" for name in api_names]
    matching = [
        rule
        for rule in rules
        if any(fnmatch.fnmatchcase(service, str(rule["ServiceName"])) for service in services)
        and fnmatch.fnmatchcase("AWS::ApiGateway::Stage", str(rule.get("ServiceType", "*")))
    ]
    if not matching:
        return None
    rule = min(matching, key=lambda r: int(r["Priority"]))
    return Sampling(float(rule["ReservoirSize"]), float(rule["FixedRate"]))


def _ref(value: Any) -> str | None:
    """The logical id a ``Ref`` or ``Fn::GetAtt`` points at."""
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
    return None


# ---------------------------------------------------------------------------------------------
# Measured on the local stack


@dataclass(frozen=True)
class Measured:
    """Sizes the stack produces for the sample incident and its story."""

    raw_payload_bytes: int
    archived_bytes: int
    incident_item_bytes: int
    ticket_item_bytes: int
    sync_message_bytes: int
    # Log bytes at the deployed level (INFO: logs, EMF metrics) per webhook, by function role.
    log_bytes: dict[str, float]
    webhooks: int
    source: str
    # Custom metrics the story published (EMF), each by name and, besides the service, its
    # other dimension values; empty when not measured.
    metric_names: frozenset[str] = frozenset()


def measure_locally(incidents: int = 2, log_level: str = "INFO") -> Measured:
    """Play the incident story ``incidents`` times on a fresh local stack, its functions at
    DEBUG; keep the log lines at ``log_level`` and above (what the deployed functions print)
    and the EMF metric lines; read the stored item and object sizes back from moto."""
    from local.names import INCIDENTS_TABLE, PAYLOAD_BUCKET, TICKETS_TABLE
    from tests.local_stack.harness import StackProcess, aws_client, queued_messages

    steps = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(STORY.glob("*.json"))]
    stack = StackProcess.start("--no-sample", "--log-level", "DEBUG")
    try:
        stack.wait_for_output("serving")
        sqs = aws_client("sqs", stack.aws_endpoint)
        first = len(stack.lines)
        ids = []
        for n in range(incidents):
            incident_id = f"cost-model-{n}-{time.time_ns()}"
            ids.append(incident_id)
            for step in steps:
                step["incident"]["id"] = incident_id
                answer = stack.post_webhook(json.dumps(step).encode())
                if answer.status != 200:
                    raise RuntimeError(f"the stack answered {answer.status}: {answer.body!r}")
                _settle(sqs, queued_messages)
        time.sleep(0.5)
        lines = stack.lines[first:]
        dynamodb = aws_client("dynamodb", stack.aws_endpoint)
        s3 = aws_client("s3", stack.aws_endpoint)
        key = {"incident_id": {"S": ids[-1]}}
        incident = dynamodb.get_item(TableName=INCIDENTS_TABLE.local_name, Key=key)["Item"]
        ticket = dynamodb.get_item(TableName=TICKETS_TABLE.local_name, Key=key)["Item"]
        archived = s3.head_object(
            Bucket=PAYLOAD_BUCKET.local_name, Key=incident["archive_key"]["S"]
        )["ContentLength"]
    finally:
        stack.stop()
    webhooks = incidents * len(steps)
    raw = len(json.dumps(steps[0]).encode())
    nudge = json.dumps({"incident_id": ids[-1], "version": "x" * 40, "sha256": "0" * 64})
    return Measured(
        raw_payload_bytes=raw,
        archived_bytes=int(archived),
        incident_item_bytes=item_size(incident),
        ticket_item_bytes=item_size(ticket),
        sync_message_bytes=len(nudge),
        log_bytes={role: b / webhooks for role, b in log_bytes_by_role(lines, log_level).items()},
        webhooks=webhooks,
        source=f"the incident story played {incidents} times on the local stack",
        metric_names=frozenset(published_metrics(lines)),
    )


def _settle(sqs: Any, queued: Any, timeout: float = 10.0) -> None:
    """Until ticket sync and the callback have nothing left to do for the last webhook."""
    deadline = time.monotonic() + timeout
    time.sleep(0.4)  # the pipe's poll and the pollers' pause, so the message is on a queue
    while queued(sqs) and time.monotonic() < deadline:
        time.sleep(0.1)


_LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_FUNCTION_NAME: Final = re.compile(r"bigpanda-webhook-(?P<role>[a-z-]+)")


def _records(lines: Iterable[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The JSON objects among the output ``lines``, each with its text."""
    for line in lines:
        text = line.strip()
        if text.startswith("{"):
            with contextlib.suppress(ValueError):
                if isinstance(record := json.loads(text), dict):
                    yield text, record


def log_bytes_by_role(lines: Sequence[str], log_level: str = "INFO") -> dict[str, int]:
    """Bytes of the functions' JSON log lines that the deployed level keeps: Powertools log
    records at ``log_level`` or above, and EMF metric documents (printed whenever metrics are
    on, as they are deployed)."""
    kept = set(_LEVELS[_LEVELS.index(log_level) :]) if log_level in _LEVELS else set(_LEVELS)
    totals: dict[str, int] = {}
    for text, record in _records(lines):
        if "_aws" not in record and str(record.get("level", "")).upper() not in kept:
            continue
        match = _FUNCTION_NAME.search(str(record.get("function_name", "")))
        role = match["role"].replace("-", "_") if match else _metric_owner(record)
        totals[role] = totals.get(role, 0) + len(text.encode()) + 1
    return totals


# Whose EMF document it is, by its metrics' names (only ColdStart carries the function name).
_METRIC_OWNERS: Final = (
    ("WebhookToCallback", "callback"),
    ("Callback", "callback"),
    ("Ticket", "ticket_sync"),
    ("Authorizer", "authorizer"),
    ("Incident", "ingest"),
    ("Webhook", "ingest"),
)


def published_metrics(lines: Sequence[str]) -> set[str]:
    """The custom metrics the EMF documents among ``lines`` publish: the metric name, with
    the values of its dimensions other than the service (a ColdStart per function)."""
    found: set[str] = set()
    for _, record in _records(lines):
        for directive in record.get("_aws", {}).get("CloudWatchMetrics", []):
            dimensions = {d for group in directive.get("Dimensions", []) for d in group}
            extra = sorted(str(record.get(d, "")) for d in dimensions - {"service"})
            for metric in directive.get("Metrics", []):
                found.add("/".join([metric.get("Name", ""), *extra]))
    return found


def _metric_owner(record: Mapping[str, Any]) -> str:
    directives = record.get("_aws", {}).get("CloudWatchMetrics", [{}])
    names = [m.get("Name", "") for d in directives for m in d.get("Metrics", [])]
    for prefix, role in _METRIC_OWNERS:
        if any(name.startswith(prefix) for name in names):
            return role
    return "other"
