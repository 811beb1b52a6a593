"""redrive: SQS's move task where the endpoint has it (stubbed), the client-side move on moto."""

from __future__ import annotations

import io
import json
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from local.names import TICKET_SYNC_QUEUE
from ops import redrive
from ops.discovery import Resource, Resources
from ops.progress import Progress
from tests.ops.support import Cli, LocalStack

DLQ_URL = "https://sqs.eu-west-1.amazonaws.com/111122223333/stack-TicketSyncDlq.fifo"
SOURCE_URL = "https://sqs.eu-west-1.amazonaws.com/111122223333/stack-TicketSync.fifo"
DLQ_ARN = "arn:aws:sqs:eu-west-1:111122223333:stack-TicketSyncDlq.fifo"
SOURCE_ARN = "arn:aws:sqs:eu-west-1:111122223333:stack-TicketSync.fifo"


# --- the client-side move, on moto (which has no StartMessageMoveTask) ---


@pytest.fixture
def dead_letters(stack: LocalStack) -> list[tuple[str, str]]:
    """Three nudges of two incidents in the ticket-sync DLQ, as (group, body)."""
    sent = [
        ("incident-a", json.dumps({"incident_id": "incident-a", "version": "1", "sha256": "a1"})),
        ("incident-b", json.dumps({"incident_id": "incident-b", "version": "1", "sha256": "b1"})),
        ("incident-a", json.dumps({"incident_id": "incident-a", "version": "2", "sha256": "a2"})),
    ]
    sqs = stack.client("sqs")
    for number, (group, body) in enumerate(sent):
        sqs.send_message(
            QueueUrl=stack.queue_url(TICKET_SYNC_QUEUE.dlq_local_name),
            MessageBody=body,
            MessageGroupId=group,
            MessageDeduplicationId=f"dead-{number}",
            MessageAttributes={"reason": {"DataType": "String", "StringValue": "ticket desk 403"}},
        )
    return sent


def test_fallback_moves_every_message_to_the_source_queue(
    cli: Cli, stack: LocalStack, dead_letters: list[tuple[str, str]]
) -> None:
    # When
    run = cli("redrive", "ticket-sync")

    # Then
    assert run.code == 0, run.err
    moved = stack.messages(TICKET_SYNC_QUEUE.local_name)
    assert sorted((m["Attributes"]["MessageGroupId"], m["Body"]) for m in moved) == sorted(
        dead_letters
    )


def test_fallback_keeps_each_groups_order(
    cli: Cli, stack: LocalStack, dead_letters: list[tuple[str, str]]
) -> None:
    # When
    cli("redrive", "ticket-sync")

    # Then
    moved = stack.messages(TICKET_SYNC_QUEUE.local_name)
    group_a = [m["Body"] for m in moved if m["Attributes"]["MessageGroupId"] == "incident-a"]
    assert group_a == [body for group, body in dead_letters if group == "incident-a"]


def test_fallback_keeps_the_message_attributes(
    cli: Cli, stack: LocalStack, dead_letters: list[tuple[str, str]]
) -> None:
    # When
    cli("redrive", "ticket-sync")

    # Then
    moved = stack.messages(TICKET_SYNC_QUEUE.local_name)
    assert {m["MessageAttributes"]["reason"]["StringValue"] for m in moved} == {"ticket desk 403"}


def test_fallback_empties_the_dlq(
    cli: Cli, stack: LocalStack, dead_letters: list[tuple[str, str]]
) -> None:
    # When
    cli("redrive", "ticket-sync")

    # Then
    assert stack.messages(TICKET_SYNC_QUEUE.dlq_local_name) == []


def test_fallback_prints_progress_and_a_summary(
    cli: Cli, dead_letters: list[tuple[str, str]]
) -> None:
    # When
    run = cli("redrive", "ticket-sync")

    # Then
    lines = run.out.splitlines()
    assert "the endpoint has no StartMessageMoveTask: moving the messages client-side" in lines
    assert [line for line in lines if line.startswith("redrive ticket-sync:")] == [
        "redrive ticket-sync: 1/3 moved",
        "redrive ticket-sync: 2/3 moved",
        "redrive ticket-sync: 3/3 moved",
    ]
    assert lines[-1] == "moved 3, failed 0"


