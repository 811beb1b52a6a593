"""A burst of webhooks: 60 over 12 incidents, out of order and duplicated, from 8 threads.

Each incident gets four versions (critical, warning, commented, then resolved or critical
again) and a re-formatted copy of one of them; all 60 are shuffled and posted at once. Once the
pipeline settles, each incident must be stored at its newest version and have exactly one
ticket, matching that version, and exactly one callback.
"""

from __future__ import annotations

import copy
import json
import random
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import pytest

from local.names import INCIDENTS_TABLE
from tests.local_stack.harness import HttpAnswer, StackProcess, aws_client, queued_messages

INCIDENTS = 12
THREADS = 8
SEED = 20231126
# 60 webhooks take a few seconds to settle; the bound leaves room for a slow machine.
SETTLE_SECONDS = 45.0
UPDATED_ON = 1701028336

Payload = dict[str, Any]


@dataclass(frozen=True)
class Incident:
    incident_id: str
    versions: tuple[Payload, ...]  # oldest first

    @property
    def newest(self) -> Payload:
        return self.versions[-1]

    @property
    def expected_title(self) -> str:
        """The title the newest version calls for (severity stays critical: P1)."""
        status = "Resolved" if not self.newest["incident"]["active"] else "Critical"
        return f"BigPanda Incident: P1 - Evyatar-11 - {status}"

    @property
    def expected_status(self) -> str:
        return "open" if self.newest["incident"]["active"] else "resolved"


@dataclass(frozen=True)
class Burst:
    incidents: tuple[Incident, ...]
    answers: tuple[tuple[str, HttpAnswer], ...]  # (incident id, answer), in posting order
    settle_seconds: float


def versions_of(sample: Payload, incident_id: str, number: int) -> tuple[Payload, ...]:
    """Four versions, each newer than the last; even incidents end resolved, odd critical."""

    def version(step: int, status: str, *, active: bool = True) -> Payload:
        payload = copy.deepcopy(sample)
        incident = payload["incident"]
        stamp = UPDATED_ON + 60 * step
        incident.update(
            id=incident_id, status=status, active=active, resolved=not active, severity="Critical"
        )
        incident.update(updatedOn=stamp, changedOn=stamp, endedOn=None if active else stamp)
        payload["event_types"] = [{"event": "incident#updated", "time": stamp}]
        for alert in incident["alerts"]:
            alert.update(status=status, active=active, description=f"CPU at step {step}")
        return payload

    commented = version(3, "Warning")
    commented["metadata"]["comment"] = {"comment": f"burst {number}", "environment": "All"}
    last = version(4, "Ok", active=False) if number % 2 == 0 else version(4, "Critical")
    return (version(1, "Critical"), version(2, "Warning"), commented, last)


def post_all(stack: StackProcess, bodies: list[tuple[str, bytes]]) -> list[tuple[str, HttpAnswer]]:
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        answers = pool.map(lambda item: stack.post_webhook(item[1]), bodies)
        return [
            (incident_id, answer) for (incident_id, _), answer in zip(bodies, answers, strict=True)
        ]


def settled(stack: StackProcess, incidents: tuple[Incident, ...], sqs: Any) -> bool:
    """Every incident has its one ticket in its newest state and its one callback, and both
    queues are empty."""
    desk = {}
    for record in stack.desk_records():
        desk.setdefault(record["incident_id"], []).append(record)
    for incident in incidents:
        tickets = desk.get(incident.incident_id, [])
        if [(t["title"], t["status"]) for t in tickets] != [
            (incident.expected_title, incident.expected_status)
        ]:
            return False
        if len(stack.callbacks(incident.incident_id)) != 1:
            return False
    return queued_messages(sqs) == 0


@pytest.fixture(scope="module")
def burst(story_stack: StackProcess, sample_text: str) -> Burst:
    """The 60 webhooks, posted, and the pipeline settled (bounded)."""
    sample = json.loads(sample_text)
    rng = random.Random(SEED)
    run = uuid.uuid4().hex[:8]
    incidents = tuple(
        Incident(f"burst-{run}-{n:02d}", versions_of(sample, f"burst-{run}-{n:02d}", n))
        for n in range(INCIDENTS)
    )
    bodies = []
    for incident in incidents:
        bodies += [(incident.incident_id, json.dumps(v).encode()) for v in incident.versions]
        # The same content again, formatted otherwise: a duplicate, not an update.
        again = rng.choice(incident.versions)
        bodies.append((incident.incident_id, json.dumps(again, indent=2).encode()))
    rng.shuffle(bodies)
    sqs = aws_client("sqs", story_stack.aws_endpoint)
    started = time.monotonic()
    answers = post_all(story_stack, bodies)
    story_stack.wait_until(
        lambda: settled(story_stack, incidents, sqs),
        bool,
        "the burst's tickets and callbacks",
        timeout=SETTLE_SECONDS,
    )
    return Burst(incidents, tuple(answers), time.monotonic() - started)


def test_every_webhook_is_accepted_and_each_incident_created_once(burst: Burst) -> None:
    # Given 60 webhooks over 12 incidents, posted at once from 8 threads
    # When their answers are read
    results: dict[str, list[str]] = {}
    for incident_id, answer in burst.answers:
        assert answer.status == 200, answer.body
        results.setdefault(incident_id, []).append(answer.json()["result"])
    # Then each incident was created by exactly one of its five, and its copy never stored
    assert len(burst.answers) == 60
    for incident_id, seen in results.items():
        assert seen.count("created") == 1, (incident_id, seen)
        assert sum(result in ("created", "updated") for result in seen) <= 4, (incident_id, seen)


def test_every_incident_is_stored_at_its_newest_version(
    burst: Burst, story_stack: StackProcess
) -> None:
    # Given the burst, settled
    dynamodb = aws_client("dynamodb", story_stack.aws_endpoint)
    for incident in burst.incidents:
        # When the incident is read from the moto server
        item = dynamodb.get_item(
            TableName=INCIDENTS_TABLE.local_name,
            Key={INCIDENTS_TABLE.partition_key: {"S": incident.incident_id}},
            ConsistentRead=True,
        )["Item"]
        # Then it is the newest version, whatever order the five arrived in
        newest = incident.newest["incident"]
        assert int(item["updated_on"]["N"]) == newest["updatedOn"]
        assert item["status"]["S"] == newest["status"].lower()


def test_each_incident_has_one_ticket_matching_its_newest_version(
    burst: Burst, story_stack: StackProcess
) -> None:
    # Given the burst, settled
    for incident in burst.incidents:
        # When the demo desk is asked for the incident's tickets
        tickets = story_stack.desk_tickets(incident.incident_id)
        # Then there is one, with the newest version's title and status
        assert [(t["title"], t["status"]) for t in tickets] == [
            (incident.expected_title, incident.expected_status)
        ]


def test_each_incident_is_confirmed_to_bigpanda_by_exactly_one_callback(
    burst: Burst, story_stack: StackProcess
) -> None:
    # Given the burst, settled
    for incident in burst.incidents:
        # When the BigPanda stand-in is asked for the calls about the incident
        records = story_stack.callbacks(incident.incident_id)
        # Then there was exactly one, and it was accepted
        assert [record["status"] for record in records] == [200]
