"""`make run` with ticket sync: webhooks become tickets on the demo desk, each exactly once.

These run the real ingest and ticket-sync handlers behind the local gateway, the pipe emulation
and the queue poller, in a ``python -m local`` subprocess.
"""

from __future__ import annotations

import json
import re
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from local import defaults
from local.demo.service_desk import DemoDesk
from tests.local_stack.harness import SERVING_MARK, StackProcess, http_request

SAMPLE_ID = json.loads(defaults.SAMPLE_EVENT.read_text())["incident"]["id"]
TICKET_WAIT_SECONDS = 10.0

Payload = dict[str, Any]


def wait_for_tickets(
    stack: StackProcess, incident_id: str, ready: Callable[[list[Payload]], bool]
) -> list[Payload]:
    """The incident's tickets on the desk, once ``ready`` says they are as expected."""
    deadline = time.monotonic() + TICKET_WAIT_SECONDS
    while not ready(tickets := stack.desk_tickets(incident_id)):
        if time.monotonic() > deadline:
            pytest.fail(f"tickets of {incident_id}: {tickets}\noutput:\n{stack.output}")
        time.sleep(0.1)
    return tickets


def test_the_sample_becomes_exactly_one_ticket_on_the_demo_desk(stack: StackProcess) -> None:
    # Given a stack that posted the sample at start-up
    # When the demo desk is asked for the sample's tickets
    tickets = stack.desk_tickets(SAMPLE_ID)
    # Then there is one, open, created by ticket sync
    assert len(tickets) == 1, tickets
    assert tickets[0]["status"] == "open"
    assert tickets[0]["idempotency_key"] == SAMPLE_ID


def test_start_up_prints_each_step_of_the_sample_with_its_latency(stack: StackProcess) -> None:
    # Given a stack that posted the sample at start-up
    # When its output is read
    output = stack.output
    # Then the queued and ticket-created steps are there, each timed from the webhook
    assert re.search(rf"queued\s+incident {SAMPLE_ID} \(\w+\) .*ms after the webhook", output)
    assert re.search(
        rf"created T-\d+ for incident {SAMPLE_ID}\s+\(\d+ ms after the webhook\)", output
    )


def test_the_banner_shows_the_demo_desk(stack: StackProcess) -> None:
    # When the start-up output is read
    # Then it gives the desk's page and the command that makes it fail for a while
    assert f"Tickets   {stack.desk_url}" in stack.output
    assert f"curl -sS -X POST '{stack.desk_url}_desk/fail?status=503&count=2'" in stack.output


def test_posting_the_sample_again_creates_no_second_ticket(
    stack: StackProcess, fresh: Payload
) -> None:
    # Given the sample, already a ticket
    # When it is posted again, and then a new incident behind it
    assert stack.post_webhook(defaults.SAMPLE_EVENT.read_bytes()).json()["result"] == "duplicate"
    assert stack.post_webhook(json.dumps(fresh).encode()).json()["result"] == "created"
    # Then the new incident gets its ticket, and the sample still has one
    wait_for_tickets(stack, fresh["incident"]["id"], lambda tickets: len(tickets) == 1)
    assert len(stack.desk_tickets(SAMPLE_ID)) == 1


def test_an_incident_resolved_in_bigpanda_resolves_its_ticket(
    stack: StackProcess, fresh: Payload
) -> None:
    # Given a new incident that has become a ticket
    incident_id = fresh["incident"]["id"]
    stack.post_webhook(json.dumps(fresh).encode())
    wait_for_tickets(stack, incident_id, lambda tickets: len(tickets) == 1)
    # When a newer version says it is resolved
    fresh["incident"].update(
        status="OK", severity="OK", active=False, resolved=True, updatedOn=1752897578
    )
    assert stack.post_webhook(json.dumps(fresh).encode()).json()["result"] == "updated"
    # Then the same ticket is resolved, and the journey says so
    (ticket,) = wait_for_tickets(
        stack, incident_id, lambda tickets: [t["status"] for t in tickets] == ["resolved"]
    )
    stack.wait_for_output(f"resolved {ticket['id']} for incident {incident_id}")


@pytest.fixture
def team_desk() -> Iterator[DemoDesk]:
    """A desk of the test's own, standing in for a team's real service desk."""
    desk = DemoDesk("team-secret").start()
    yield desk
    desk.stop()


def test_a_desk_given_by_flags_gets_the_ticket_and_no_demo_desk_runs(
    start_stack: Callable[..., StackProcess], team_desk: DemoDesk
) -> None:
    # Given a stack pointed at another desk, with that desk's credentials in the environment
    credentials = json.dumps({"hmac_secret": "team-secret"})
    stack = start_stack(
        "--ticket-url", team_desk.url, env={defaults.TICKET_SECRET_ENV: credentials}
    )
    # When it has posted the sample at start-up
    stack.wait_for_output(SERVING_MARK)
    # Then the sample's ticket is on that desk, the journey says so, and no demo desk runs
    assert len(team_desk.book.find(SAMPLE_ID)) == 1, stack.output
    assert f"incident {SAMPLE_ID} synced with http" in stack.output
    with pytest.raises(ConnectionRefusedError):
        http_request("GET", stack.desk_url)


def test_a_stack_that_synced_the_sample_stops_cleanly_within_5_seconds(
    start_stack: Callable[..., StackProcess],
) -> None:
    # Given a stack whose pipe, pollers, desk and stand-in have carried the sample through
    stack = start_stack()
    stack.wait_for_output(SERVING_MARK)
    # When it is interrupted
    started = time.monotonic()
    code = stack.stop(signal.SIGINT)
    # Then it exits 0 within 5 s, having stopped every part
    assert code == 0, stack.output
    assert time.monotonic() - started < 5, stack.output
    stopped = "callback poller, ticket-sync poller, stream pipe, gateway, bigpanda stand-in"
    assert f"{stopped}, desk configuration, demo desk, moto server" in stack.output
