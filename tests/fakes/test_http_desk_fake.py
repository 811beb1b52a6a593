"""The generic ``http`` contract's stand-in (the demo desk) over real HTTP: idempotent
comments, the fault knobs, and what an HTTP server refuses before the contract is reached."""

from __future__ import annotations

import socket

import pytest
import urllib3
from fakes_support import DeskCall

from local.demo.service_desk import DemoDesk
from pandabridge.tickets.generic import IDEMPOTENCY_HEADER


def comments_path(ticket: dict[str, str]) -> str:
    return f"/tickets/{ticket['id']}/comments"


def comments_of(desk: DemoDesk, ticket: dict[str, str]) -> list[str]:
    (record,) = [r for r in desk.book.records() if r["id"] == ticket["id"]]
    return [comment["body"] for comment in record["comments"]]


def test_a_comment_sent_again_with_its_idempotency_key_is_added_once(
    desk: DemoDesk, desk_call: DeskCall, ticket: dict[str, str]
) -> None:
    """When one comment is posted twice with one key, the first answers 201, the second 200
    with the same comment, and the ticket has it once."""
    key = {IDEMPOTENCY_HEADER: "incident-1:comment:1"}

    first = desk_call("POST", comments_path(ticket), {"body": "Acknowledged"}, headers=key)
    again = desk_call("POST", comments_path(ticket), {"body": "Acknowledged"}, headers=key)

    assert (first.status, again.status) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert comments_of(desk, ticket) == ["Acknowledged"]


def test_comments_without_a_key_are_each_added(
    desk: DemoDesk, desk_call: DeskCall, ticket: dict[str, str]
) -> None:
    """When a comment is posted twice without a key, the ticket has it twice (as before)."""
    for _ in range(2):
        desk_call("POST", comments_path(ticket), {"body": "Acknowledged"})

    assert comments_of(desk, ticket) == ["Acknowledged", "Acknowledged"]


def test_a_key_that_is_not_printable_ascii_is_refused(
    desk: DemoDesk, desk_call: DeskCall, ticket: dict[str, str]
) -> None:
    """When a key holds Latin-1 text (which a client can send), the answer is 400."""
    answer = desk_call(
        "POST", comments_path(ticket), {"body": "x"}, headers={IDEMPOTENCY_HEADER: "café"}
    )

    assert answer.status == 400
    assert comments_of(desk, ticket) == []


def test_a_header_outside_latin_1_cannot_even_be_sent(desk: DemoDesk, desk_call: DeskCall) -> None:
    """When a key holds CJK text, the client library refuses to send it: no desk sees it."""
    with pytest.raises(UnicodeEncodeError):
        desk_call("POST", "/tickets", {}, headers={IDEMPOTENCY_HEADER: "事件-1"})

    assert desk.book.records() == []


def test_a_raw_space_in_the_path_is_a_400(desk: DemoDesk) -> None:
    """When a request line carries a raw space in its path, the server answers 400."""
    with socket.create_connection(("127.0.0.1", desk.port), timeout=2) as conn:
        conn.sendall(b"GET /tickets/a b HTTP/1.1\r\nHost: desk\r\n\r\n")
        status_line = conn.recv(1024).split(b"\r\n", 1)[0]

    assert status_line.split()[1] == b"400"


def test_planned_429s_carry_retry_after(desk: DemoDesk, desk_call: DeskCall) -> None:
    """Given one planned 429, the next call answers 429 with Retry-After, then calls work."""
    desk.failures.arm(429, 1, retry_after=2)

    limited = desk_call("GET", "/tickets")
    served = desk_call("GET", "/tickets")

    assert (limited.status, limited.headers["Retry-After"]) == (429, "2")
    assert served.status == 200


def test_a_503_burst_fails_the_next_calls_then_the_desk_recovers(
    desk: DemoDesk, desk_call: DeskCall
) -> None:
    """Given a burst of two 503s, two calls fail and the third is served."""
    desk.failures.arm(503, 2)

    assert [desk_call("GET", "/tickets").status for _ in range(3)] == [503, 503, 200]


def test_a_slow_comment_times_out_the_client_but_is_added(
    desk: DemoDesk, desk_call: DeskCall, ticket: dict[str, str], pool: urllib3.PoolManager
) -> None:
    """Given the next POST answered 0.5 s late (armed at /_desk/slow), a client that waits
    0.1 s times out, and the comment is on the ticket all the same."""
    pool.request("POST", desk.url + "_desk/slow?seconds=0.5&count=1&method=POST")

    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        desk_call("POST", comments_path(ticket), {"body": "Saved"}, timeout=0.1)

    assert comments_of(desk, ticket) == ["Saved"]
