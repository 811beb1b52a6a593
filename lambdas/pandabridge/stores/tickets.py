"""The tickets table: one item per incident with its ticket and sync state.

Writes are ``UpdateItem`` calls that set only the attributes the writer owns (ticket sync owns
all but ``callback_confirmed_at``), guarded by a revision number so two writers can never
overwrite each other's view unnoticed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from pandabridge.errors import RetryableError
from pandabridge.names import TICKETS_TABLE
from pandabridge.stores.dynamo import from_attributes, to_attribute
from pandabridge.tickets.model import TicketRef, TicketStatus
from pandabridge.tickets.state import StepFailure, TicketState

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

KEY: Final = TICKETS_TABLE.partition_key
CALLBACK_CONFIRMED_AT: Final = "callback_confirmed_at"

# The attributes ticket sync writes. ``callback_confirmed_at`` is the callback function's.
_SYNC_OWNED: Final = (
    "target",
    "ticket_id",
    "ticket_key",
    "ticket_url",
    "status",
    "synced_version",
    "synced_hash",
    "comment_hashes",
    "assignee",
    "created_at",
    "updated_at",
    "resolved_at",
    "create_attempted_at",
    "callback_enqueued_at",
    "callback_received_at",
    "field_hashes",
    "comment_attempts",
    "step_failures",
    "previous_tickets",
    "link_written_at",
)


class StateConflictError(RetryableError):
    """Someone else saved this incident's state since it was read: sync again from the top."""


@dataclass
class TicketStateStore:
    table_name: str
    dynamodb: DynamoDBClient

    def get(self, incident_id: str) -> TicketState | None:
        response = self.dynamodb.get_item(
            TableName=self.table_name,
            Key={KEY: {"S": incident_id}},
            ConsistentRead=True,
        )
        item = response.get("Item")
        return _state_from_item(from_attributes(item)) if item else None

    def save(self, state: TicketState) -> TicketState:
        """Write the sync-owned attributes if the stored revision is still ``state.revision``."""
        values = _owned_values(state)
        names = {f"#{i}": name for i, name in enumerate(_SYNC_OWNED)}
        by_name = {name: alias for alias, name in names.items()}
        sets = [f"{by_name[n]} = :{i}" for i, n in enumerate(_SYNC_OWNED) if values[n] is not None]
        removes = [by_name[n] for n in _SYNC_OWNED if values[n] is None]
        expression = "SET " + ", ".join([*sets, "#rev = :next"])
        if removes:
            expression += " REMOVE " + ", ".join(removes)
        attribute_values = {
            f":{i}": to_attribute(values[n])
            for i, n in enumerate(_SYNC_OWNED)
            if values[n] is not None
        }
        attribute_values[":next"] = {"N": str(state.revision + 1)}
        names["#rev"] = "revision"
        if state.revision == 0:
            condition = "attribute_not_exists(#id)"
            names["#id"] = KEY
        else:
            condition = "#rev = :expected"
            attribute_values[":expected"] = {"N": str(state.revision)}
        try:
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key={KEY: {"S": state.incident_id}},
                UpdateExpression=expression,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=attribute_values,
            )
        except self.dynamodb.exceptions.ConditionalCheckFailedException:
            raise StateConflictError(
                f"ticket state of {state.incident_id} changed while syncing", retry_after=1
            ) from None
        return state.but(revision=state.revision + 1)


@dataclass
class CallbackLedger:
    """The callback function's view of the tickets table: one attribute it reads and writes.

    Implements ``pandabridge.callbacks.ConfirmationLedger``.
    """

    table_name: str
    dynamodb: DynamoDBClient

    def confirmed_at(self, incident_id: str) -> datetime | None:
        item = self.dynamodb.get_item(
            TableName=self.table_name,
            Key={KEY: {"S": incident_id}},
            ProjectionExpression="#at",
            ExpressionAttributeNames={"#at": CALLBACK_CONFIRMED_AT},
            ConsistentRead=True,
        ).get("Item", {})
        return _time(item.get(CALLBACK_CONFIRMED_AT, {}).get("S"))

    def record_confirmed(self, incident_id: str, at: datetime) -> bool:
        try:
            self.dynamodb.update_item(
                TableName=self.table_name,
                Key={KEY: {"S": incident_id}},
                UpdateExpression="SET #at = :at",
                ConditionExpression="attribute_exists(#id) AND attribute_not_exists(#at)",
                ExpressionAttributeNames={"#at": CALLBACK_CONFIRMED_AT, "#id": KEY},
                ExpressionAttributeValues={":at": {"S": _iso(at) or ""}},
            )
        except self.dynamodb.exceptions.ConditionalCheckFailedException:
            return False
        return True


