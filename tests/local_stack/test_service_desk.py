"""The demo service desk over real HTTP: the generic ``http`` ticket contract, and its controls.

The last tests drive it with the real ``http`` adapter, so that the desk and the adapter are
held to the same contract.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from local.demo.service_desk import DemoDesk
from local.demo.ticket_book import Change
from pandabridge.http import HttpClient
from pandabridge.tickets.generic import GenericTarget, sign
from pandabridge.tickets.model import Assignee, TicketDraft, TicketStatus
from tests.local_stack.harness import HttpAnswer, http_request

SECRET = "desk-test-secret"

Call = Callable[..., HttpAnswer]


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[DemoDesk, list[Change]]]:
    changes: list[Change] = []
    desk = DemoDesk(SECRET, on_change=changes.append).start()
    yield desk, changes
    desk.stop()


@pytest.fixture
def desk(served: tuple[DemoDesk, list[Change]]) -> Iterator[DemoDesk]:
    """The module's desk; no failures planned before or after the test."""
    running = served[0]
    running.failures.arm(503, 0)
    yield running
    running.failures.arm(503, 0)


@pytest.fixture
def changes(served: tuple[DemoDesk, list[Change]]) -> list[Change]:
    served[1].clear()
    return served[1]


@pytest.fixture
def call(desk: DemoDesk) -> Call:
    """Sends a contract request, signed with the desk's secret unless told otherwise."""

    def send(
        method: str,
        path: str,
        document: object = None,
        *,
        signature: str | None = "sign",
        headers: dict[str, str] | None = None,
    ) -> HttpAnswer:
        body = json.dumps(document).encode() if document is not None else b""
        sent = {"Content-Type": "application/json", **(headers or {})}
        if signature == "sign":
            sent["X-Signature"] = sign(body, SECRET)
        elif signature is not None:
            sent["X-Signature"] = signature
        return http_request(method, f"{desk.url}{path.lstrip('/')}", body or None, sent)

    return send


@pytest.fixture
def incident_id() -> str:
    return f"desk-{uuid.uuid4().hex[:12]}"


def draft(incident_id: str, **changes: Any) -> dict[str, Any]:
    """A create body as the ``http`` adapter sends it."""
    return {
        "incident_id": incident_id,
        "title": "CPU high on db-1",
        "description": "2 alerts",
        "priority": "P2",
        "status": "open",
        "incident_url": None,
        "labels": ["bigpanda"],
        **changes,
    }


@pytest.fixture
def create(call: Call) -> Callable[[str], dict[str, Any]]:
    """Creates a ticket for an incident through the contract; returns the answer's JSON."""

    def make(incident_id: str) -> dict[str, Any]:
        answer = call(
            "POST", "/tickets", draft(incident_id), headers={"Idempotency-Key": incident_id}
        )
        assert answer.status == 201, answer.body
        created: dict[str, Any] = answer.json()
        return created

    return make


def record_of(desk: DemoDesk, ticket_id: str) -> dict[str, Any]:
    """The desk's full record of a ticket, read through its own JSON route."""
    records = http_request("GET", f"{desk.url}_desk/tickets").json()["tickets"]
    return next(record for record in records if record["id"] == ticket_id)


@pytest.mark.parametrize(
    "signature",
    [None, "sha256=" + "0" * 64, sign(b"{}", SECRET), sign(b"", "another-secret")],
    ids=["missing", "wrong digest", "of another body", "with another secret"],
)
def test_a_request_without_the_right_signature_gets_401_and_changes_nothing(
    call: Call, incident_id: str, signature: str | None
) -> None:
    # Given a create request that is not signed with the desk's secret
    # When it is sent
    answer = call(
        "POST",
        "/tickets",
        draft(incident_id),
        signature=signature,
        headers={"Idempotency-Key": incident_id},
    )
    # Then the desk refuses it with a JSON 401 and has no ticket for the incident
    assert answer.status == 401
    assert "X-Signature" in answer.json()["message"]
    assert call("GET", f"/tickets?incident_id={incident_id}").json() == {"tickets": []}


def test_a_signed_create_answers_201_with_the_id_and_url(call: Call, incident_id: str) -> None:
    # When a signed create is sent
    answer = call("POST", "/tickets", draft(incident_id), headers={"Idempotency-Key": incident_id})
    # Then the ticket is created, with an id and a URL on the desk
    assert answer.status == 201
    ticket = answer.json()
    assert ticket["id"].startswith("T-")
    assert ticket["url"].endswith(f"#{ticket['id']}")
    assert ticket["incident_id"] == incident_id
    assert ticket["status"] == "open"


