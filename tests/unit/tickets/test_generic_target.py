"""The ``http`` target speaks the documented JSON contract, signing every request."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable

import pytest
from pytest_httpserver import HTTPServer
from ticket_support import CREDENTIALS, INCIDENT_ID, TargetFactory
from werkzeug import Request

from pandabridge.tickets.generic import idempotency_key, sign, verify
from pandabridge.tickets.model import Assignee, TicketDraft, TicketRef, TicketTarget
from tests.fifo_ids import HARD_IDS

Sent = Callable[[], list[Request]]
SECRET = CREDENTIALS["http"]["hmac_secret"]
REF = TicketRef(id="T-42", url="http://desk/T-42")
TICKET_PATH = "/tickets/T-42"
# The contract's Idempotency-Key: 1 to 255 characters.
HEADER_KEY_CHARS = range(1, 256)


def signature(body: bytes) -> str:
    """The signature a server computes, independently of ``generic.sign``."""
    return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()


@pytest.fixture
def desk(make_target: TargetFactory) -> TicketTarget:
    return make_target("http")


@pytest.fixture
def sent(httpserver: HTTPServer) -> Sent:
    """The requests the server received, after the call; each must be signed."""

    def requests() -> list[Request]:
        received = [request for request, _ in httpserver.log]
        for request in received:
            assert request.headers["X-Signature"] == signature(request.get_data())
            assert request.headers["Content-Type"] == "application/json"
        return received

    return requests


def test_find_returns_none_when_the_desk_has_no_ticket(
    httpserver: HTTPServer, desk: TicketTarget, sent: Sent
) -> None:
    httpserver.expect_request(
        "/tickets", method="GET", query_string={"incident_id": INCIDENT_ID}
    ).respond_with_json({"tickets": []})
    assert desk.find(INCIDENT_ID) is None
    assert sent()[0].get_data() == b""


def test_create_posts_the_draft_with_the_incident_as_idempotency_key(
    httpserver: HTTPServer, desk: TicketTarget, draft: TicketDraft, sent: Sent
) -> None:
    # Given a desk that creates tickets
    httpserver.expect_request(
        "/tickets",
        method="POST",
        headers={"Idempotency-Key": INCIDENT_ID},
        json={
            "incident_id": INCIDENT_ID,
            "title": "BigPanda Incident: P1 - Evyatar-11 - Critical",
            "description": draft.description,
            "priority": "P1",
            "status": "open",
            "incident_url": "http://bigp.io/9ad55554d5c116e4",
            "labels": [f"bigpanda-{INCIDENT_ID}"],
        },
    ).respond_with_json({"id": "T-9", "url": "http://desk/T-9"}, status=201)
    # When the draft is created, Then the desk's id and URL come back, and the body was signed
    assert desk.create(draft) == TicketRef(id="T-9", url="http://desk/T-9")
    assert len(sent()) == 1


def test_update_patches_title_description_and_priority(
    httpserver: HTTPServer, desk: TicketTarget, draft: TicketDraft, sent: Sent
) -> None:
    httpserver.expect_request(
        TICKET_PATH,
        method="PATCH",
        json={"title": draft.title, "description": draft.description, "priority": "P1"},
    ).respond_with_data("", status=204)
    desk.update(REF, draft)
    assert len(sent()) == 1


def test_comment_posts_the_text_with_its_key_as_idempotency_key(
    httpserver: HTTPServer, desk: TicketTarget, sent: Sent
) -> None:
    httpserver.expect_request(
        f"{TICKET_PATH}/comments",
        method="POST",
        headers={"Idempotency-Key": "c0ffee"},
        json={"body": "Acknowledged in BigPanda"},
    ).respond_with_json({"id": "c1"}, status=201)
    desk.comment(REF, "Acknowledged in BigPanda", "c0ffee")
    assert len(sent()) == 1


def test_a_comment_without_a_key_carries_no_idempotency_key(
    httpserver: HTTPServer, desk: TicketTarget
) -> None:
    httpserver.expect_request(f"{TICKET_PATH}/comments", method="POST").respond_with_json({})
    desk.comment(REF, "Resolved in BigPanda")
    assert "Idempotency-Key" not in httpserver.log[0][0].headers


def test_assign_patches_the_assignee(
    httpserver: HTTPServer, desk: TicketTarget, assignee: Assignee, sent: Sent
) -> None:
    httpserver.expect_request(
        TICKET_PATH,
        method="PATCH",
        json={
            "assignee": {
                "user_id": "bp-user-1",
                "email": "Din.Djarin@example.com",
                "name": "Din Djarin",
            }
        },
    ).respond_with_json({"id": "T-42"})
    assert desk.assign(REF, assignee) is True
    assert len(sent()) == 1


def test_ticket_id_is_quoted_as_one_path_segment(
    httpserver: HTTPServer, desk: TicketTarget
) -> None:
    httpserver.expect_request("/tickets/a/b?c/comments", method="POST").respond_with_json({})
    desk.comment(TicketRef(id="a/b?c"), "hi")
    request, _ = httpserver.log[0]
    assert request.environ["REQUEST_URI"] == "/tickets/a%2Fb%3Fc/comments"


def test_desk_is_consistent_and_supports_assignment(desk: TicketTarget) -> None:
    assert (desk.name, desk.find_is_consistent, desk.supports_assignment) == ("http", True, True)


def test_signature_verifies_the_exact_body() -> None:
    body = json.dumps({"a": 1}).encode()
    assert sign(body, SECRET) == signature(body)
    assert verify(body, signature(body), SECRET)


@pytest.mark.parametrize("header", [None, "", "sha256=00", "md5=abc"])
def test_signature_rejects_anything_else(header: str | None) -> None:
    assert not verify(b"{}", header, SECRET)


def test_signature_rejects_a_changed_body() -> None:
    assert not verify(b'{"a":2}', signature(b'{"a":1}'), SECRET)


@pytest.mark.parametrize("value", list(HARD_IDS.values()), ids=list(HARD_IDS))
def test_an_idempotency_key_is_printable_ascii_within_the_contracts_length(value: str) -> None:
    key = idempotency_key(value)
    assert len(key) in HEADER_KEY_CHARS
    assert all("!" <= char <= "~" for char in key)


def test_an_idempotency_key_is_the_id_itself_when_a_header_can_carry_it() -> None:
    assert idempotency_key("5555370aabc20a001145d6g9") == "5555370aabc20a001145d6g9"


def test_an_idempotency_key_is_stable_and_tells_ids_apart() -> None:
    assert idempotency_key("事件-1") == idempotency_key("事件-1")
    assert idempotency_key("事件-1") != idempotency_key("事件-2")
