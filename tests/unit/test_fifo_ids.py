"""FIFO ids: every incident id gives a message group / deduplication id that SQS accepts."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pandabridge.fifo import fifo_id
from pandabridge.incidents import IncidentSummary
from pandabridge.versioning import Version
from tests.fifo_ids import HARD_IDS, SQS_FIFO_ID


@pytest.mark.parametrize("incident_id", HARD_IDS.values(), ids=HARD_IDS.keys())
def test_any_incident_id_gives_a_fifo_id_sqs_accepts(incident_id: str) -> None:
    # Given an id ingest accepts / When its FIFO id is derived / Then SQS's rule holds
    assert SQS_FIFO_ID.fullmatch(fifo_id(incident_id))


@pytest.mark.parametrize("incident_id", ["5555370aabc20a001145d6g9", "!", "~" * 128, ".."])
def test_an_id_sqs_accepts_is_its_own_fifo_id(incident_id: str) -> None:
    # Given an id within SQS's rule / When its FIFO id is derived / Then it is the id itself,
    # so groups stay readable in the console and match what was queued before
    assert fifo_id(incident_id) == incident_id


def test_the_fifo_id_of_an_id_is_stable_and_tells_ids_apart() -> None:
    # Given two ids SQS refuses that differ only after the 128th character
    first, second = "a" * 200, "a" * 199 + "b"
    # When their FIFO ids are derived twice / Then each is stable and the two differ
    assert fifo_id(first) == fifo_id(first)
    assert fifo_id(first) != fifo_id(second)


@pytest.mark.parametrize("incident_id", HARD_IDS.values(), ids=HARD_IDS.keys())
def test_the_stored_summary_carries_the_incidents_fifo_group_id(incident_id: str) -> None:
    # Given the summary ingest stores for an incident
    summary = IncidentSummary(
        incident_id=incident_id,
        version=Version(1, None, None),
        content_hash="0" * 64,
        status=None,
        severity=None,
        active=None,
        flapping=None,
        resolved=False,
        alert_count=0,
        environment_id=None,
        started_on=None,
        updated_on=None,
        received_at=datetime.now(UTC),
        payload_bytes=2,
    )
    # When it becomes item attributes / Then the pipe finds the valid group id among them
    assert summary.as_json()["fifo_group_id"] == fifo_id(incident_id)