def test_creating_again_with_the_same_key_answers_200_with_the_same_ticket(
    call: Call, create: Callable[[str], dict[str, Any]], incident_id: str
) -> None:
    # Given a ticket created for an incident
    first = create(incident_id)
    # When a create with the same Idempotency-Key is sent again, even with another title
    again = call(
        "POST",
        "/tickets",
        draft(incident_id, title="retried"),
        headers={"Idempotency-Key": incident_id},
    )
    # Then the existing ticket comes back with 200, and there is still one ticket
    assert again.status == 200
    assert again.json()["id"] == first["id"]
    assert again.json()["title"] == "CPU high on db-1"
    assert len(call("GET", f"/tickets?incident_id={incident_id}").json()["tickets"]) == 1


@pytest.mark.parametrize(
    ("body", "headers", "message"),
    [
        (draft("x"), {}, "Idempotency-Key"),
        (draft("x", severity="high"), {"Idempotency-Key": "x"}, "unknown fields: severity"),
        (draft("x", priority="urgent"), {"Idempotency-Key": "x"}, "priority must be one of"),
        ({"incident_id": "x"}, {"Idempotency-Key": "x"}, "missing fields"),
    ],
    ids=["no idempotency key", "unknown field", "bad priority", "missing fields"],
)
def test_a_create_outside_the_contract_gets_400(
    call: Call, body: dict[str, Any], headers: dict[str, str], message: str
) -> None:
    # When a create that does not fit the contract is sent
    answer = call("POST", "/tickets", body, headers=headers)
    # Then the desk answers 400 and says what is wrong
    assert answer.status == 400
    assert message in answer.json()["message"]


def test_lookup_by_incident_id_finds_that_incidents_ticket_only(
    call: Call, create: Callable[[str], dict[str, Any]], incident_id: str
) -> None:
    # Given tickets of two incidents
    ticket = create(incident_id)
    create(f"{incident_id}-other")
    # When the desk is asked for one incident's tickets
    answer = call("GET", f"/tickets?incident_id={incident_id}")
    # Then only that ticket comes back, as id, url and status
    assert answer.status == 200
    assert answer.json() == {
        "tickets": [{"id": ticket["id"], "url": ticket["url"], "status": "open"}]
    }


def test_patch_changes_the_fields_and_records_them_in_the_history(
    call: Call, create: Callable[[str], dict[str, Any]], desk: DemoDesk, incident_id: str
) -> None:
    # Given a P2 ticket
    ticket = create(incident_id)
    # When its priority and title are patched
    answer = call("PATCH", f"/tickets/{ticket['id']}", {"priority": "P1", "title": "DB down"})
    # Then the ticket has them, and its history says what changed
    assert answer.status == 200
    assert (answer.json()["priority"], answer.json()["title"]) == ("P1", "DB down")
    history = record_of(desk, ticket["id"])["history"]
    assert [entry["kind"] for entry in history] == ["created", "updated"]
    assert "priority P2 -> P1" in history[-1]["detail"]


def test_patching_the_status_records_resolved_then_reopened(
    call: Call, create: Callable[[str], dict[str, Any]], desk: DemoDesk, incident_id: str
) -> None:
    # Given an open ticket
    ticket = create(incident_id)
    # When it is resolved and then opened again
    call("PATCH", f"/tickets/{ticket['id']}", {"status": "resolved"})
    call("PATCH", f"/tickets/{ticket['id']}", {"status": "open"})
    # Then both status changes are in its history
    kinds = [entry["kind"] for entry in record_of(desk, ticket["id"])["history"]]
    assert kinds == ["created", "resolved", "reopened"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PATCH", "/tickets/T-999999", {"priority": "P1"}),
        ("POST", "/tickets/T-999999/comments", {"body": "hello"}),
    ],
    ids=["patch", "comment"],
)
def test_a_change_to_an_unknown_ticket_gets_404(
    call: Call, method: str, path: str, body: dict[str, Any]
) -> None:
    # When a ticket that does not exist is changed
    answer = call(method, path, body)
    # Then the desk answers 404
    assert answer.status == 404
    assert "T-999999" in answer.json()["message"]


