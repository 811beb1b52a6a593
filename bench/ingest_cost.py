"""Benchmark 2: what one warm webhook costs the ingest function, and where the time goes.

Two baselines measured in the same run, interleaved with the real work so that the noise of a
shared machine falls on both alike: ``json.loads`` of the same bytes (the least any handler
must spend to read the body) and a naive handler that does ``json.loads`` + one ``put_item``
of the raw JSON on the same moto server (the least any storing handler must spend, which also
shows what it cannot store). Times are the medians of repeated runs: CPU time of the calling
thread (``time.thread_time``), which leaves out the moto server running in its own thread of
this process, and wall time, which does not.

Targets: parse + validation + hashing + compression within 3x ``json.loads`` at 1,000 alerts;
the whole handler within 1.5x the naive handler.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import gzip
import io
import json
import logging
import math
import os
import statistics
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from bench.report import Table
from events.large_incident import large_incident
from local.aws import (
    MotoServer,
    aws_client,
    client_environment,
    create_resources,
    function_environment,
)
from local.context import LambdaContext
from local.names import INCIDENTS_TABLE, PAYLOAD_BUCKET
from pandabridge.incidents import ingest
from pandabridge.models import WebhookPayload
from pandabridge.names import Limits
from pandabridge.parsing import parse_webhook
from pandabridge.stores.incidents import IncidentStore
from pandabridge.versioning import canonical_json, content_hash

REPO_ROOT: Final = Path(__file__).resolve().parents[1]
SAMPLE: Final = REPO_ROOT / "events" / "sample.json"
ALERT_COUNTS: Final = (100, 1_000, 5_000)
TARGET_ALERTS: Final = 1_000
PARSE_TARGET: Final = 3.0
HANDLER_TARGET: Final = 1.5
REPEATS: Final = 15
QUICK_REPEATS: Final = 3
WARMUP: Final = 2
MS: Final = 1000.0


@dataclass(frozen=True)
class Payload:
    """One benchmark body, as text, in as many copies as runs: each with its own incident id,
    so that every handler run is a first delivery (``created``), the costliest outcome."""

    name: str
    alerts: int
    texts: tuple[str, ...]

    @property
    def size(self) -> int:
        return len(self.texts[0].encode())


def payloads(copies: int) -> list[Payload]:
    """The vendor sample, then the generated incidents of ``ALERT_COUNTS`` alerts."""
    sample = json.loads(SAMPLE.read_text())
    texts = []
    for n in range(copies):
        sample["incident"]["id"] = f"bench-sample-{n:04d}"
        texts.append(json.dumps(sample))
    found = [Payload("sample", len(sample["incident"]["alerts"]), tuple(texts))]
    for count in ALERT_COUNTS:
        template = json.dumps(large_incident(count, incident_id="bench-0000"))
        copies_of = tuple(template.replace("bench-0000", f"bench-{n:04d}") for n in range(copies))
        found.append(Payload(f"{count:,} alerts", count, copies_of))
    return found


@dataclass
class Samples:
    """Per-measure lists of (CPU, wall) seconds, reduced to medians in milliseconds."""

    cpu: dict[str, list[float]] = field(default_factory=dict)
    wall: dict[str, list[float]] = field(default_factory=dict)

    def add(self, name: str, cpu: float, wall: float) -> None:
        self.cpu.setdefault(name, []).append(cpu)
        self.wall.setdefault(name, []).append(wall)

    def ms(self, name: str, *, wall: bool = False) -> float:
        return statistics.median((self.wall if wall else self.cpu)[name]) * MS


def timed(samples: Samples, name: str, call: Callable[[], Any], *, collect: bool = True) -> Any:
    """Time one call; ``collect=False`` holds the cyclic garbage collector during it.

    The collector's passes grow with everything else alive in the process (here the moto
    server's stored payloads too), so a baseline timed with it on would be slowed by this
    bench's own heap: the baselines and the stage columns are timed with it held, as
    ``parse_webhook`` holds it itself, which favours the baselines, not the code measured.
    """
    paused = not collect and gc.isenabled()
    if paused:
        gc.disable()
    try:
        cpu, wall = time.thread_time(), time.perf_counter()
        result = call()
        samples.add(name, time.thread_time() - cpu, time.perf_counter() - wall)
    finally:
        if paused:
            gc.enable()
    return result


class _TimedClient:
    """A boto3 client whose calls of ``methods`` are timed; everything else passes through.

    The store's two writes cannot be told apart from outside ``save_if_newer``; timing them at
    the client keeps the store's own code unchanged.
    """

    def __init__(self, client: Any, samples: Samples, methods: dict[str, str]) -> None:
        self._client = client
        self._samples = samples
        self._methods = methods

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if name not in self._methods:
            return attribute
        label = self._methods[name]

        def call(**kwargs: Any) -> Any:
            cpu, wall = time.thread_time(), time.perf_counter()
            try:
                return attribute(**kwargs)
            finally:
                self._samples.add(label, time.thread_time() - cpu, time.perf_counter() - wall)

        return call


@contextlib.contextmanager
def moto_environment() -> Iterator[MotoServer]:
    """A moto server with the stack's resources, empty, and the environment the function gets
    in the stack; the previous environment comes back afterwards."""
    server = MotoServer().start()
    saved = dict(os.environ)
    requests = logging.getLogger("werkzeug")  # the server's one line per request
    level = requests.level
    requests.setLevel(logging.WARNING)
    try:
        # moto keeps its data per process, not per server: what an earlier benchmark of this
        # run stored (the naive handler's raw items, say) would otherwise be read back here.
        server.reset()
        os.environ.update(
            client_environment(server.endpoint) | function_environment(server.endpoint)
        )
        create_resources(server.endpoint)
        yield server
    finally:
        os.environ.clear()
        os.environ.update(saved)
        requests.setLevel(level)
        server.stop()


@contextlib.contextmanager
def quiet_function_output() -> Iterator[None]:
    """Powertools' log lines and EMF metrics still get formatted (they are part of the cost),
    but go nowhere instead of flooding the table."""
    from ingest.handler import logger

    sink = io.StringIO()
    handlers = [h for h in logging.getLogger(logger.name).handlers if hasattr(h, "setStream")]
    previous = [h.setStream(sink) for h in handlers]
    try:
        with contextlib.redirect_stdout(sink):
            yield
    finally:
        for handler, stream in zip(handlers, previous, strict=True):
            handler.setStream(stream)


def proxy_event(body: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads(
        (REPO_ROOT / "events" / "apigateway" / "test-console-sample.json").read_text()
    )
    event["body"] = body
    event["isBase64Encoded"] = False
    return event


def _naive_store(dynamodb: Any, text: str) -> bool:
    """The baseline: read the body, write it whole as one item; False when DynamoDB refuses."""
    document = json.loads(text)
    try:
        dynamodb.put_item(
            TableName=INCIDENTS_TABLE.local_name,
            Item={
                INCIDENTS_TABLE.partition_key: {"S": document["incident"]["id"]},
                "payload": {"S": text},
            },
        )
    except dynamodb.exceptions.ClientError as error:
        if error.response["Error"]["Code"] != "ValidationException":
            raise
        return False
    return True


def _parse_stages(samples: Samples, text: str) -> None:
    """The costly steps of ``parse_webhook`` and the store's gzip, each on its own, through the
    same public functions (the JSON parse itself is the ``json.loads`` column)."""

    def stage(name: str, call: Callable[[], Any]) -> Any:
        return timed(samples, name, call, collect=False)

    document = json.loads(text)
    stage("validate", lambda: WebhookPayload.model_validate(document))
    stage("hash", lambda: content_hash(canonical_json(document)))
    stage("gzip", lambda: gzip.compress(text.encode(), compresslevel=Limits.GZIP_LEVEL, mtime=0))


def measure(payload: Payload, endpoint: str, repeats: int) -> tuple[Samples, int]:
    """Every measure of one payload, interleaved run by run; returns the samples and how many
    of the naive handler's writes DynamoDB accepted."""
    from ingest.handler import handler

    dynamodb = aws_client("dynamodb", endpoint)
    samples = Samples()
    store = IncidentStore(
        table_name=INCIDENTS_TABLE.local_name,
        bucket_name=PAYLOAD_BUCKET.local_name,
        dynamodb=_TimedClient(aws_client("dynamodb", endpoint), samples, {"put_item": "ddb"}),
        s3=_TimedClient(aws_client("s3", endpoint), samples, {"put_object": "s3"}),
    )
    context = LambdaContext(function_name="ingest")
    naive_stored = 0
    for run in range(WARMUP + repeats):
        warm = Samples() if run < WARMUP else samples
        text = payload.texts[run % len(payload.texts)]
        store_text = text.replace('"bench-', '"store-', 1)
        event = proxy_event(text.replace('"bench-', '"handler-', 1))
        raw = text.encode()
        timed(warm, "json.loads", lambda: _loads(raw), collect=False)  # noqa: B023
        stored = timed(warm, "naive", lambda: _naive_store(dynamodb, text), collect=False)  # noqa: B023
        naive_stored += stored and run >= WARMUP
        timed(warm, "share", lambda: _share(text))  # noqa: B023
        _parse_stages(warm, text)
        webhook = timed(warm, "parse_webhook", lambda: parse_webhook(store_text))  # noqa: B023
        timed(warm, "ingest", functools.partial(ingest, webhook, store))
        cpu, wall = time.thread_time(), time.perf_counter()
        del webhook  # the handler frees what it parsed before it returns
        warm.add("free", time.thread_time() - cpu, time.perf_counter() - wall)
        with quiet_function_output():
            answer = timed(warm, "handler", lambda: handler(event, context))  # noqa: B023
        if answer["statusCode"] != 200:
            raise RuntimeError(f"{payload.name}: the handler answered {answer['statusCode']}")
    return samples, naive_stored


