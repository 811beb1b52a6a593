"""Benchmark 5: what a month costs at 10k, 1M and 10M webhooks, and what one webhook costs.

The model prices what the stack really deploys, as ``stack_facts`` reads it from the
synthesized template and measures it on the local stack. The prices, the budget and what
neither can say (how long each invocation runs against the real desk and BigPanda, how often
pollers poll) are data, in ``prices.toml``: this module holds the arithmetic and the tables.

The traffic is BigPanda's: an incident is shared once and updated a few times, so the mix of
new incidents and updates is the one of the incident story in ``events/story/`` (one new, then
updates). Free tiers are left out: the numbers are what the stack adds to an account that has
used its free tiers already.
"""

from __future__ import annotations

import gzip
import json
import math
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

from bench.report import Table
from bench.stack_facts import (
    STORY,
    FunctionFacts,
    Measured,
    Sampling,
    StackFacts,
    measure_locally,
    read_facts,
    synthesize,
)

DATA: Final = tomllib.loads((Path(__file__).with_name("prices.toml")).read_text())
VOLUMES: Final = (10_000, 1_000_000, 10_000_000)
SECONDS_PER_MONTH: Final = 30 * 86_400
KB: Final = 1024
GB: Final = 1024**3
PRICES: Final[dict[str, dict[str, Any]]] = DATA["prices"]
BUDGET: Final[dict[str, float]] = DATA["budget"]
BEFORE: Final[dict[str, Any]] = DATA["before"]


def price(key: str) -> float:
    return float(PRICES[key]["usd"])


@dataclass(frozen=True)
class Inputs:
    """What neither the template nor the local stack can tell; the defaults and why they are
    what they are live in ``prices.toml``."""

    ingest_ms: float
    authorizer_ms: float
    desk_call_ms: float
    aws_call_ms: float
    callback_ms: float
    platform_log_bytes: int
    log_compression: float
    s3_access_log_bytes: int
    idle_receives_per_month: float
    stream_polls_per_second: float
    stream_shards: int
    xray_reservoir_per_second: float
    xray_rate: float
    firehose_buffer_seconds: int
    months_retained: int
    desk_call_bytes: int
    callback_bytes: int
    answer_bytes: int

    @classmethod
    def defaults(cls) -> Inputs:
        return cls(**DATA["inputs"])


# ---------------------------------------------------------------------------------------------
# The model


@dataclass
class Line:
    """One priced quantity: per webhook (varies with volume) or per month (fixed)."""

    service: str
    what: str
    price_key: str
    per_webhook: float = 0.0
    per_month: float = 0.0

    def cost(self, webhooks: int) -> float:
        return (self.per_webhook * webhooks + self.per_month) * price(self.price_key)


@dataclass(frozen=True)
class VolumeLine:
    """A cost whose quantity depends on the volume in a way a per-webhook rate cannot say."""

    service: str
    what: str
    cost: Callable[[int], float]


@dataclass
class Model:
    facts: StackFacts
    measured: Measured
    inputs: Inputs
    new_share: float
    lines: list[Line] = field(default_factory=list)
    volume_lines: list[VolumeLine] = field(default_factory=list)

    def monthly(self, webhooks: int) -> dict[str, float]:
        costs: dict[str, float] = {}
        for line in [*self.lines, *self.volume_lines]:
            costs[line.service] = costs.get(line.service, 0.0) + line.cost(webhooks)
        return costs

    def variable_per_million(self) -> float:
        """What a million webhooks cost on top of the fixed monthly costs."""
        variable = sum(ln.per_webhook * price(ln.price_key) for ln in self.lines) * 1_000_000
        return variable + sum(v.cost(1_000_000) for v in self.volume_lines)

    def fixed_per_month(self) -> float:
        return sum(line.per_month * price(line.price_key) for line in self.lines)


def story_new_share() -> float:
    """One new incident per story: the share of webhooks that create an incident."""
    return 1 / max(1, len(list(STORY.glob("*.json"))))