def test_a_comment_is_added_to_the_ticket(
    call: Call, create: Callable[[str], dict[str, Any]], desk: DemoDesk, incident_id: str
) -> None:
    # Given a ticket
    ticket = create(incident_id)
    # When a comment is posted to it
    answer = call("POST", f"/tickets/{ticket['id']}/comments", {"body": "Resolved in BigPanda"})
    # Then it answers 201 and the ticket carries the comment
    assert answer.status == 201
    record = record_of(desk, ticket["id"])
    assert [comment["body"] for comment in record["comments"]] == ["Resolved in BigPanda"]
    assert record["history"][-1]["kind"] == "commented"


def test_the_fail_control_fails_the_next_calls_then_the_desk_recovers(
    call: Call, desk: DemoDesk
) -> None:
    # Given the desk told to fail its next 2 calls with 503 and a Retry-After
    armed = http_request("POST", f"{desk.url}_desk/fail?status=503&count=2&retry_after=7")
    assert armed.status == 200
    # When three calls are made
    answers = [call("GET", "/tickets?incident_id=any") for _ in range(3)]
    # Then the first two fail as told, and the third is served
    assert [answer.status for answer in answers] == [503, 503, 200]
    assert answers[0].headers["Retry-After"] == "7"


def test_the_home_page_lists_the_tickets_as_html(
    create: Callable[[str], dict[str, Any]], desk: DemoDesk, incident_id: str
) -> None:
    # Given a ticket
    ticket = create(incident_id)
    # When the desk's page is opened without any signature, as a browser does
    answer = http_request("GET", desk.url)
    # Then it is HTML that shows the ticket, its incident and its status
    assert answer.status == 200
    assert answer.headers["Content-Type"].startswith("text/html")
    page = answer.body.decode()
    assert f'id="{ticket["id"]}"' in page
    assert incident_id in page
    assert "CPU high on db-1" in page


def test_the_listener_hears_each_change_in_order(
    call: Call, create: Callable[[str], dict[str, Any]], changes: list[Change], incident_id: str
) -> None:
    # Given a ticket
    ticket = create(incident_id)
    # When it is commented on and resolved
    call("POST", f"/tickets/{ticket['id']}/comments", {"body": "on it"})
    call("PATCH", f"/tickets/{ticket['id']}", {"status": "resolved"})
    # Then the listener heard created, commented and resolved, for that incident
    assert [(change.kind, change.incident_id) for change in changes] == [
        ("created", incident_id),
        ("commented", incident_id),
        ("resolved", incident_id),
    ]


@pytest.fixture
def adapter(desk: DemoDesk) -> GenericTarget:
    """The real ``http`` ticket adapter, pointed at the desk."""
    return GenericTarget(desk.url, hmac_secret=SECRET, http=HttpClient(timeout_seconds=5))


def ticket_draft(incident_id: str, status: TicketStatus = TicketStatus.OPEN) -> TicketDraft:
    return TicketDraft(
        incident_id=incident_id,
        title="Disk full on web-3",
        description="1 alert",
        priority="P3",
        status=status,
        labels=("bigpanda",),
    )


def test_the_http_adapter_creates_and_then_finds_a_ticket(
    adapter: GenericTarget, incident_id: str
) -> None:
    # When the adapter creates a ticket and then looks the incident up
    created = adapter.create(ticket_draft(incident_id))
    found = adapter.find(incident_id)
    # Then it finds the ticket it created
    assert found is not None
    assert found.id == created.id


def test_the_http_adapter_updates_assigns_and_resolves_a_ticket(
    adapter: GenericTarget, desk: DemoDesk, incident_id: str
) -> None:
    # Given a ticket created by the adapter
    ref = adapter.create(ticket_draft(incident_id))
    # When it updates, assigns and resolves it
    adapter.update(ref, dataclasses.replace(ticket_draft(incident_id), priority="P1"))
    adapter.assign(ref, Assignee(user_id="u-1", email="ana@example.com", name="Ana"))
    adapter.resolve(ref, "Resolved in BigPanda")
    # Then the desk recorded every step
    record = record_of(desk, ref.id)
    assert [entry["kind"] for entry in record["history"]] == [
        "created",
        "updated",
        "assigned",
        "resolved",
        "commented",
    ]
    assert (record["priority"], record["status"]) == ("P1", "resolved")
    assert record["assignee"]["name"] == "Ana"
