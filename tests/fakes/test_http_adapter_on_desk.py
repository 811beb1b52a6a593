"""The ``http`` adapter on the demo desk (the contract's stand-in): idempotency keys that a
header always carries, whatever the incident id or the comment key holds."""

from __future__ import annotations

import pytest
from adapter_support import ticket_draft
from fakes_support import DESK_SECRET

from local.demo.service_desk import DemoDesk
from pandabridge.http import HttpClient
from pandabridge.sync import comment_key
from pandabridge.tickets.generic import GenericTarget
from tests.fifo_ids import HARD_IDS


@pytest.fixture
def generic(desk: DemoDesk, client: HttpClient) -> GenericTarget:
    return GenericTarget(desk.url.rstrip("/"), hmac_secret=DESK_SECRET, http=client)


def comments_of(desk: DemoDesk) -> list[str]:
    (record,) = desk.book.records()
    return [comment["body"] for comment in record["comments"]]


@pytest.mark.parametrize("incident_id", list(HARD_IDS.values()), ids=list(HARD_IDS))
def test_any_incident_id_becomes_one_ticket_found_by_that_id(
    desk: DemoDesk, generic: GenericTarget, incident_id: str
) -> None:
    # When the same incident's ticket is created twice (a retry)
    first = generic.create(ticket_draft(incident_id))
    second = generic.create(ticket_draft(incident_id))
    # Then there is one ticket, found by the id as it is
    assert first == second == generic.find(incident_id)
    assert len(desk.book.records()) == 1


def test_two_long_ids_that_differ_at_the_end_get_two_tickets(
    desk: DemoDesk, generic: GenericTarget
) -> None:
    generic.create(ticket_draft("x" * 255 + "a"))
    generic.create(ticket_draft("x" * 255 + "b"))

    assert len(desk.book.records()) == 2


def test_a_comment_repeated_with_its_key_is_added_once(
    desk: DemoDesk, generic: GenericTarget
) -> None:
    ref = generic.create(ticket_draft())

    generic.comment(ref, "Acknowledged", comment_key("Acknowledged"))
    generic.comment(ref, "Acknowledged", comment_key("Acknowledged"))

    assert comments_of(desk) == ["Acknowledged"]


def test_a_comment_key_that_no_header_could_carry_still_dedupes(
    desk: DemoDesk, generic: GenericTarget
) -> None:
    ref = generic.create(ticket_draft())

    generic.comment(ref, "Acknowledged", "事件 注释 " + "k" * 300)
    generic.comment(ref, "Acknowledged", "事件 注释 " + "k" * 300)

    assert comments_of(desk) == ["Acknowledged"]


def test_a_resolve_note_without_a_key_is_added_each_time(
    desk: DemoDesk, generic: GenericTarget
) -> None:
    # Given a ticket resolved, reopened and resolved again with the same note
    ref = generic.create(ticket_draft())
    generic.resolve(ref, "Resolved")
    generic.reopen(ref, "Reopened")
    generic.resolve(ref, "Resolved")
    # Then each status change's note is there
    assert comments_of(desk) == ["Resolved", "Reopened", "Resolved"]