def _owned_values(state: TicketState) -> dict[str, Any]:
    ticket = state.ticket
    return {
        "target": state.target,
        "ticket_id": ticket.id if ticket else None,
        "ticket_key": ticket.key if ticket else None,
        "ticket_url": ticket.url if ticket else None,
        "status": state.status.value if state.status else None,
        "synced_version": state.synced_version,
        "synced_hash": state.synced_hash,
        # DynamoDB has no empty sets: no comments is no attribute.
        "comment_hashes": set(state.comment_hashes) or None,
        "assignee": state.assignee,
        "created_at": _iso(state.created_at),
        "updated_at": _iso(state.updated_at),
        "resolved_at": _iso(state.resolved_at),
        "create_attempted_at": _iso(state.create_attempted_at),
        "callback_enqueued_at": _iso(state.callback_enqueued_at),
        "callback_received_at": _iso(state.callback_received_at),
        "field_hashes": dict(state.field_hashes) or None,
        "comment_attempts": set(state.comment_attempts) or None,
        "step_failures": {
            step: _failure_item(failure) for step, failure in state.step_failures.items()
        }
        or None,
        "previous_tickets": [_ref_item(ref) for ref in state.previous_tickets] or None,
        "link_written_at": _iso(state.link_written_at),
    }


def _failure_item(failure: StepFailure) -> dict[str, Any]:
    item: dict[str, Any] = {
        "step": failure.step,
        "reason": failure.reason,
        "setting": failure.setting,
        "at": _iso(failure.at),
        "attempts": failure.attempts,
    }
    if failure.status is not None:
        item["status"] = failure.status
    return item


def _failure_of(item: dict[str, Any]) -> StepFailure:
    at = _time(item.get("at"))
    assert at is not None  # noqa: S101 - every saved failure has its time
    return StepFailure(
        step=item["step"],
        reason=item["reason"],
        setting=item["setting"],
        at=at,
        attempts=int(item.get("attempts", 1)),
        status=int(item["status"]) if item.get("status") is not None else None,
    )


def _ref_item(ref: TicketRef) -> dict[str, Any]:
    return {name: value for name, value in vars(ref).items() if value is not None}


def _ref_of(item: dict[str, Any]) -> TicketRef:
    return TicketRef(id=item["id"], key=item.get("key"), url=item.get("url"))


def _state_from_item(item: dict[str, Any]) -> TicketState:
    ticket = (
        TicketRef(id=item["ticket_id"], key=item.get("ticket_key"), url=item.get("ticket_url"))
        if "ticket_id" in item
        else None
    )
    return TicketState(
        incident_id=item[KEY],
        target=item.get("target", ""),
        ticket=ticket,
        status=TicketStatus(item["status"]) if "status" in item else None,
        synced_version=item.get("synced_version"),
        synced_hash=item.get("synced_hash"),
        comment_hashes=frozenset(item.get("comment_hashes", ())),
        assignee=item.get("assignee"),
        created_at=_time(item.get("created_at")),
        updated_at=_time(item.get("updated_at")),
        resolved_at=_time(item.get("resolved_at")),
        create_attempted_at=_time(item.get("create_attempted_at")),
        callback_enqueued_at=_time(item.get("callback_enqueued_at")),
        callback_received_at=_time(item.get("callback_received_at")),
        callback_confirmed_at=_time(item.get(CALLBACK_CONFIRMED_AT)),
        field_hashes=dict(item.get("field_hashes", {})),
        comment_attempts=frozenset(item.get("comment_attempts", ())),
        step_failures={
            step: _failure_of(value) for step, value in item.get("step_failures", {}).items()
        },
        previous_tickets=tuple(_ref_of(ref) for ref in item.get("previous_tickets", ())),
        link_written_at=_time(item.get("link_written_at")),
        revision=int(item.get("revision", 0)),
    )


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="milliseconds") if moment else None


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