def _loads(raw: bytes) -> None:
    """The baseline as a handler would spend it: parse, then free the document on return,
    as ``_share`` frees what it built."""
    json.loads(raw)


def _share(text: str) -> None:
    """What the target counts: the whole parse (decode, parse, depth, validation, canonical
    JSON + SHA-256) and the compression the store adds."""
    webhook = parse_webhook(text)
    gzip.compress(webhook.raw, compresslevel=Limits.GZIP_LEVEL, mtime=0)


def run(*, quick: bool = False) -> list[Table]:
    repeats = QUICK_REPEATS if quick else REPEATS
    found = payloads(WARMUP + repeats)
    with moto_environment() as server:
        results = [(payload, *measure(payload, server.endpoint, repeats)) for payload in found]
    return [_parse_table(results), _handler_table(results, repeats)]


Result = tuple[Payload, Samples, int]


def _parse_table(results: Sequence[Result]) -> Table:
    table = Table(
        "Ingest: parse, validate, hash and compress (CPU ms per webhook, median)",
        [
            "payload",
            "body KB",
            "json.loads",
            "validate",
            "canon+sha256",
            "gzip",
            "parse_webhook",
            "share",
            "share/loads",
        ],
    )
    target_ratio = None
    floors = [math.nan] * 3
    for payload, s, _ in results:
        ratio = s.ms("share") / s.ms("json.loads")
        if payload.alerts == TARGET_ALERTS:
            target_ratio = ratio
            floors = [s.ms(n) / s.ms("json.loads") for n in ("validate", "hash", "gzip")]
        table.add(
            payload.name,
            payload.size / 1024,
            s.ms("json.loads"),
            s.ms("validate"),
            s.ms("hash"),
            s.ms("gzip"),
            s.ms("parse_webhook"),
            s.ms("share"),
            f"{ratio:.2f}x",
        )
    table.notes += [
        "share = parse_webhook (decode, JSON parse with the NaN, range, repeated-key and "
        "nesting checks, pydantic validation, canonical JSON + SHA-256) + gzip of the body, "
        "timed as one call that also frees what it built (as json.loads is timed); validate, "
        "canon+sha256 and gzip are its costly steps timed one by one, without freeing; "
        "parse_webhook is timed alone on the same bodies.",
        f"Target: share <= {PARSE_TARGET:g}x json.loads of the same bytes at "
        f"{TARGET_ALERTS:,} alerts; measured {target_ratio:.2f}x: "
        + ("met." if target_ratio is not None and target_ratio <= PARSE_TARGET else "NOT met.")
        + f" Validation (one model instance per alert and per tag: {floors[0]:.1f}x) and the "
        f"canonical JSON + SHA-256 ({floors[1]:.1f}x; the standard library's encoder, whose "
        "exact output is the content hash) each cost more than json.loads on their own, and "
        f"gzip adds {floors[2]:.1f}x: what is left of the target for parsing is less than "
        "any JSON parser here takes.",
        f"gzip level {Limits.GZIP_LEVEL}; CPU time of the calling thread, median of the runs. "
        "json.loads and the stages are timed with the cyclic garbage collector held, as "
        "parse_webhook holds it during the parse.",
    ]
    return table


