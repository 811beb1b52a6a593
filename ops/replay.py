"""Send an incident's archived versions through the pipeline again.

Each archived body goes through ingest's own decision (``parse_webhook`` + ``ingest`` on the
real store), exactly as if BigPanda had delivered it again: a version that is already stored
answers ``duplicate`` or ``stale`` and changes nothing, a lost one is stored again and reaches
ticket sync through the stream. Because that path only fires on a change, the replay then
nudges ticket sync for the latest stored version itself (a fresh deduplication id, so SQS does
not drop it as a repeat of the pipe's nudge): the ticket is reconciled even when ingest had
nothing new.
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TextIO

from ops.archive import ArchivedVersion, incident_prefix, list_versions, read_raw
from ops.discovery import Resource, Target
from ops.errors import OpsError
from pandabridge.fifo import fifo_id
from pandabridge.handoff import render_message
from pandabridge.identity import DEFAULT_INTEGRATION, SEPARATOR, IncidentKey, is_integration_name
from pandabridge.incidents import IngestResult, ingest
from pandabridge.messages import SyncNudge
from pandabridge.parsing import InvalidWebhookError, ParsedWebhook, parse_webhook
from pandabridge.stores.incidents import IncidentStore


@dataclass(frozen=True)
class Prepared:
    """An archived version read back: the parsed delivery, or why it cannot be replayed."""

    version: ArchivedVersion
    webhook: ParsedWebhook | None
    problem: str = ""  # "expired: ..." or "invalid: ..."

    @property
    def order(self) -> tuple[datetime, str, str]:
        # S3 times have a resolution of one second, so versions archived within the same
        # second are put in version order; the key makes the order total.
        version_key = self.webhook.version.key if self.webhook else ""
        return (self.version.last_modified, version_key, self.version.key)


def command(target: Target, incident_id: str, *, latest_only: bool, out: TextIO) -> int:
    """``replay INCIDENT_ID``: exit status 0 if every version went through ingest, else 1."""
    aws, resources = target.aws, target.resources
    store = IncidentStore(
        table_name=resources[Resource.INCIDENTS_TABLE],
        bucket_name=resources[Resource.PAYLOAD_BUCKET],
        dynamodb=aws.client("dynamodb"),
        s3=aws.client("s3"),
        inline_payload_max_bytes=target.inline_payload_max_bytes,
    )
    queue_url = resources[Resource.TICKET_SYNC_QUEUE_URL]
    versions = list_versions(store.s3, store.bucket_name, incident_id)
    if not versions:
        where = f"s3://{store.bucket_name}/{incident_prefix(incident_id)}"
        raise OpsError(f"incident {incident_id} has no archived versions under {where}")
    key = incident_key(store, incident_id)
    batches = _same_second_batches(versions)
    if latest_only:
        batches = batches[-1:]
    count = 1 if latest_only else len(versions)
    out.write(f"replaying {count} of {len(versions)} archived versions of {incident_id}\n")
    failures = 0
    number = 0
    for batch in batches:
        prepared = sorted((prepare(store, key, v) for v in batch), key=lambda p: p.order)
        for item in prepared[-1:] if latest_only else prepared:
            number += 1
            result, detail = replay_one(store, item, key.integration)
            failures += result not in _INGEST_RESULTS
            stamp = item.version.last_modified.isoformat(timespec="seconds")
            out.write(
                f"[{number}/{count}] {stamp} {item.version.content_hash[:12]} "
                f"{result:<9} {detail}\n"
            )
    stored = store.get(incident_id)
    if stored is None:
        out.write("nothing stored for the incident: ticket sync not nudged\n")
        return 1
    nudge = SyncNudge(
        incident_id=incident_id,
        version=stored.summary.version.key,
        sha256=stored.summary.content_hash,
    )
    send_nudge(aws.client("sqs"), queue_url, nudge)
    out.write(
        f"nudged ticket sync for stored version {stored.summary.version.as_json()} "
        f"({stored.summary.content_hash[:12]})\n"
    )
    return 1 if failures else 0


_INGEST_RESULTS = frozenset(result.value for result in IngestResult)


def _same_second_batches(versions: list[ArchivedVersion]) -> list[list[ArchivedVersion]]:
    """Versions grouped by LastModified, oldest first: only a group needs reading to order."""
    batches: list[list[ArchivedVersion]] = []
    for version in versions:
        if batches and batches[-1][0].last_modified == version.last_modified:
            batches[-1].append(version)
        else:
            batches.append([version])
    return batches


def incident_key(store: IncidentStore, storage_key: str) -> IncidentKey:
    """The integration and BigPanda id behind a storage key, as the stored item records them;
    for an incident lost from the table, a key of the shape ``<integration>#<id>`` is taken as
    that integration's (a default incident id of that shape is refused while the integration
    exists, ``pandabridge.identity``)."""
    try:
        stored = store.get(storage_key)
    except LookupError:  # the item is there, its payload expired: the item still says
        stored = None
    if stored is not None:
        return stored.summary.key
    prefix, separator, rest = storage_key.partition(SEPARATOR)
    if separator and rest and is_integration_name(prefix):
        return IncidentKey.parse(storage_key, (prefix,))
    return IncidentKey(DEFAULT_INTEGRATION, storage_key)


def prepare(store: IncidentStore, key: IncidentKey, version: ArchivedVersion) -> Prepared:
    """Read one archived body back and parse it as ingest would."""
    try:
        raw = read_raw(store.s3, store.bucket_name, version.key)
    except store.s3.exceptions.NoSuchKey:
        return Prepared(version, None, "expired: the archive no longer holds it")
    try:
        # As base64, so that the parser sees the archived bytes themselves, not a re-encoding.
        webhook = parse_webhook(base64.b64encode(raw).decode("ascii"), is_base64_encoded=True)
    except InvalidWebhookError as error:
        return Prepared(version, None, f"invalid: {error}")
    if webhook.incident_id != key.incident_id:
        return Prepared(version, None, f"invalid: the body is of incident {webhook.incident_id}")
    return Prepared(version, webhook)


def replay_one(
    store: IncidentStore, item: Prepared, integration: str = DEFAULT_INTEGRATION
) -> tuple[str, str]:
    """Ingest's decision on one prepared version of ``integration``: (result, detail)."""
    if item.webhook is None:
        result, _, detail = item.problem.partition(": ")
        return result, detail
    outcome = ingest(item.webhook, store, integration=integration)
    detail = f"version {outcome.version.as_json()}"
    if outcome.result is IngestResult.STALE:
        detail += f" (stored {outcome.stored_version.as_json()})"
    return outcome.result.value, detail


def send_nudge(sqs: Any, queue_url: str, nudge: SyncNudge) -> None:
    """Put a nudge on the ticket-sync queue in the incident's message group, as the pipe does."""
    sqs.send_message(
        QueueUrl=queue_url,
        MessageBody=render_message(nudge),
        MessageGroupId=fifo_id(nudge.incident_id),
        MessageDeduplicationId=f"replay-{uuid.uuid4().hex}",
    )