def build(facts: StackFacts, measured: Measured, inputs: Inputs | None = None) -> Model:
    """Every priced quantity of the stack, per webhook and per month."""
    i = inputs or Inputs.defaults()
    new = story_new_share()
    update = 1 - new
    model = Model(facts, measured, i, new)
    m = measured
    months = i.months_retained

    def add(service: str, what: str, key: str, webhook: float = 0.0, month: float = 0.0) -> None:
        model.lines.append(Line(service, what, key, webhook, month))

    model.volume_lines.append(VolumeLine("API Gateway", "REST request (tiered)", _apigw_cost))
    ttl = facts.authorizer_ttl_seconds
    if ttl is not None and (auth := facts.function("authorizer")) is not None:
        # One token, so one cache entry: at most one invocation per TTL while traffic flows.
        per_call = price("lambda_request") + _gb_s(auth, i.authorizer_ms) * price(
            f"lambda_gb_s_{auth.architecture}"
        )
        model.volume_lines.append(
            VolumeLine(
                "Lambda",
                "authorizer, at most one per cache TTL",
                lambda w: min(w, SECONDS_PER_MONTH / max(1, ttl)) * per_call,
            )
        )
    if facts.waf_rules is not None:
        add("WAF", "web ACL", "waf_acl_month", month=1)
        add("WAF", "rules", "waf_rule_month", month=facts.waf_rules)
        add("WAF", "requests", "waf_request", webhook=1)

    # Lambda. Ticket sync runs once per stored version (new: lookup + create on the desk,
    # 2 reads, 3 state saves, 1 SQS send; update: 1 desk call, 2 reads, 1 save); the
    # callback once per new incident.
    sync_ms = new * (2 * i.desk_call_ms + 6 * i.aws_call_ms) + update * (
        i.desk_call_ms + 3 * i.aws_call_ms
    )
    for role, share, ms in (
        ("ingest", 1.0, i.ingest_ms),
        ("ticket_sync", 1.0, sync_ms),
        ("callback", new, i.callback_ms),
    ):
        if (fn := facts.function(role)) is not None:
            add("Lambda", f"{role} requests", "lambda_request", share)
            what = f"{role} {fn.memory_mb} MB {fn.architecture}, {ms:.0f} ms"
            add("Lambda", what, f"lambda_gb_s_{fn.architecture}", share * _gb_s(fn, ms))

    # SQS: send, receive and delete per message, per 64 KB chunk; idle long polls per queue.
    chunks = math.ceil(m.sync_message_bytes / (64 * KB))
    for role, share in (("ticket_sync", 1.0), ("callback", new)):
        if role in facts.queue_fifo:
            kind = "FIFO" if facts.queue_fifo[role] else "standard"
            key = f"sqs_{kind.lower()}_request"
            add("SQS", f"{role} {kind}: send, receive, delete", key, 3 * share * chunks)
            add("SQS", f"{role} {kind}: idle long polls", key, month=i.idle_receives_per_month)

    # Pipes: every stored version passes the filter; the event carries new and old images.
    if facts.stream:
        chunks = math.ceil((2 * m.incident_item_bytes + 1000) / (64 * KB))
        add(
            "EventBridge Pipes",
            "requests (64 KB chunks of the stream record)",
            "pipes_request",
            chunks,
        )
        polls = i.stream_polls_per_second * SECONDS_PER_MONTH * i.stream_shards
        add("DynamoDB", "stream GetRecords by the pipe", "ddb_stream_read", month=polls)

    # DynamoDB: ingest's conditional PutItem on every delivery; ticket sync's consistent
    # reads and state saves; the callback's read and write, and its slot of BigPanda's rate
    # limit (one UpdateItem on a small window counter); storage of one item per incident.
    incident_wru = math.ceil(m.incident_item_bytes / KB)
    ticket_wru = math.ceil(m.ticket_item_bytes / KB)
    stored_gb = (m.incident_item_bytes + m.ticket_item_bytes + 200) * new * months / GB
    add("DynamoDB", f"ingest PutItem ({incident_wru} WRU)", "ddb_wru", incident_wru)
    reads = math.ceil(m.incident_item_bytes / (4 * KB)) + 1
    add("DynamoDB", "ticket sync: incident + state reads", "ddb_rru", reads)
    saves = ticket_wru * (3 * new + update)
    add("DynamoDB", f"ticket sync: state saves ({ticket_wru} WRU)", "ddb_wru", saves)
    add("DynamoDB", "callback: read + confirm", "ddb_rru", new)
    add("DynamoDB", "callback: confirm write", "ddb_wru", new * ticket_wru)
    add("DynamoDB", "callback: rate-limit slot (1 WRU)", "ddb_wru", new)
    what = f"storage after {months} months (one item per incident)"
    add("DynamoDB", what, "ddb_storage_gb", stored_gb)
    if facts.pitr_tables:
        add("DynamoDB", "point-in-time recovery of that storage", "ddb_pitr_gb", stored_gb)

    # S3: one PUT per delivery (the archive is written before the conditional write); the
    # archive kept until its expiry; one access-log record per request.
    kept = min(months, (facts.archive_expiry_days or 36500) / 30)
    add("S3", "archive PUT", "s3_put", 1)
    what = f"archive storage ({kept:.0f} months kept)"
    add("S3", what, "s3_storage_gb", m.archived_bytes * kept / GB)
    add("S3", "server access logs (kept 1 month)", "s3_storage_gb", i.s3_access_log_bytes / GB)

    # CloudWatch: logs ingested per webhook (the handlers' lines measured, Lambda's platform
    # lines, the API's access log line) and stored for the retention; metrics, alarms,
    # dashboards. Invocations: ingest, ticket sync, callback (batches of one at low rates).
    log_bytes = (
        sum(m.log_bytes.values())
        + (2 + new) * i.platform_log_bytes
        + len(_access_log_line(facts.access_log_format))
    )
    retention = max(facts.log_retention_days.values(), default=30)
    hourly_metrics, _ = custom_metrics(m)
    add(
        "CloudWatch",
        f"logs ingested ({log_bytes:,.0f} B/webhook)",
        "logs_ingest_gb",
        log_bytes / GB,
    )
    stored_logs = log_bytes * i.log_compression * retention / 30 / GB
    add("CloudWatch", f"logs stored ({retention} days, compressed)", "logs_storage_gb", stored_logs)
    what = f"custom metrics published every hour of traffic ({hourly_metrics})"
    add("CloudWatch", what, "metric_month", month=hourly_metrics)
    add("CloudWatch", f"alarms ({facts.alarms})", "alarm_month", month=facts.alarms)
    add("CloudWatch", f"dashboards ({facts.dashboards})", "dashboard_month", month=facts.dashboards)
    model.volume_lines.append(
        VolumeLine(
            "X-Ray",
            _xray_what(facts),
            lambda w: _xray_traces(w, new, facts, i) * price("xray_trace"),
        )
    )

    # Secrets (cached 5 minutes per execution environment), KMS, data out.
    secrets = "Secrets Manager + KMS"
    add(secrets, f"secrets ({facts.secrets})", "secret_month", month=facts.secrets)
    reads_per_month = 3 * SECONDS_PER_MONTH / 300
    add(secrets, "secret reads (one per function per 5 min)", "secret_call", month=reads_per_month)
    add(secrets, f"KMS keys ({facts.kms_keys})", "kms_key_month", month=facts.kms_keys)
    out = i.answer_bytes + new * (2 * i.desk_call_bytes + i.callback_bytes)
    out += update * i.desk_call_bytes
    add("Data transfer", "answers, desk and BigPanda calls", "data_out_gb", out / GB)
    return model


