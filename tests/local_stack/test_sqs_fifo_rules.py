"""The local moto server refuses FIFO ids as SQS does, so what AWS refuses fails locally too.

SQS allows 1 to 128 characters from ``!`` to ``~`` in ``MessageGroupId`` and
``MessageDeduplicationId``; moto on its own accepts anything.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.local_stack.harness import aws_client

INVALID_IDS = {
    "129-characters": "x" * 129,
    "empty": "",
    "space": "incident 1",
    "cjk": "事件-1",
    "emoji": "🔥",
    "newline": "a\nb",
}


@pytest.fixture
def sqs(resources: str) -> Any:
    return aws_client("sqs", resources)


def queue_depth(sqs: Any, url: str) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"])


def sqs_refusal(parameter: str, value: str) -> str:
    """SQS's own words for an invalid FIFO id."""
    return (
        f"Value {value} for parameter {parameter} is invalid. Reason: {parameter} can only "
        "include alphanumeric and punctuation characters. 1 to 128 in length."
    )


@pytest.mark.parametrize("parameter", ["MessageGroupId", "MessageDeduplicationId"])
@pytest.mark.parametrize("value", INVALID_IDS.values(), ids=INVALID_IDS.keys())
def test_send_message_with_an_invalid_fifo_id_is_refused_as_sqs_does(
    sqs: Any, ticket_sync_queue: str, parameter: str, value: str
) -> None:
    # Given a FIFO queue and a send whose group or deduplication id breaks SQS's rule
    ids = {"MessageGroupId": "group-1", "MessageDeduplicationId": "dedup-1", parameter: value}
    # When it is sent
    with pytest.raises(ClientError) as refused:
        sqs.send_message(QueueUrl=ticket_sync_queue, MessageBody="{}", **ids)
    # Then it is refused with SQS's status, code and message, and nothing is queued
    error = refused.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Code"] == "InvalidParameterValue"
    assert error["Error"]["Type"] == "Sender"
    assert error["Error"]["Message"] == sqs_refusal(parameter, value)
    assert queue_depth(sqs, ticket_sync_queue) == 0


@pytest.mark.parametrize("value", ["!", "~" * 128, "a-Z_0.9:/?#[]@"])
def test_fifo_ids_within_the_rule_are_accepted(
    sqs: Any, ticket_sync_queue: str, value: str
) -> None:
    # Given ids at the edges of SQS's rule / When they are sent
    sqs.send_message(
        QueueUrl=ticket_sync_queue,
        MessageBody="{}",
        MessageGroupId=value,
        MessageDeduplicationId=value,
    )
    # Then the message is queued
    assert queue_depth(sqs, ticket_sync_queue) == 1


def test_a_batch_entry_with_an_invalid_fifo_id_fails_alone(
    sqs: Any, ticket_sync_queue: str
) -> None:
    # Given a batch of one valid entry and one with a group id SQS refuses
    entries = [
        {"Id": "ok", "MessageBody": "{}", "MessageGroupId": "g", "MessageDeduplicationId": "d1"},
        {"Id": "bad", "MessageBody": "{}", "MessageGroupId": "g 1", "MessageDeduplicationId": "d2"},
    ]
    # When it is sent
    answer = sqs.send_message_batch(QueueUrl=ticket_sync_queue, Entries=entries)
    # Then the invalid entry fails as a sender fault with SQS's words, the valid one is queued
    assert [entry["Id"] for entry in answer["Successful"]] == ["ok"]
    assert answer["Failed"] == [
        {
            "Id": "bad",
            "SenderFault": True,
            "Code": "InvalidParameterValue",
            "Message": sqs_refusal("MessageGroupId", "g 1"),
        }
    ]
    assert queue_depth(sqs, ticket_sync_queue) == 1


def test_deduplication_is_per_message_group_as_the_stacks_queues_ask(
    sqs: Any, ticket_sync_queue: str
) -> None:
    # Given the ticket-sync queue (DeduplicationScope messageGroup) and one deduplication id
    # sent in two groups: two integrations' incidents with the same content
    for group in ("5555370aabc20a001145d6g9", "ops#5555370aabc20a001145d6g9"):
        sqs.send_message(
            QueueUrl=ticket_sync_queue,
            MessageBody="{}",
            MessageGroupId=group,
            MessageDeduplicationId="same-content-hash",
        )
    # And the same id again in the first group (a duplicate, which SQS drops)
    sqs.send_message(
        QueueUrl=ticket_sync_queue,
        MessageBody="{}",
        MessageGroupId="5555370aabc20a001145d6g9",
        MessageDeduplicationId="same-content-hash",
    )
    # Then both groups hold their message, and only the duplicate within a group is dropped
    assert queue_depth(sqs, ticket_sync_queue) == 2