def _handler_table(results: Sequence[Result], repeats: int) -> Table:
    table = Table(
        "Ingest: warm handler on a moto server (ms per webhook, median)",
        [
            "payload",
            "handler CPU",
            "handler wall",
            "naive CPU",
            "naive wall",
            "CPU ratio",
            "wall ratio",
            "parse",
            "S3 put",
            "DDB put",
            "free",
            "Powertools",
            "naive stored",
        ],
    )
    verdicts = []
    for payload, s, naive_stored in results:
        cpu_ratio = s.ms("handler") / s.ms("naive")
        wall_ratio = s.ms("handler", wall=True) / s.ms("naive", wall=True)
        overhead = s.ms("handler") - s.ms("parse_webhook") - s.ms("ingest") - s.ms("free")
        can_store = naive_stored == repeats
        table.add(
            payload.name,
            s.ms("handler"),
            s.ms("handler", wall=True),
            s.ms("naive"),
            s.ms("naive", wall=True),
            f"{cpu_ratio:.2f}x",
            f"{wall_ratio:.2f}x",
            s.ms("parse_webhook"),
            s.ms("s3"),
            s.ms("ddb"),
            s.ms("free"),
            overhead,
            "yes" if can_store else f"no ({naive_stored}/{repeats})",
        )
        if can_store:
            verdicts.append((payload.name, cpu_ratio))
    within = [name for name, ratio in verdicts if ratio <= HANDLER_TARGET]
    over = [f"{name} ({ratio:.2f}x)" for name, ratio in verdicts if ratio > HANDLER_TARGET]
    table.notes += [
        "handler = the real ingest handler (API Gateway proxy event in, Powertools resolver, "
        "logger and metrics, S3 archive, one conditional PutItem); naive = json.loads + one "
        "put_item of the raw JSON as a string attribute, on the same moto server.",
        "CPU is the calling thread's, so it leaves out the moto server's own thread; wall "
        "time includes it. parse = parse_webhook; S3 put and DDB put = the client calls "
        "inside the store; free = dropping the parsed webhook, which the handler does before "
        "it returns; Powertools = handler CPU - parse - the store's save (gzip and both "
        "writes) - free, i.e. the resolver, logging, metrics and the event objects.",
        f"Target: handler <= {HANDLER_TARGET:g}x the naive handler (CPU). Where the naive "
        f"handler can store: within target {', '.join(within) or 'none'}; over "
        f"{', '.join(over) or 'none'}. Where it cannot (an item over DynamoDB's 400 KB), "
        "there is no baseline: the naive handler loses the delivery.",
        "What stands in the way: the handler makes two AWS calls (the S3 archive README "
        "promises for every version, then the conditional write) where the naive one makes "
        "one, and each call's client-side cost (signing, serialising, HTTP) is about the "
        "naive handler's whole time on small bodies; from 1,000 alerts on, the parse share "
        "above dominates instead.",
    ]
    return table
