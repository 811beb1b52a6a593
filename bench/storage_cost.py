"""Benchmark 3: what one stored version costs in DynamoDB and S3, against the raw JSON as an item.

Each payload is ingested through the real store on a moto server; the item is then read back as
DynamoDB holds it and sized the way DynamoDB bills it (attribute names plus values: strings and
binaries by their bytes, numbers by about one byte per two significant digits plus one,
booleans and nulls one byte, lists and maps three bytes plus one per element and their
contents). A standard ``PutItem`` costs one write unit per 1 KB, rounded up; a conditional one
costs the same, and a refused conditional write is billed as if it had written.

Target: the stored version's DynamoDB write within 0.3x of the raw JSON item's at 1,000 alerts.
"""

from __future__ import annotations

import base64
import gzip
import math
import time
from decimal import Decimal
from typing import Any, Final

from bench.ingest_cost import TARGET_ALERTS, moto_environment, payloads
from bench.report import Table
from local.aws import aws_client
from local.names import INCIDENTS_TABLE, PAYLOAD_BUCKET
from pandabridge.incidents import ingest
from pandabridge.names import Limits
from pandabridge.parsing import parse_webhook
from pandabridge.stores.incidents import IncidentStore

KB: Final = 1024
ITEM_LIMIT: Final = 400 * KB
STORAGE_TARGET: Final = 0.3
GZIP_LEVELS: Final = (1, 3, 6, 9)
LEVEL_REPEATS: Final = 9
QUICK_LEVEL_REPEATS: Final = 3


def attribute_size(value: dict[str, Any]) -> int:
    """The billed size of one attribute value in DynamoDB's wire format (by the rules in the
    module docstring; DynamoDB publishes rules, not code, so this follows them by hand)."""
    (kind, inner), *_ = value.items()
    if kind == "S":
        return len(inner.encode())
    if kind == "B":
        return len(inner if isinstance(inner, bytes) else base64.b64decode(inner))
    if kind == "N":
        digits = Decimal(inner).normalize().as_tuple().digits
        return (len(digits) + 1) // 2 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + attribute_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + attribute_size(v) for k, v in inner.items())
    return sum(attribute_size({kind[0]: v}) for v in inner)  # SS, NS, BS


def item_size(item: dict[str, dict[str, Any]]) -> int:
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


def write_units(size: int) -> int:
    return max(1, math.ceil(size / KB))


def run(*, quick: bool = False) -> list[Table]:
    found = payloads(1)
    with moto_environment() as server:
        dynamodb = aws_client("dynamodb", server.endpoint)
        s3 = aws_client("s3", server.endpoint)
        store = IncidentStore(
            table_name=INCIDENTS_TABLE.local_name,
            bucket_name=PAYLOAD_BUCKET.local_name,
            dynamodb=dynamodb,
            s3=s3,
        )
        table = Table(
            "Storage: bytes and write units per stored version",
            [
                "payload",
                "raw JSON",
                "raw item",
                "raw WCU",
                "gzip (S3)",
                "item",
                "inline",
                "WCU",
                "WCU ratio",
                "bytes ratio",
            ],
        )
        target_ratio = None
        for payload in found:
            text = payload.texts[0]
            webhook = parse_webhook(text)
            ingest(webhook, store)
            key = {INCIDENTS_TABLE.partition_key: {"S": webhook.incident_id}}
            item = dynamodb.get_item(
                TableName=INCIDENTS_TABLE.local_name, Key=key, ConsistentRead=True
            )["Item"]
            archived = s3.head_object(
                Bucket=PAYLOAD_BUCKET.local_name, Key=item["archive_key"]["S"]
            )["ContentLength"]
            raw_item = item_size(key | {"payload": {"S": text}})
            size = item_size(item)
            wcu_ratio = write_units(size) / write_units(raw_item)
            bytes_ratio = (size + archived) / raw_item
            if payload.alerts == TARGET_ALERTS:
                target_ratio = wcu_ratio
            fits = raw_item <= ITEM_LIMIT
            table.add(
                payload.name,
                f"{len(webhook.raw) / KB:,.1f} KB",
                f"{raw_item / KB:,.1f} KB" if fits else f"cannot store ({raw_item / KB:,.0f} KB)",
                write_units(raw_item),
                f"{archived / KB:,.1f} KB",
                f"{size / KB:,.1f} KB",
                "yes" if "payload" in item else "no",
                write_units(size),
                f"{wcu_ratio:.2f}x",
                f"{bytes_ratio:.2f}x",
            )
    met = target_ratio is not None and target_ratio <= STORAGE_TARGET
    table.notes += [
        "raw item = the incident id plus the body as one string attribute; its WCU is what "
        "a PutItem of it would cost, even where it exceeds DynamoDB's 400 KB item limit and "
        "cannot be stored at all.",
        "item = the stored version as written (summary attributes, archive key, and the gzip "
        f"body inline when it compresses to at most {Limits.INLINE_PAYLOAD_MAX_BYTES // KB} "
        "KiB); WCU = ceil(item size / 1 KB), the same for the conditional write it is, and "
        "for a refused one.",
        "WCU ratio = item WCU / raw item WCU (what DynamoDB bills); bytes ratio = (item + "
        "gzip object in S3) / raw item, everything written per version.",
        f"Target: WCU ratio <= {STORAGE_TARGET:g}x at {TARGET_ALERTS:,} alerts; measured "
        f"{target_ratio:.2f}x: " + ("met." if met else "NOT met."),
        f"gzip level {Limits.GZIP_LEVEL}. S3 bills per request, not per byte written; its "
        "bytes count in storage (until the archive expires them).",
    ]
    return [table, _levels_table(found, quick=quick)]


def _levels_table(found: list[Any], *, quick: bool) -> Table:
    """Why the gzip level is what it is: CPU against bytes, each level on every payload."""
    repeats = QUICK_LEVEL_REPEATS if quick else LEVEL_REPEATS
    table = Table(
        "Storage: gzip level, CPU against bytes and write units",
        ["payload", *(f"level {n}" for n in GZIP_LEVELS)],
    )
    for payload in found:
        raw = payload.texts[0].encode()
        cells = []
        for level in GZIP_LEVELS:
            times = []
            for _ in range(repeats):
                start = time.thread_time()
                size = len(gzip.compress(raw, compresslevel=level, mtime=0))
                times.append(time.thread_time() - start)
            cpu = sorted(times)[len(times) // 2] * 1000
            cells.append(f"{cpu:.2f} ms, {size / KB:,.1f} KB, {write_units(size)} WCU")
        table.add(payload.name, *cells)
    table.notes += [
        f"The store uses level {Limits.GZIP_LEVEL}. A write unit per inline KB is billed on "
        "every stored version, while the CPU a lower level saves is a few milliseconds of a "
        "warm function: the bytes cost more than the time.",
        "Above the inline limit the body is only in S3, where the level changes storage, not "
        "write units.",
    ]
    return table