def _apigw_cost(webhooks: int) -> float:
    first = min(webhooks, 333_000_000)
    rest = max(0, webhooks - first)
    return first * price("apigw_rest_first_333m") + rest * price("apigw_rest_next_667m")


def _gb_s(fn: FunctionFacts, ms: float) -> float:
    return fn.memory_mb / 1024 * ms / 1000


def _xray_traces(webhooks: int, new: float, facts: StackFacts, i: Inputs) -> float:
    """Traces recorded in a month, each stream sampled at a steady rate.

    The API's requests are sampled by the stack's own rule for its stage, else by X-Ray's
    default rule; the ingest function follows the stage's decision. A function that a queue
    invokes gets no sampled trace from the stream and the pipe: with active tracing Lambda
    samples it at its fixed rate (the default rule's), with PassThrough it records nothing.
    """
    default = Sampling(i.xray_reservoir_per_second, i.xray_rate)

    def sampled(requests: float, rule: Sampling) -> float:
        rate = requests / SECONDS_PER_MONTH
        reservoir = min(rate, rule.reservoir_per_second)
        return (reservoir + rule.rate * (rate - reservoir)) * SECONDS_PER_MONTH

    traces = 0.0
    ingest = facts.function("ingest")
    if facts.api_tracing:
        traces += sampled(webhooks, facts.api_sampling or default)
    elif ingest is not None and ingest.tracing:
        traces += sampled(webhooks, default)
    for role, share in (("ticket_sync", 1.0), ("callback", new)):
        fn = facts.function(role)
        if fn is not None and fn.tracing:
            traces += sampled(webhooks * share, default)
    return traces


