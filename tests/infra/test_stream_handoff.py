"""The pipe from the incidents stream to the ticket-sync queue: the shared filter and message,
a dead-letter queue for what it cannot send, and a role that reaches nothing else."""

from __future__ import annotations

import json
from typing import Any

import pytest
from synth_support import Synthesized, allowed, allowing, arn_of

from pandabridge.handoff import DEDUP_ID_PATH, FILTER_PATTERN, GROUP_ID_PATH, INPUT_TEMPLATE
from stacks.stream_handoff import StreamHandoff


@pytest.fixture(scope="module")
def handoff(synthesized: Synthesized) -> StreamHandoff:
    return synthesized.stack.handoff


@pytest.fixture(scope="module")
def pipe(synthesized: Synthesized) -> dict[str, Any]:
    return synthesized.only("AWS::Pipes::Pipe")[1]


@pytest.fixture(scope="module")
def stream_parameters(pipe: dict[str, Any]) -> dict[str, Any]:
    return pipe["Properties"]["SourceParameters"]["DynamoDBStreamParameters"]


def test_pipe_reads_the_incidents_stream(synthesized: Synthesized, pipe: dict[str, Any]) -> None:
    # Given the pipe / When its source is read
    table_id = synthesized.logical_id(synthesized.stack.storage.table)
    # Then it is the incidents table's stream, read from its oldest record
    assert pipe["Properties"]["Source"] == {"Fn::GetAtt": [table_id, "StreamArn"]}


def test_pipe_starts_at_the_oldest_record_in_bounded_batches(
    stream_parameters: dict[str, Any],
) -> None:
    # Given the pipe's stream parameters / When position and batch size are read
    # Then records already in the stream when the pipe is created are nudged too
    assert stream_parameters["StartingPosition"] == "TRIM_HORIZON"
    assert 1 <= stream_parameters["BatchSize"] <= 10


def test_pipe_filters_with_the_shared_pattern(pipe: dict[str, Any]) -> None:
    # Given the pipe's filter criteria
    filters = pipe["Properties"]["SourceParameters"]["FilterCriteria"]["Filters"]
    # When each pattern is parsed / Then the only one is the pattern the local stack applies
    assert [json.loads(f["Pattern"]) for f in filters] == [FILTER_PATTERN]


def test_pipe_sends_the_shared_message_with_the_shared_fifo_ids(pipe: dict[str, Any]) -> None:
    # Given the pipe's target parameters
    target = pipe["Properties"]["TargetParameters"]
    # When the message template and FIFO ids are read
    # Then they are handoff's: one group per incident, deduplicated by content hash
    assert target["InputTemplate"] == INPUT_TEMPLATE
    assert target["SqsQueueParameters"] == {
        "MessageGroupId": GROUP_ID_PATH,
        "MessageDeduplicationId": DEDUP_ID_PATH,
    }


def test_pipe_targets_the_ticket_sync_fifo_queue(
    synthesized: Synthesized, pipe: dict[str, Any]
) -> None:
    # Given the pipe / When its target is read
    queue_id = synthesized.logical_id(synthesized.stack.queues.ticket_sync_queue)
    # Then it is the ticket-sync FIFO queue
    assert pipe["Properties"]["Target"] == arn_of(queue_id)


def test_records_the_pipe_cannot_send_go_to_its_dlq(
    synthesized: Synthesized, handoff: StreamHandoff, stream_parameters: dict[str, Any]
) -> None:
    # Given the pipe's failure handling
    dlq = synthesized.resource(handoff.dead_letter_queue)["Properties"]
    # When its retries and dead-letter target are read
    # Then a failing batch is bisected, retried a bounded number of times, then dead-lettered
    # to an encrypted standard queue, so no record is dropped silently or blocks its shard
    assert stream_parameters["DeadLetterConfig"] == {
        "Arn": arn_of(synthesized.logical_id(handoff.dead_letter_queue))
    }
    assert stream_parameters["OnPartialBatchItemFailure"] == "AUTOMATIC_BISECT"
    assert 0 <= stream_parameters["MaximumRetryAttempts"] < 185
    assert "FifoQueue" not in dlq
    assert dlq["SqsManagedSseEnabled"] is True


