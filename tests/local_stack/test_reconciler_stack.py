"""The reconciler in the local stack, as ``make run ARGS="--drop-delivery 1"`` shows it: the
BigPanda stand-in shares an incident and drops its delivery; the reconciler, on its timer,
finds it within one period and stores it; ticket sync makes its ticket and BigPanda gets its
callback, each exactly once, however many runs follow."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from local.names import INCIDENTS_TABLE
from tests.local_stack.harness import SERVING_MARK, StackProcess, aws_client

PERIOD_SECONDS = 2.0
# The change time is whole seconds, and a run takes a moment of its own.
RUN_SLACK_SECONDS = 2.0
DROPPED = re.compile(r"shared incident (missed-[0-9a-f]+); its delivery dropped on purpose")


@pytest.fixture(scope="module")
def dropping_stack() -> Iterator[StackProcess]:
    """A stack that drops one delivery after start-up and reconciles every 2 s."""
    running = StackProcess.start(
        "--no-sample", "--drop-delivery", "1", "--reconcile-every", str(PERIOD_SECONDS)
    )
    try:
        running.wait_until_healthy()
        running.wait_for_output(SERVING_MARK, timeout=60)
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def dropped(dropping_stack: StackProcess) -> str:
    """The id of the incident whose delivery the stand-in dropped."""
    match = DROPPED.search(dropping_stack.output)
    assert match, dropping_stack.output
    return match.group(1)


def _item(stack: StackProcess, incident_id: str) -> dict[str, Any] | None:
    dynamodb = aws_client("dynamodb", stack.aws_endpoint)
    key = {INCIDENTS_TABLE.partition_key: {"S": incident_id}}
    item: dict[str, Any] | None = dynamodb.get_item(
        TableName=INCIDENTS_TABLE.local_name, Key=key, ConsistentRead=True
    ).get("Item")
    return item


def test_the_dropped_delivery_never_reached_the_gateway_and_was_recovered(
    dropping_stack: StackProcess, dropped: str
) -> None:
    # Given the stand-in dropped the delivery of a new incident
    # When the reconciler's timer has run
    # Then the journey says it recovered the incident, and the item is marked so
    assert f"incident {dropped}: a missed delivery, found in BigPanda and stored" in (
        dropping_stack.output
    )
    item = _item(dropping_stack, dropped)
    assert item is not None
    assert item["recovered"] == {"BOOL": True}


def test_the_recovered_incident_got_one_ticket_and_one_callback(
    dropping_stack: StackProcess, dropped: str
) -> None:
    # Given the recovered incident, once its callback is confirmed
    def callbacks() -> list[dict[str, Any]]:
        return [c for c in dropping_stack.callbacks(dropped) if c["path"].endswith("/callback")]

    dropping_stack.wait_until(callbacks, lambda found: len(found) == 1, "one callback")
    # When several more reconcile periods pass
    time.sleep(3 * PERIOD_SECONDS)
    # Then there is still exactly one ticket and one callback
    assert len(dropping_stack.desk_tickets(dropped)) == 1
    assert len(callbacks()) == 1


def test_the_recovery_came_within_one_reconcile_period(
    dropping_stack: StackProcess, dropped: str
) -> None:
    # Given the recovered item: BigPanda's change time, and ingest's receipt of the recovery
    item = _item(dropping_stack, dropped)
    assert item is not None
    changed = int(item["version"]["L"][1]["N"])
    received = datetime.fromisoformat(item["received_at"]["S"]).timestamp()
    # When they are compared / Then the incident was stored within one period of its change
    # (plus the second the change time is rounded to, and the run's own time)
    assert 0 <= received - changed <= PERIOD_SECONDS + RUN_SLACK_SECONDS


def test_the_recovered_incidents_callback_line_is_timed_from_the_recovery(
    dropping_stack: StackProcess, dropped: str
) -> None:
    # Given the recovered incident's callback, confirmed
    dropping_stack.wait_for_output(f"confirmed for incident {dropped}", timeout=60)
    # When the journey's callback line for it is read
    line = next(
        line
        for line in dropping_stack.output.splitlines()
        if f"confirmed for incident {dropped}" in line
    )
    # Then it is timed from the recovery: no webhook ever came
    assert re.search(r"\(\d+ ms after the recovery\)", line), line
    assert "webhook" not in line