def _xray_what(facts: StackFacts) -> str:
    rule = facts.api_sampling
    api = (
        f"the stage's rule ({rule.rate:.0%}, reservoir {rule.reservoir_per_second:g}/s)"
        if rule
        else "X-Ray's default rule (1/s + 5%)"
    )
    traced = [r for r in ("ticket_sync", "callback") if (fn := facts.function(r)) and fn.tracing]
    consumers = (
        f"; {' and '.join(traced)} at Lambda's fixed rate (1/s + 5%)"
        if traced
        else "; consumers pass through"
    )
    return f"traces: API by {api}{consumers}"


def custom_metrics(measured: Measured) -> tuple[int, int]:
    """Custom metrics billed every hour of traffic, and those published only when something
    fails (rejections, retries, failures), as (hourly, on failure).

    CloudWatch bills a custom metric per hour in which it receives data, so a counter that
    only failures publish costs nothing in a quiet month. Every metric the story published
    on the local stack (each name with its non-service dimension values, such as a ColdStart
    per function) is billed every hour; the other business metrics the code defines are the
    failure counters. Without a measurement, every defined metric is billed every hour.
    """
    from pandabridge.names import Metric

    defined = {v for k, v in vars(Metric).items() if k.isupper() and isinstance(v, str)}
    if not measured.metric_names:
        return len(defined), 0
    seen_names = {name.split("/")[0] for name in measured.metric_names}
    return len(measured.metric_names), len(defined - seen_names)


def _access_log_line(fmt: str | None) -> str:
    """One access-log line in the stage's format, with typical values."""
    return re.sub(r"\$context\.[A-Za-z.]+", "x" * 24, fmt) if fmt else ""


# ---------------------------------------------------------------------------------------------
# Tables


def run(*, quick: bool = False) -> list[Table]:
    """Synthesize the stack, measure the sizes on the local stack, price the volumes."""
    facts = read_facts(synthesize())
    ingest = facts.function("ingest")
    measured = measure_locally(
        incidents=1 if quick else 3, log_level=ingest.log_level if ingest else "INFO"
    )
    model = build(facts, measured)
    return [
        monthly_table(model),
        per_webhook_table(model),
        archive_table(model),
        targets_table(model),
        prices_table(),
    ]


