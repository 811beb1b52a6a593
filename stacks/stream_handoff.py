"""From the incidents table's stream to the ticket-sync queue, by an EventBridge Pipe.

The hand-off starts at the stream, not in the ingest function, so nothing sits between "stored"
and "queued" that a crash could lose. The pipe's filter, message and FIFO ids are the shared
constants of ``pandabridge.handoff``, which the local stack applies to the same records.
"""

from __future__ import annotations

import json
from typing import Final

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_pipes as pipes
from constructs import Construct

from pandabridge.handoff import (
    DEDUP_ID_PATH,
    FILTER_PATTERN,
    GROUP_ID_PATH,
    INPUT_TEMPLATE,
    MAXIMUM_RETRY_ATTEMPTS,
)
from stacks.checks import acknowledge
from stacks.config import StackSettings
from stacks.queues import WorkQueues, dead_letter_alarm, dead_letter_queue
from stacks.storage import IncidentStorage

# TRIM_HORIZON: a pipe created on an incidents table that already holds deliveries also nudges
# the ones still in the stream (the last 24 hours); LATEST would skip them without a trace.
STARTING_POSITION: Final = "TRIM_HORIZON"
# Records read per poll of a shard. The SQS target gets one message per record either way;
# a larger batch only means fewer polls, and a failed send is bisected down to its record.
BATCH_SIZE: Final = 10
LOG_LEVEL: Final = "ERROR"


class StreamHandoff(Construct):
    """The pipe with its role, its dead-letter queue and its log group.

    Built on ``aws_pipes.CfnPipe``, the stable L1 resource: the Pipes L2 constructs exist only
    in the experimental ``aws-pipes-alpha`` modules, whose API may change in any release.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: StackSettings,
        storage: IncidentStorage,
        queues: WorkQueues,
    ) -> None:
        super().__init__(scope, construct_id)
        self.dead_letter_queue = dead_letter_queue(self, "PipeDlq")
        self.dead_letter_alarm = dead_letter_alarm(
            self,
            "PipeDlqAlarm",
            self.dead_letter_queue,
            "Stored incident versions the pipe could not hand to ticket sync: each message "
            "names stream records (kept 24 hours by the stream) whose tickets were not synced.",
        )
        self.log_group = logs.LogGroup(
            self,
            "PipeLogs",
            retention=settings.log_retention,
            removal_policy=settings.cdk_removal_policy,
        )
        self.role = self._role()
        storage.grant_read_incident_stream(self.role)
        queues.grant_enqueue_sync(self.role)
        iam.Grant.add_to_principal(
            grantee=self.role,
            actions=["sqs:SendMessage"],
            resource_arns=[self.dead_letter_queue.queue_arn],
        )
        self.log_group.grant_write(self.role)

        stream_arn = storage.table.table_stream_arn
        if stream_arn is None:
            raise ValueError("the incidents table has no stream to hand off from")
        self.pipe = pipes.CfnPipe(
            self,
            "Pipe",
            description="Nudges ticket sync for every stored incident version",
            role_arn=self.role.role_arn,
            source=stream_arn,
            source_parameters=pipes.CfnPipe.PipeSourceParametersProperty(
                dynamo_db_stream_parameters=pipes.CfnPipe.PipeSourceDynamoDBStreamParametersProperty(
                    starting_position=STARTING_POSITION,
                    batch_size=BATCH_SIZE,
                    maximum_retry_attempts=MAXIMUM_RETRY_ATTEMPTS,
                    on_partial_batch_item_failure="AUTOMATIC_BISECT",
                    dead_letter_config=pipes.CfnPipe.DeadLetterConfigProperty(
                        arn=self.dead_letter_queue.queue_arn
                    ),
                ),
                filter_criteria=pipes.CfnPipe.FilterCriteriaProperty(
                    filters=[pipes.CfnPipe.FilterProperty(pattern=json.dumps(FILTER_PATTERN))]
                ),
            ),
            target=queues.ticket_sync_queue.queue_arn,
            target_parameters=pipes.CfnPipe.PipeTargetParametersProperty(
                input_template=INPUT_TEMPLATE,
                sqs_queue_parameters=pipes.CfnPipe.PipeTargetSqsQueueParametersProperty(
                    message_group_id=GROUP_ID_PATH,
                    message_deduplication_id=DEDUP_ID_PATH,
                ),
            ),
            # Errors only: a record's content (incident data) never reaches the pipe's logs.
            log_configuration=pipes.CfnPipe.PipeLogConfigurationProperty(
                level=LOG_LEVEL,
                cloudwatch_logs_log_destination=pipes.CfnPipe.CloudwatchLogsLogDestinationProperty(
                    log_group_arn=self.log_group.log_group_arn
                ),
            ),
        )
        # The pipe checks its role's access to the source and target when it starts, so the
        # role's policy must exist first; referencing the role's ARN only orders the role.
        policy = self.role.node.try_find_child("DefaultPolicy")
        if policy is not None:
            self.pipe.node.add_dependency(policy)
        acknowledge(
            self.dead_letter_queue,
            "AwsSolutions-SQS3",
            "This queue is itself a dead-letter queue: the pipe sends it the records it could "
            "not deliver, and its messages are kept 14 days for an operator to inspect.",
        )

    def _role(self) -> iam.Role:
        """A role only EventBridge Pipes of this account can assume; it starts empty."""
        account = Stack.of(self).account
        return iam.Role(
            self,
            "PipeRole",
            assumed_by=iam.ServicePrincipal(
                "pipes.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": account}},
            ),
            description="Execution role of the pipe from the incidents stream to ticket sync",
        )
