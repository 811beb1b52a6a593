"""Concurrent deliveries of one incident: the conditional write admits exactly one winner.

The threads run the ingest use case with the real store, as the handler does, against the moto
server over HTTP. The moto server applies each request atomically (as DynamoDB applies a
conditional write), so a read-then-write implementation would let several threads see the
incident as absent and report more than one ``created``.
"""

from __future__ import annotations

import copy
import json
import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from pandabridge.composition.ingest import incident_store
from pandabridge.incidents import IngestOutcome, IngestResult, ingest
from pandabridge.parsing import parse_webhook
from tests.handlers.conftest import Aws

THREADS = 25


def deliver_all_at_once(bodies: list[str]) -> list[IngestOutcome]:
    """Parse every body, then release all threads together at a barrier to store them."""
    store = incident_store()
    start = threading.Barrier(len(bodies))

    def deliver(body: str) -> IngestOutcome:
        webhook = parse_webhook(body)
        start.wait(timeout=30)
        return ingest(webhook, store)

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(deliver, bodies))


@pytest.mark.usefixtures("aws")
def test_same_payload_from_25_threads_is_created_exactly_once(sample_text: str) -> None:
    outcomes = deliver_all_at_once([sample_text] * THREADS)
    counts = Counter(o.result for o in outcomes)
    assert counts == {IngestResult.CREATED: 1, IngestResult.DUPLICATE: THREADS - 1}


def test_concurrent_versions_end_at_the_newest_with_one_creation(
    sample: dict[str, Any], aws: Aws
) -> None:
    # Given 25 versions of one incident, delivered at once in shuffled order
    versions = []
    for n in range(THREADS):
        payload = copy.deepcopy(sample)
        payload["incident"]["updatedOn"] += n
        versions.append(payload)
    bodies = [json.dumps(v) for v in versions]
    random.Random(7).shuffle(bodies)
    # When they race
    outcomes = deliver_all_at_once(bodies)
    # Then exactly one created the incident, and the stored state is the newest version
    counts = Counter(o.result for o in outcomes)
    assert counts[IngestResult.CREATED] == 1
    assert counts[IngestResult.DUPLICATE] == 0
    newest = versions[-1]["incident"]["updatedOn"]
    assert incident_store().get(sample["incident"]["id"]).summary.version.updated_on == newest
    assert len(aws.items()) == 1
    # And every write that lost was told so against a newer stored version
    for outcome in outcomes:
        if outcome.result is IngestResult.STALE:
            assert outcome.stored_version > outcome.version