def monthly_table(model: Model) -> Table:
    table = Table(
        "Monthly cost by service, us-east-1 list prices (USD)",
        ["service", *(f"{v:,} webhooks" for v in VOLUMES)],
    )
    by_volume = {v: model.monthly(v) for v in VOLUMES}
    largest = by_volume[VOLUMES[-1]]
    for service in sorted(largest, key=lambda s: -largest[s]):
        table.add(service, *(_usd(by_volume[v][service]) for v in VOLUMES))
    totals = [sum(by_volume[v].values()) for v in VOLUMES]
    table.add("total", *map(_usd, totals))
    table.add(
        "per 1,000 webhooks", *(_usd(1000 * t / v) for t, v in zip(totals, VOLUMES, strict=True))
    )
    at_1m = by_volume[VOLUMES[1]]
    top = max(at_1m, key=lambda s: at_1m[s])
    f = model.facts
    functions = ", ".join(
        f"{fn.role} {fn.memory_mb} MB {fn.architecture}" for fn in f.functions.values()
    )
    queues = ", ".join(
        f"{role} {'FIFO' if fifo else 'standard'}" for role, fifo in f.queue_fifo.items()
    )
    waf = f"on, {f.waf_rules} rules" if f.waf_rules is not None else "off"
    retention = sorted(set(f.log_retention_days.values()))
    table.notes += [
        f"Read from the synthesized template: functions {functions}; consumed queues "
        f"{queues} ({f.queues} queues with DLQs); {f.on_demand_tables}/{f.tables} tables "
        f"on-demand, {f.pitr_tables} with point-in-time recovery, stream "
        f"{'on' if f.stream else 'off'}; log retention {retention} "
        f"days; {f.alarms} alarms, {f.dashboards} dashboard(s), {f.secrets} secrets, "
        f"{f.kms_keys} KMS key(s); WAF {waf}; authorizer cache {f.authorizer_ttl_seconds} s; "
        f"archive expiry {f.archive_expiry_days} days.",
        f"At 1M webhooks/month the largest item is {top} ({100 * at_1m[top] / totals[1]:.0f}% "
        f"of the total); 10M cost {totals[2] / totals[1]:.1f}x 1M, and 1M "
        f"{totals[1] / totals[0]:.1f}x 10k: fixed costs (alarms, dashboard, metrics, secrets, "
        "idle polling) dominate at 10k.",
        "Free tiers are not deducted. Storage is priced at the steady state after "
        f"{model.inputs.months_retained} months (the archive expires after a year; incident "
        "and ticket items are kept).",
    ]
    return table


def per_webhook_table(model: Model) -> Table:
    table = Table(
        "Per-webhook breakdown (variable costs; fixed monthly costs below, amortised)",
        ["service", "what", "per webhook", "unit price (USD)", "USD per 1M webhooks", "share"],
    )
    total = model.variable_per_million()
    for v in model.volume_lines:
        cost = v.cost(1_000_000)
        table.add(v.service, v.what, "-", "-", _usd(cost), f"{100 * cost / total:.1f}%")
    variable = [line for line in model.lines if line.per_webhook]
    for line in sorted(variable, key=lambda ln: -ln.per_webhook * price(ln.price_key)):
        usd = price(line.price_key)
        cost = line.per_webhook * usd * 1_000_000
        table.add(
            line.service,
            line.what,
            f"{line.per_webhook:.3g} {PRICES[line.price_key]['unit']}",
            f"{usd:.3g}",
            _usd(cost),
            f"{100 * cost / total:.1f}%",
        )
    table.add("total", "variable, per 1M webhooks", "", "", _usd(total), "100%")
    fixed = model.fixed_per_month()
    table.notes += [
        f"Fixed ${fixed:,.2f}/month adds ${1e6 * fixed / v:,.2f} per 1M webhooks at {v:,}/month."
        for v in VOLUMES
    ]
    m, i = model.measured, model.inputs
    hourly, on_failure = custom_metrics(m)
    table.notes += [
        f"Mix from events/story/: {model.new_share:.0%} of webhooks are new incidents "
        "(a ticket, a callback), the rest updates (one desk call each).",
        f"Measured ({m.source}): raw payload {m.raw_payload_bytes:,} B, archived (gzip) "
        f"{m.archived_bytes:,} B, incident item {m.incident_item_bytes:,} B, ticket item "
        f"{m.ticket_item_bytes:,} B, ticket-sync message {m.sync_message_bytes} B, handler log "
        "lines at INFO + EMF: "
        + ", ".join(f"{role} {b:,.0f} B" for role, b in sorted(m.log_bytes.items()))
        + " per webhook.",
        f"Assumed durations (warm, in AWS): ingest {i.ingest_ms:.0f} ms, authorizer "
        f"{i.authorizer_ms:.0f} ms, {i.desk_call_ms:.0f} ms per service-desk call and "
        f"{i.aws_call_ms:.0f} ms per AWS call in ticket sync, callback {i.callback_ms:.0f} ms; "
        f"Lambda platform log lines {i.platform_log_bytes} B per invocation. The local stack "
        "cannot measure these: its desk and BigPanda are loopback stand-ins.",
        f"Custom metrics: {hourly} published by every hour of normal traffic are billed the "
        f"whole month; {on_failure} more count rejections, retries and failures and are "
        "billed only for the hours in which something publishes them (CloudWatch meters a "
        f"custom metric per hour with data): up to ${on_failure * price('metric_month'):.2f} "
        "more in a month when they all fire every hour.",
        "SQS is priced as one receive and one delete per message (batches of one, as at low "
        "rates; under load Lambda receives and deletes up to 10 per request). Pipes stream "
        "reads are assumed billed like any non-Lambda consumer's GetRecords.",
        _large_incident_note(m),
    ]
    return table


