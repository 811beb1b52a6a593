"""The reconciler: a function that EventBridge Scheduler runs every ``[reconciler]
every_minutes`` to recover deliveries BigPanda made but we never received
(``pandabridge.reconcile``).

It reads BigPanda's Incidents API with the integrations' User API keys, compares with the
stored incidents, stores what was missed through ingest's own conditional write (and archive),
and keeps a watermark per integration and environment in the control table. It may do nothing
else: no queue, no ticket, no callback; the recovered version reaches ticket sync through the
incidents stream like any delivered one.
"""

from __future__ import annotations

from typing import Final, cast

from aws_cdk import CfnElement, Duration, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_scheduler as scheduler
from aws_cdk import aws_scheduler_targets as targets
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from pandabridge.desk_config import ReconcilerConfig
from pandabridge.names import Env
from pandabridge.stores.watermarks import WATERMARK_PREFIX
from stacks.callback import accounts_environment, default_account_environment
from stacks.checks import acknowledge
from stacks.config import StackSettings
from stacks.desk import FUNCTION_CONFIG_PATH, DeskConfigLayer
from stacks.functions import FunctionDefaults, ServiceFunction
from stacks.integrations import grant_read_secrets_by_name
from stacks.limits import StackLimits
from stacks.storage import IncidentStorage

RECONCILER_HANDLER: Final = "reconciler.handler.handler"


class Reconciler(Construct):
    """The reconciler function and the schedule that runs it."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: StackSettings,
        functions: FunctionDefaults,
        storage: IncidentStorage,
        desk_config: DeskConfigLayer,
        bigpanda_secret: secretsmanager.ISecret,
    ) -> None:
        super().__init__(scope, construct_id)
        self.config: ReconcilerConfig = desk_config.desk.reconciler
        self.worker = ServiceFunction(
            self,
            "Worker",
            defaults=functions,
            handler=RECONCILER_HANDLER,
            description="Recovers BigPanda deliveries that never arrived (Incidents API search)",
            memory_size=StackLimits.RECONCILER_MEMORY_MB,
            timeout=Duration.seconds(StackLimits.RECONCILER_TIMEOUT_SECONDS),
            environment={
                Env.INCIDENTS_TABLE: storage.table.table_name,
                Env.PAYLOAD_BUCKET: storage.payload_bucket.bucket_name,
                Env.INLINE_PAYLOAD_MAX_BYTES: str(settings.inline_payload_max_bytes),
                Env.CONTROL_TABLE: storage.control_table.table_name,
                Env.DESK_CONFIG_FILE: FUNCTION_CONFIG_PATH,
                Env.BIGPANDA_API_BASE: settings.bigpanda_api_base,
                Env.BIGPANDA_TIMEOUT_SECONDS: f"{settings.bigpanda_timeout_seconds:g}",
                Env.BIGPANDA_SECRET_ID: bigpanda_secret.secret_arn,
                **default_account_environment(desk_config.desk),
                **accounts_environment(desk_config.desk),
            },
            layers=[desk_config.layer],
        )
        function = self.worker.function
        storage.grant_read_incident(function)
        storage.grant_put_incident(function)
        storage.grant_archive_payload(function)
        storage.grant_rate_limit(function)
        storage.grant_control_items(
            function, prefix=WATERMARK_PREFIX, actions=["dynamodb:GetItem", "dynamodb:PutItem"]
        )
        iam.Grant.add_to_principal(
            grantee=function,
            actions=["secretsmanager:GetSecretValue"],
            resource_arns=[bigpanda_secret.secret_arn],
        )
        key_secrets = [
            integration.key_secret
            for integration in desk_config.desk.integration_settings.values()
            if integration.key_secret
        ]
        grant_read_secrets_by_name(self, function, key_secrets)
        # The schedule's own role, so that its one grant is acknowledged here with its reason.
        self.schedule_role = iam.Role(
            self,
            "ScheduleRole",
            assumed_by=iam.ServicePrincipal("scheduler.amazonaws.com"),
            description="EventBridge Scheduler: invokes the reconciler function, nothing else",
        )
        function_id = Stack.of(self).get_logical_id(cast(CfnElement, function.node.default_child))
        acknowledge(
            self.schedule_role,
            f"AwsSolutions-IAM5[Resource::<{function_id}.Arn>:*]",
            "CDK's grantInvoke allows the function and its versions (<function ARN>:*) to be "
            "invoked; the schedule invokes this one function only.",
        )
        # No retry by the scheduler: the next run searches the same window again.
        self.schedule = scheduler.Schedule(
            self,
            "Schedule",
            schedule=scheduler.ScheduleExpression.rate(Duration.minutes(self.config.every_minutes)),
            target=targets.LambdaInvoke(function, retry_attempts=0, role=self.schedule_role),
            enabled=self.config.enabled,
            description=(
                "Runs the reconciler ([reconciler] in the configuration file: every_minutes, "
                "enabled)"
            ),
        )
        acknowledge(
            function,
            "Serverless-LambdaDLQ",
            "Invoked only by its schedule, which does not retry: a failed run is counted "
            "(ReconcilerFailures, alarmed) and the next run searches the same window again, so "
            "a dead-letter queue would hold nothing worth redriving.",
        )
