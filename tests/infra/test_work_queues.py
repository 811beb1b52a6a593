"""The ticket-sync FIFO queue, the callback queue and every dead-letter queue: ordered per
incident, deduplicated, retried a bounded number of times, encrypted and TLS-only."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import App
from synth_support import OVERRIDES, Synthesized, arn_of

from stacks.config import StackSettings
from stacks.limits import StackLimits
from stacks.queues import VisibilityTimeoutError, WorkQueues, check_visibility


@pytest.fixture(scope="module")
def queues(synthesized: Synthesized) -> WorkQueues:
    return synthesized.stack.queues


def _queue(synthesized: Synthesized, construct: Any) -> dict[str, Any]:
    return synthesized.resource(construct)["Properties"]


@pytest.mark.parametrize("name", ["ticket_sync_queue", "callback_queue"])
def test_work_queues_are_fifo_deduplicated_per_incident(
    synthesized: Synthesized, queues: WorkQueues, name: str
) -> None:
    # Given a work queue / When its FIFO settings are read
    queue = _queue(synthesized, getattr(queues, name))
    # Then it orders and deduplicates per message group (incident), in high throughput mode,
    # with the deduplication id its producer sets rather than a hash of the body
    assert queue["FifoQueue"] is True
    assert queue["DeduplicationScope"] == "messageGroup"
    assert queue["FifoThroughputLimit"] == "perMessageGroupId"
    assert queue.get("ContentBasedDeduplication", False) is False
    assert "QueueName" not in queue


def test_visibility_covers_six_function_timeouts(
    synthesized: Synthesized, queues: WorkQueues
) -> None:
    # Given both work queues and their consumers' timeouts
    ticket_sync = _queue(synthesized, queues.ticket_sync_queue)
    callback = _queue(synthesized, queues.callback_queue)
    # When the visibility timeouts are read
    # Then each is the shared limit and at least six times its consumer's timeout
    assert ticket_sync["VisibilityTimeout"] == StackLimits.TICKET_SYNC_VISIBILITY_SECONDS
    assert ticket_sync["VisibilityTimeout"] >= 6 * StackLimits.TICKET_SYNC_TIMEOUT_SECONDS
    assert ticket_sync["VisibilityTimeout"] >= 6 * synthesized.ticket_sync_function["Timeout"]
    assert callback["VisibilityTimeout"] == StackLimits.CALLBACK_VISIBILITY_SECONDS
    assert callback["VisibilityTimeout"] >= 6 * StackLimits.CALLBACK_TIMEOUT_SECONDS


def test_a_visibility_below_six_timeouts_is_refused() -> None:
    # Given a visibility timeout of five function timeouts
    # When it is checked / Then the error names the queue and the ratio
    with pytest.raises(VisibilityTimeoutError, match=r"ticket-sync.*6x"):
        check_visibility(300, 60, "ticket-sync")


def test_the_stack_checks_the_visibility_ratio(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a ticket-sync timeout that the shared visibility no longer covers six times
    monkeypatch.setattr(
        StackLimits, "TICKET_SYNC_TIMEOUT_SECONDS", StackLimits.TICKET_SYNC_VISIBILITY_SECONDS
    )
    # When the queues are built / Then the build stops
    with pytest.raises(VisibilityTimeoutError):
        WorkQueues(App(), "Queues", settings=StackSettings())


@pytest.mark.parametrize(
    ("queue", "dlq", "setting"),
    [
        ("ticket_sync_queue", "ticket_sync_dlq", "ticket_sync_max_receive_count"),
        ("callback_queue", "callback_dlq", "callback_max_receive_count"),
    ],
)
@pytest.mark.parametrize("app", ["synthesized", "overridden"])
def test_failing_messages_are_redriven_after_the_configured_receives(
    app: str, queue: str, dlq: str, setting: str, request: pytest.FixtureRequest
) -> None:
    # Given an app with default or overridden settings
    synthesized: Synthesized = request.getfixturevalue(app)
    queues = synthesized.stack.queues
    # When a work queue's redrive policy is read
    redrive = _queue(synthesized, getattr(queues, queue))["RedrivePolicy"]
    # Then it moves a message to its own DLQ after the configured number of receives
    assert redrive == {
        "deadLetterTargetArn": arn_of(synthesized.logical_id(getattr(queues, dlq))),
        "maxReceiveCount": getattr(synthesized.settings, setting),
    }


def test_receive_count_defaults_are_the_shared_limits(synthesized: Synthesized) -> None:
    # Given the default settings / Then they are the limits the local stack also uses
    assert synthesized.settings.ticket_sync_max_receive_count == (
        StackLimits.TICKET_SYNC_MAX_RECEIVE_COUNT
    )
    assert synthesized.settings.callback_max_receive_count == StackLimits.CALLBACK_MAX_RECEIVE_COUNT
    assert OVERRIDES["ticket_sync_max_receive_count"] != StackLimits.TICKET_SYNC_MAX_RECEIVE_COUNT


def test_dead_letter_queues_match_their_source_and_keep_messages_longer(
    synthesized: Synthesized, queues: WorkQueues
) -> None:
    # Given each work queue and its DLQ
    pairs = [
        (queues.ticket_sync_queue, queues.ticket_sync_dlq),
        (queues.callback_queue, queues.callback_dlq),
    ]
    for source, dlq in pairs:
        # When their kind and retention are read
        source_queue, dead_letters = _queue(synthesized, source), _queue(synthesized, dlq)
        # Then a FIFO queue has a FIFO DLQ, and the DLQ outlives the source's messages
        assert dead_letters.get("FifoQueue", False) == source_queue.get("FifoQueue", False)
        assert dead_letters["MessageRetentionPeriod"] > source_queue["MessageRetentionPeriod"]
        assert dead_letters["MessageRetentionPeriod"] == 14 * 24 * 3600
        assert "RedrivePolicy" not in dead_letters


def test_callback_dlq_is_fifo_like_its_source(synthesized: Synthesized, queues: WorkQueues) -> None:
    # SQS only redrives a FIFO queue into a FIFO dead-letter queue
    assert _queue(synthesized, queues.callback_dlq)["FifoQueue"] is True


def test_every_queue_is_encrypted(synthesized: Synthesized) -> None:
    # Given every queue of the stack / When its encryption is read
    queues = synthesized.resources("AWS::SQS::Queue")
    # Then each uses SQS-managed server-side encryption (and no customer key to manage)
    assert len(queues) == 5
    assert all(q["Properties"]["SqsManagedSseEnabled"] is True for q in queues.values())
    assert not any("KmsMasterKeyId" in q["Properties"] for q in queues.values())


def test_every_queue_denies_requests_without_tls(synthesized: Synthesized) -> None:
    # Given every queue and the queue policies
    queues = set(synthesized.resources("AWS::SQS::Queue"))
    # When the statements that deny plain HTTP are collected
    denying = {
        queue["Ref"]
        for policy in synthesized.resources("AWS::SQS::QueuePolicy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if statement["Effect"] == "Deny"
        and statement["Action"] == "sqs:*"
        and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for queue in policy["Properties"]["Queues"]
    }
    # Then every queue has one
    assert denying == queues