def _large_incident_note(m: Measured) -> str:
    from events.large_incident import large_incident

    body = json.dumps(large_incident(1000)).encode()
    zipped = len(gzip.compress(body, compresslevel=6, mtime=0))
    inline = zipped <= 64 * KB
    item = zipped + (m.incident_item_bytes - m.archived_bytes) if inline else m.incident_item_bytes
    return (
        f"A 1,000-alert incident: {len(body) / 1e6:.1f} MB raw, {zipped / KB:,.0f} KiB gzip "
        f"({'inline in the item' if inline else 'archive only'}), so ingest's PutItem costs "
        f"~{math.ceil(item / KB)} WRU instead of {math.ceil(m.incident_item_bytes / KB)}, the "
        f"pipe ~{math.ceil((2 * item + 1000) / (64 * KB))} requests instead of 1, ticket "
        "sync's read more RRU, and the API, Lambda (longer parse) and archive costs grow with "
        "the bytes; the totals above assume the sample's size."
    )


# The archive designs: (every version replayable, what changes), the Firehose one filled in
# with its buffer and the PUTs of its flushes.
ARCHIVE_DESIGNS: Final = {
    "PUT per version": (
        "yes",
        "nothing: one object per version under the incident's prefix, written once",
    ),
    "archive only payloads not inline": (
        "NO",
        "an inline incident keeps only its latest version (the item is overwritten)",
    ),
    "batch through Firehose": (
        "only with a new reader",
        "objects per {buffer} s buffer, not per incident (+${flushes:.2f}/month of PUTs); "
        "replay must find versions in them through an index; no conditional write; "
        "at-least-once delivery, so duplicates to drop",
    ),
}


def archive_options(model: Model) -> dict[str, float]:
    """The variable cost per 1M webhooks under each way of archiving every version: a PUT per
    version (what the stack does); no PUT when the gzip body fits in the item (which holds
    only the latest version, so the earlier ones of an inline incident are lost); or each
    version handed to Firehose, which writes one object per buffer (billed per GB, each
    record rounded up to 5 KB)."""
    keep = model.variable_per_million()
    put = price("s3_put") * 1_000_000
    inline = model.measured.archived_bytes <= (model.facts.inline_payload_max_bytes or 0)
    record_gb = math.ceil(model.measured.archived_bytes / (5 * KB)) * 5 * KB / GB
    return {
        "PUT per version": keep,
        "archive only payloads not inline": keep - put * inline,
        "batch through Firehose": keep - put + record_gb * price("firehose_gb") * 1_000_000,
    }


def archive_table(model: Model) -> Table:
    table = Table(
        "Archive: one S3 PUT per version, or another design (variable USD per 1M webhooks)",
        ["design", "USD per 1M webhooks", "every version replayable", "what changes"],
    )
    buffer = model.inputs.firehose_buffer_seconds
    flushes = SECONDS_PER_MONTH / buffer * price("s3_put")
    for design, cost in archive_options(model).items():
        replayable, change = ARCHIVE_DESIGNS[design]
        table.add(design, _usd(cost), replayable, change.format(buffer=buffer, flushes=flushes))
    table.notes.append(
        f"The measured archive object is {model.measured.archived_bytes:,} B gzip, within the "
        f"inline limit of {model.facts.inline_payload_max_bytes or 0:,} B, so the second design "
        "would skip the PUT for nearly every delivery, and lose every earlier version of those "
        "incidents."
    )
    return table