def test_pipe_logs_errors_to_a_log_group_with_retention(
    synthesized: Synthesized, handoff: StreamHandoff, pipe: dict[str, Any]
) -> None:
    # Given the pipe's log configuration
    logging = pipe["Properties"]["LogConfiguration"]
    log_group_id = synthesized.logical_id(handoff.log_group)
    # When its level and destination are read
    # Then only errors are logged, without record content, to a group that expires entries
    assert logging == {
        "Level": "ERROR",
        "CloudwatchLogsLogDestination": {"LogGroupArn": arn_of(log_group_id)},
    }
    group = synthesized.resources("AWS::Logs::LogGroup")[log_group_id]
    assert group["Properties"]["RetentionInDays"] == synthesized.settings.log_retention_days


def test_pipe_role_is_for_pipes_of_this_account_only(
    synthesized: Synthesized, handoff: StreamHandoff
) -> None:
    # Given the pipe's role / When its trust policy is read
    trust = synthesized.resource(handoff.role)["Properties"]["AssumeRolePolicyDocument"]
    # Then only EventBridge Pipes, acting for this account, may assume it
    assert trust["Statement"] == [
        {
            "Action": "sts:AssumeRole",
            "Effect": "Allow",
            "Principal": {"Service": "pipes.amazonaws.com"},
            "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
        }
    ]


def test_pipe_role_reads_the_stream_and_sends_to_two_queues_only(
    synthesized: Synthesized, handoff: StreamHandoff
) -> None:
    # Given the pipe role's statements
    statements = synthesized.role_statements(handoff.role)
    stack = synthesized.stack
    stream = {"Fn::GetAtt": [synthesized.logical_id(stack.storage.table), "StreamArn"]}
    queue = arn_of(synthesized.logical_id(stack.queues.ticket_sync_queue))
    dlq = arn_of(synthesized.logical_id(handoff.dead_letter_queue))
    logs = arn_of(synthesized.logical_id(handoff.log_group))
    # When each action is mapped to the resources it is allowed on
    # Then it reads the one stream, sends to the FIFO queue and its own DLQ, writes its logs
    assert allowed(statements) == {
        "dynamodb:DescribeStream": allowing(stream),
        "dynamodb:GetRecords": allowing(stream),
        "dynamodb:GetShardIterator": allowing(stream),
        "dynamodb:ListStreams": allowing(stream),
        "sqs:SendMessage": allowing(queue, dlq),
        "logs:CreateLogStream": allowing(logs),
        "logs:PutLogEvents": allowing(logs),
    }


def test_pipe_starts_only_once_its_role_has_its_policy(
    synthesized: Synthesized, handoff: StreamHandoff, pipe: dict[str, Any]
) -> None:
    # Given the pipe role's policy
    (policy_id,) = {
        logical_id
        for logical_id, policy in synthesized.resources("AWS::IAM::Policy").items()
        if {"Ref": synthesized.logical_id(handoff.role)} in policy["Properties"]["Roles"]
    }
    # When the pipe's dependencies are read / Then CloudFormation creates the policy first
    assert policy_id in pipe["DependsOn"]


def test_pipe_changes_only_once_ingest_stores_the_group_id_it_reads(
    synthesized: Synthesized, pipe: dict[str, Any]
) -> None:
    # Given the ingest function, which stores each version's FIFO group id for the pipe
    ingest_id = synthesized.logical_id(synthesized.stack.ingest_api.ingest.function)
    # When the pipe's dependencies are read
    # Then CloudFormation deploys the function first, so the pipe that reads the group id is
    # not fed records written by code that did not store one
    assert ingest_id in pipe["DependsOn"]
