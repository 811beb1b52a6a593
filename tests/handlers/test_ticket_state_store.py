"""The tickets table keeps every attribute of a ticket state, on moto's DynamoDB."""

from __future__ import annotations

from datetime import UTC, datetime

import boto3

from local.names import TICKETS_TABLE
from pandabridge.stores.tickets import TicketStateStore
from pandabridge.tickets.model import TicketRef, TicketStatus
from pandabridge.tickets.state import StepFailure, TicketState
from tests.handlers.conftest import Aws

AT = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def test_a_saved_state_reads_back_with_its_step_failures_hashes_and_previous_tickets(
    aws: Aws,
) -> None:
    # Given a state with refused steps, field hashes, a comment in doubt and a former ticket
    store = TicketStateStore(TICKETS_TABLE.local_name, boto3.client("dynamodb"))
    state = TicketState(
        incident_id="inc-1",
        target="jira",
        ticket=TicketRef(id="10002", key="OPS-2", url="https://jira.example/OPS-2"),
        status=TicketStatus.OPEN,
        field_hashes={"title": "a" * 32, "description": "b" * 32},
        comment_attempts=frozenset({"c" * 32}),
        step_failures={
            "resolve": StepFailure("resolve", "no Done", "targets.jira.workflow.resolve", AT, 2),
            "assign": StepFailure("assign", "cannot be assigned", "u-1", AT, 1, status=400),
        },
        previous_tickets=(TicketRef(id="10001", key="OPS-1"),),
    )
    # When it is saved and read back
    saved = store.save(state)
    # Then every attribute is as saved
    assert store.get("inc-1") == saved


def test_a_state_without_the_new_attributes_reads_back_empty(aws: Aws) -> None:
    # Given a state saved with none of them (as the previous release saved every state)
    store = TicketStateStore(TICKETS_TABLE.local_name, boto3.client("dynamodb"))
    saved = store.save(TicketState(incident_id="inc-2", target="http"))
    # When it is read back / Then they are empty
    read = store.get("inc-2")
    assert read is not None
    assert read == saved
    assert (read.field_hashes, read.step_failures, read.previous_tickets) == ({}, {}, ())
