"""`make run`, two ways: a webhook becomes a ticket whose link BigPanda gets; an agent resolves
and comments the ticket on the demo desk's page, the desk tells the stack, and BigPanda gets
one resolve and one attributed comment.

The real handlers run in a ``python -m local`` subprocess, the demo desk posts its signed
events to the local gateway's desk-events route, and the BigPanda stand-in records the writes.
"""

from __future__ import annotations

import json
from typing import Any

from tests.local_stack.harness import StackProcess, http_request

Payload = dict[str, Any]


def writes(stack: StackProcess, incident_id: str, kind: str) -> list[Payload]:
    """The stand-in's writes of ``kind`` on the incident."""
    url = f"{stack.bigpanda_url}/_fake/writes?kind={kind}"
    found: list[Payload] = http_request("GET", url).json()["writes"]
    return [write for write in found if write["incident_id"] == incident_id]


def agent(stack: StackProcess, ticket_id: str, action: str, text: str = "") -> Payload:
    """An agent's button on the desk's page, as JSON."""
    url = f"{stack.desk_url}_desk/tickets/{ticket_id}/{action}"
    body = json.dumps({"text": text}).encode()
    answer = http_request("POST", url, body, {"Content-Type": "application/json"})
    assert answer.status == 200, answer.body
    document: Payload = answer.json()
    return document


def test_a_desk_resolve_and_comment_reach_bigpanda_once(
    stack: StackProcess, fresh: Payload
) -> None:
    # Given a new incident, become a ticket, whose link BigPanda got once
    incident_id = fresh["incident"]["id"]
    body = json.dumps(fresh).encode()
    shared = http_request("POST", f"{stack.bigpanda_url}/_fake/share", body)
    assert shared.status == 200, shared.body
    assert stack.post_webhook(body).status == 200
    [ticket] = stack.wait_until(
        lambda: stack.desk_tickets(incident_id), lambda found: len(found) == 1, "the ticket"
    )
    stack.wait_until(lambda: writes(stack, incident_id, "tag"), bool, "the link tag")
    # When an agent comments and resolves it on the desk's page
    comment = agent(stack, ticket["id"], "comment", "disk replaced")
    resolve = agent(stack, ticket["id"], "resolve")
    # Then the desk's events were accepted, and BigPanda got one comment and one resolve
    assert (comment["event_status"], resolve["event_status"]) == (200, 200)
    stack.wait_until(lambda: writes(stack, incident_id, "resolve"), bool, "the resolve")
    mirrored = f"[{ticket['id']}] Dana Levi: disk replaced"
    # A write that met the org's rate limit waits its backoff: wait for the comment too.
    comments = stack.wait_until(
        lambda: [w["body"]["comment"] for w in writes(stack, incident_id, "comment")],
        lambda found: mirrored in found,
        "the mirrored comment",
    )
    assert comments.count(mirrored) == 1
    assert len(writes(stack, incident_id, "resolve")) == 1
    assert len(writes(stack, incident_id, "tag")) == 1
    # And the journey tells the desk's events reaching BigPanda, whose page shows the writes
    stack.wait_for_output(f"of incident {incident_id} applied")
    page = http_request("GET", f"{stack.bigpanda_url}/").body.decode()
    assert f"{ticket['id']}] Dana Levi: disk replaced" in page
    assert "ticket_link = " in page
