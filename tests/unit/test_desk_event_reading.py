"""Desk events as domain values: the payloads of each desk read into changes, the credentials
each desk proves itself with, and the incident a ticket's event belongs to."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from local.fakes.desk_webhooks import jira_change, jira_issue_updated
from pandabridge.desk_event_auth import Verdict, check, http_signature, jira_signature
from pandabridge.desk_event_incidents import TicketRecord, correlated_incidents, find_incident
from pandabridge.desk_events import (
    DeskChange,
    InvalidDeskEventError,
    parse_http,
    parse_jira,
)
from pandabridge.tickets.mapping import correlation_label

SECRET = "desk-events-secret-0123456789abcdef"
NOW = 1_800_000_000
AGENT = {"accountId": "agent-1", "displayName": "Dana Levi"}
TODO = {"name": "To Do", "statusCategory": {"key": "new"}}


def issue_updated(items: list[dict[str, Any]], **fields: Any) -> bytes:
    issue = {"id": "10001", "key": "OPS-1", "fields": {"labels": ["bigpanda-i-1"], **fields}}
    return json.dumps(jira_issue_updated(issue, AGENT, items)).encode()


# --- Jira ------------------------------------------------------------------------------------


def test_a_status_left_done_with_its_resolution_cleared_is_a_reopen() -> None:
    # Given a Done issue moved back to To Do, which clears its resolution
    body = issue_updated(
        [
            jira_change("status", ("10002", "Done"), ("10000", "To Do")),
            jira_change("resolution", ("10000", "Done"), (None, None)),
        ],
        status=TODO,
    )
    # When it is parsed / Then it is one reopen
    [change] = parse_jira(body, target="ops-jira", delivery_id="d-1")
    assert (change.kind, change.event_id) == ("reopened", "d-1:reopened")


def test_a_move_between_open_statuses_is_not_mirrored() -> None:
    # Given an issue moved from To Do to In Progress
    body = issue_updated(
        [jira_change("status", ("10000", "To Do"), ("10001", "In Progress"))],
        status={"name": "In Progress", "statusCategory": {"key": "indeterminate"}},
    )
    # When it is parsed / Then there is nothing to mirror
    assert parse_jira(body, target="ops-jira", delivery_id="d-1") == []


def test_an_assignee_change_carries_the_assignees_visible_email() -> None:
    # Given a reassignment to a user whose e-mail is visible
    assignee = {"accountId": "u-2", "displayName": "Ari", "emailAddress": "ari@example.com"}
    body = issue_updated(
        [jira_change("assignee", (None, None), ("u-2", "Ari"))], assignee=assignee, status=TODO
    )
    # When it is parsed / Then it is an assignment, with the e-mail
    [change] = parse_jira(body, target="ops-jira", delivery_id="d-1")
    assert (change.kind, change.assignee_email) == ("assigned", "ari@example.com")


def test_a_delivery_without_its_identifier_is_refused() -> None:
    # Given a body without X-Atlassian-Webhook-Identifier / When parsed / Then it is a 400
    with pytest.raises(InvalidDeskEventError, match="X-Atlassian-Webhook-Identifier"):
        parse_jira(issue_updated([]), target="ops-jira", delivery_id=None)


def test_other_jira_events_are_not_mirrored() -> None:
    # Given an issue_created event / When parsed / Then there is nothing to mirror
    body = json.dumps({"webhookEvent": "jira:issue_created", "issue": {}}).encode()
    assert parse_jira(body, target="ops-jira", delivery_id="d-1") == []


# --- http ------------------------------------------------------------------------------------


def test_an_http_event_of_an_unknown_kind_names_the_kinds() -> None:
    # Given an http event of kind "closed" / When parsed / Then the 400 lists the kinds
    body = json.dumps({"event_id": "e", "ticket_id": "T-1", "kind": "closed"}).encode()
    with pytest.raises(InvalidDeskEventError, match="resolved, reopened, commented, assigned"):
        parse_http(body, target="desk")


def test_an_http_comment_without_text_is_refused() -> None:
    body = json.dumps({"event_id": "e", "ticket_id": "T-1", "kind": "commented"}).encode()
    with pytest.raises(InvalidDeskEventError, match="comment"):
        parse_http(body, target="desk")


# --- verification ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "headers", "verdict"),
    [
        ("jira", {"X-Hub-Signature": jira_signature(b"{}", SECRET)}, Verdict.ALLOWED),
        ("jira", {"x-hub-signature": jira_signature(b"{}", SECRET)}, Verdict.ALLOWED),
        ("jira", {"X-Hub-Signature": jira_signature(b"{ }", SECRET)}, Verdict.FORGED),
        ("jira", {"X-Hub-Signature": ""}, Verdict.MISSING),
        ("servicenow", {"Authorization": f"Bearer {SECRET}"}, Verdict.ALLOWED),
        ("servicenow", {"Authorization": f"Basic {SECRET}"}, Verdict.FORGED),
        ("http", {"X-PandaBridge-Signature": http_signature(b"{}", SECRET, NOW)}, Verdict.STALE),
        (
            "http",
            {
                "X-PandaBridge-Timestamp": str(NOW - 299),
                "X-PandaBridge-Signature": http_signature(b"{}", SECRET, NOW - 299),
            },
            Verdict.ALLOWED,
        ),
        (
            "http",
            {
                "X-PandaBridge-Timestamp": str(NOW + 1),
                "X-PandaBridge-Signature": http_signature(b"{}", SECRET, NOW),
            },
            Verdict.FORGED,
        ),
    ],
    ids=[
        "jira-signed",
        "jira-lowercase-header",
        "jira-other-body",
        "jira-empty",
        "servicenow-bearer",
        "servicenow-other-scheme",
        "http-no-timestamp",
        "http-within-tolerance",
        "http-timestamp-not-signed",
    ],
)
def test_each_desk_kind_is_verified_its_own_way(
    kind: Any, headers: dict[str, str], verdict: Verdict
) -> None:
    # Given a body of "{}" and the headers a desk sent / When checked / Then the verdict
    assert check(kind, b"{}", headers, SECRET, now=NOW) is verdict


def test_missing_credentials_are_401_and_wrong_ones_403() -> None:
    assert (Verdict.MISSING.status, Verdict.FORGED.status, Verdict.STALE.status) == (
        401,
        403,
        403,
    )


# --- finding the incident --------------------------------------------------------------------


@dataclass
class Directory:
    """The tickets table as a dict: incident key -> record."""

    records: list[TicketRecord] = field(default_factory=list)

    def by_incident(self, incident_key: str) -> TicketRecord | None:
        return next((r for r in self.records if r.incident_key == incident_key), None)

    def by_ticket_id(self, ticket_id: str) -> Sequence[TicketRecord]:
        return [r for r in self.records if r.ticket_id == ticket_id]


def change(*correlations: str, ticket_id: str = "10001", key: str = "OPS-1") -> DeskChange:
    return DeskChange(
        target="ops-jira",
        event_id="d-1:resolved",
        ticket_id=ticket_id,
        ticket_key=key,
        correlations=correlations,
        kind="resolved",
        actor="a",
        actor_name="A",
        at="2026-12-04T00:00:00+00:00",
    )


def test_a_label_is_read_back_as_the_plain_id_it_was_made_from() -> None:
    # Given the label of a plain id, and a ServiceNow correlation id
    # When read back / Then each names its incident, to be confirmed by the tickets table
    assert correlated_incidents([correlation_label("abc-1"), "INC-corr"]) == ["abc-1", "INC-corr"]


def test_only_our_own_labels_are_correlations() -> None:
    # Given an issue labelled "bigpanda" (a target's own label) and with our correlation label
    body = issue_updated(
        [jira_change("status", ("1", "To Do"), ("2", "Done"))],
        status={"statusCategory": {"key": "done"}},
        labels=["bigpanda", "bigpanda-i-1"],
    )
    # When parsed / Then only the correlation label is kept
    [resolved] = parse_jira(body, target="ops-jira", delivery_id="d-1")
    assert resolved.correlations == ("bigpanda-i-1",)


def test_an_incident_without_a_plain_label_is_found_by_its_ticket_id() -> None:
    # Given an incident whose id Jira carries only as a digest label
    odd = "ops#" + "x" * 300
    directory = Directory([TicketRecord(odd, "jira", "10001", "OPS-1")])
    # When its ticket's event is read / Then the ticket id finds it
    found = find_incident(change(correlation_label(odd)), directory, target_names=["jira"])
    assert found == odd


def test_a_correlation_must_be_confirmed_by_the_tickets_table() -> None:
    # Given a label naming an incident whose ticket is another issue
    directory = Directory([TicketRecord("abc-1", "jira", "20002", "OPS-2")])
    # When the incident is looked for / Then none is found (a forged or stale label)
    assert find_incident(change(correlation_label("abc-1")), directory, target_names=["x"]) is None


def test_without_a_correlation_the_ticket_id_finds_the_incident_of_this_desk() -> None:
    # Given two desks that both have a ticket "10001"
    directory = Directory(
        [
            TicketRecord("inc-jira", "jira", "10001", "OPS-1"),
            TicketRecord("inc-other", "http", "10001", None),
        ]
    )
    # When an event of the Jira target names ticket 10001 / Then the Jira desk's incident
    found = find_incident(change(), directory, target_names=["ops-jira", "jira"])
    assert found == "inc-jira"