def targets_table(model: Model) -> Table:
    """The totals against the budget, before and now, and what each lever is worth."""
    variable, fixed = model.variable_per_million(), model.fixed_per_month()
    target = BUDGET["variable_per_million"]
    table = Table(
        "Budget: variable USD per 1M webhooks and fixed USD per month",
        ["total", f"before ({BEFORE['as_of']})", "now", "target", "met"],
    )
    for what, before, now, goal in (
        ("variable per 1M webhooks", BEFORE["variable"], variable, target),
        ("fixed per month", BEFORE["fixed"], fixed, BUDGET["fixed_per_month"]),
    ):
        table.add(what, _usd(before), _usd(now), _usd(goal), "yes" if now <= goal else "NO")
    batched = archive_options(model)["batch through Firehose"]
    ingest = model.facts.function("ingest")
    rest = ""
    if ingest is not None and batched > target:
        halved = _variable_with(model, "ingest", memory_mb=ingest.memory_mb // 2)
        rest = (
            f" The ${_usd(batched - target)} left would need one more lever, such as ingest at "
            f"{ingest.memory_mb // 2} MB (${_usd(variable - halved)}, at half the CPU for "
            "parsing large payloads and for cold starts, which BigPanda, sending once, waits on)."
        )
    table.notes += [
        *lever_notes(model),
        f"The PUT per version (${_usd(price('s3_put') * 1e6)} per 1M) is kept: every version "
        "stays replayable from its incident's prefix and is written once. Batching it through "
        f"Firehose would bring the variable cost to ${_usd(batched)} per 1M webhooks "
        f"({'within' if batched <= target else 'still above'} the target), at the price of a "
        "new replay path (see the archive table); archiving only payloads that are not inline "
        "would lose every earlier version of most incidents." + rest,
    ]
    return table


def _variable_with(model: Model, role: str, **changes: Any) -> float:
    """The variable cost per 1M webhooks with one function changed, all else equal."""
    functions = {**model.facts.functions}
    functions[role] = replace(functions[role], **changes)
    changed = replace(model.facts, functions=functions)
    return build(changed, model.measured, model.inputs).variable_per_million()


def lever_notes(model: Model) -> list[str]:
    """What each lever saves now, priced by undoing it on the same template and sizes."""
    facts, now = model.facts, model.variable_per_million()
    traced = {
        role: replace(fn, tracing=True) if role in {"ticket_sync", "callback"} else fn
        for role, fn in facts.functions.items()
    }
    untuned = replace(facts, api_sampling=None, functions=traced)
    xray_before = build(untuned, model.measured, model.inputs).variable_per_million()
    notes = [
        f"X-Ray: the stage's own rule and PassThrough consumers save ${_usd(xray_before - now)} "
        "per 1M webhooks (X-Ray's default rule, whose reservoir of one a second traces nearly "
        "every delivery, and Lambda's fixed rate for the queue-fed functions, traced all three)."
    ]
    sync = facts.function("ticket_sync")
    if sync is not None and sync.memory_mb < 512:
        at_512 = _variable_with(model, "ticket_sync", memory_mb=512)
        notes.append(
            f"Ticket sync at {sync.memory_mb} MB instead of 512 MB saves ${_usd(at_512 - now)} "
            "per 1M webhooks: in the model's durations it waits on the service desk (250 ms a "
            "call) and AWS (10 ms a call) for nearly all of its time, so less CPU leaves them "
            "unchanged."
        )
    hourly, on_failure = custom_metrics(model.measured)
    before, metric = int(BEFORE["metrics"]), price("metric_month")
    notes.append(
        f"Custom metrics: {hourly} billed every hour (${_usd(hourly * metric)}/month) and "
        f"{on_failure} on failure only, where the last run before billed {before} every hour "
        f"(${_usd(before * metric)}/month): TicketCommented, PayloadBytes, AuthorizerAllowed "
        "and the ColdStart metrics are no longer published (no graph, alarm or runbook used "
        "them; Lambda's REPORT line gives each cold start's init duration)."
    )
    return notes


def prices_table() -> Table:
    table = Table(
        f"Prices assumed (us-east-1 list prices as of {DATA['as_of']}, not fetched)",
        ["key", "what", "USD"],
    )
    for key, entry in PRICES.items():
        table.add(key, entry["what"], f"{entry['usd']:.10g}")
    table.notes.append(
        "From bench/prices.toml, written from the public price pages as known at that date; no "
        "network access was used. Check them before quoting a budget."
    )
    return table


def _usd(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 1:
        return f"{value:,.2f}"
    return f"{value:.3f}" if value >= 0.001 else f"{value:.2g}"