def test_fallback_leaves_a_message_it_could_not_send_in_the_dlq(
    stack: LocalStack, dead_letters: list[tuple[str, str]]
) -> None:
    # Given a source queue that refuses every send (it does not exist)
    dlq_url = stack.queue_url(TICKET_SYNC_QUEUE.dlq_local_name)
    out = io.StringIO()
    move = redrive.ClientSideMove(
        stack.client("sqs"),
        dlq_url,
        stack.queue_url("no-such-queue.fifo"),
        max_per_second=None,
        progress=Progress(out, "redrive ticket-sync", unit="moved"),
    )

    # When
    summary = move.run(total=3)

    # Then
    assert (summary.moved, summary.failed) == (0, 3)
    counts = stack.client("sqs").get_queue_attributes(
        QueueUrl=dlq_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    assert sum(int(count) for count in counts.values()) == 3


def test_an_empty_dlq_moves_nothing(cli: Cli) -> None:
    # When
    run = cli("redrive", "callback")

    # Then
    assert run.code == 0
    assert run.out.splitlines()[-1] == "moved 0, failed 0"


# --- SQS's move task, stubbed ---


@pytest.fixture
def sqs() -> Any:
    return boto3.client(
        "sqs", region_name="eu-west-1", aws_access_key_id="test", aws_secret_access_key="test"
    )


@pytest.fixture
def resources() -> Resources:
    def no_stack() -> dict[str, str]:
        raise AssertionError("every queue is given explicitly")

    return Resources(
        "test",
        {Resource.TICKET_SYNC_DLQ_URL: DLQ_URL, Resource.TICKET_SYNC_QUEUE_URL: SOURCE_URL},
        no_stack,
    )


def _expect_queues(stubber: Stubber, waiting: int) -> None:
    stubber.add_response(
        "get_queue_attributes",
        {
            "Attributes": {
                "QueueArn": DLQ_ARN,
                "ApproximateNumberOfMessages": str(waiting),
                "ApproximateNumberOfMessagesNotVisible": "0",
            }
        },
        {
            "QueueUrl": DLQ_URL,
            "AttributeNames": [
                "QueueArn",
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
            ],
        },
    )
    stubber.add_response(
        "get_queue_attributes",
        {"Attributes": {"QueueArn": SOURCE_ARN}},
        {"QueueUrl": SOURCE_URL, "AttributeNames": ["QueueArn"]},
    )


def _task(status: str, moved: int, total: int, **extra: Any) -> dict[str, Any]:
    return {
        "Results": [
            {
                "Status": status,
                "SourceArn": DLQ_ARN,
                "DestinationArn": SOURCE_ARN,
                "ApproximateNumberOfMessagesMoved": moved,
                "ApproximateNumberOfMessagesToMove": total,
                **extra,
            }
        ]
    }


def _run(sqs: Any, resources: Resources, *, max_per_second: int | None = 5) -> tuple[int, str]:
    out = io.StringIO()
    code = redrive.command(
        sqs,
        resources,
        "ticket-sync",
        max_per_second=max_per_second,
        out=out,
        sleep=lambda _seconds: None,
    )
    return code, out.getvalue()


def test_move_task_goes_from_the_dlq_to_its_source_at_the_given_rate(
    sqs: Any, resources: Resources
) -> None:
    # Given
    with Stubber(sqs) as stubber:
        _expect_queues(stubber, waiting=3)
        stubber.add_response(
            "start_message_move_task",
            {"TaskHandle": "handle-1"},
            {"SourceArn": DLQ_ARN, "DestinationArn": SOURCE_ARN, "MaxNumberOfMessagesPerSecond": 5},
        )
        stubber.add_response("list_message_move_tasks", _task("COMPLETED", 3, 3))

        # When
        code, _ = _run(sqs, resources)

        # Then
        stubber.assert_no_pending_responses()
    assert code == 0


def test_move_task_progress_follows_the_task_until_completed(
    sqs: Any, resources: Resources
) -> None:
    # Given
    with Stubber(sqs) as stubber:
        _expect_queues(stubber, waiting=3)
        stubber.add_response("start_message_move_task", {"TaskHandle": "handle-1"})
        for moved in (0, 1, 2):
            stubber.add_response(
                "list_message_move_tasks",
                _task("RUNNING", moved, 3, TaskHandle="handle-1"),
                {"SourceArn": DLQ_ARN, "MaxResults": 1},
            )
        stubber.add_response("list_message_move_tasks", _task("COMPLETED", 3, 3))

        # When
        code, out = _run(sqs, resources)

    # Then
    assert code == 0
    assert [line for line in out.splitlines() if line.startswith("redrive")] == [
        "redrive ticket-sync: 0/3 moved",
        "redrive ticket-sync: 1/3 moved",
        "redrive ticket-sync: 2/3 moved",
        "redrive ticket-sync: 3/3 moved",
    ]
    assert out.splitlines()[-1] == "moved 3, failed 0"


def test_move_task_without_a_rate_sends_none(sqs: Any, resources: Resources) -> None:
    # Given
    with Stubber(sqs) as stubber:
        _expect_queues(stubber, waiting=1)
        stubber.add_response(
            "start_message_move_task",
            {"TaskHandle": "handle-1"},
            {"SourceArn": DLQ_ARN, "DestinationArn": SOURCE_ARN},
        )
        stubber.add_response("list_message_move_tasks", _task("COMPLETED", 1, 1))

        # When
        code, _ = _run(sqs, resources, max_per_second=None)

    # Then
    assert code == 0


def test_failed_move_task_exits_1_with_its_reason(sqs: Any, resources: Resources) -> None:
    # Given
    with Stubber(sqs) as stubber:
        _expect_queues(stubber, waiting=3)
        stubber.add_response("start_message_move_task", {"TaskHandle": "handle-1"})
        stubber.add_response(
            "list_message_move_tasks",
            _task("FAILED", 1, 3, FailureReason="AWS.SimpleQueueService.AccessDenied"),
        )

        # When
        code, out = _run(sqs, resources)

    # Then
    assert code == 1
    assert out.splitlines()[-1] == (
        "moved 1, failed 2 (move task FAILED: AWS.SimpleQueueService.AccessDenied)"
    )


def test_other_errors_of_start_are_not_taken_for_a_missing_action(
    sqs: Any, resources: Resources
) -> None:
    # Given
    with Stubber(sqs) as stubber:
        _expect_queues(stubber, waiting=3)
        stubber.add_client_error(
            "start_message_move_task", service_error_code="AccessDenied", http_status_code=403
        )

        # When / Then
        with pytest.raises(ClientError, match="AccessDenied"):
            _run(sqs, resources)
