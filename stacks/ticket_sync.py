"""Ticket sync: the function that brings each incident's ticket to the incident's stored state,
and the secret holding the ticket system's credentials.

The function is a reconciler fed by the ticket-sync FIFO queue: it reads the incident's latest
state, finds or creates, updates or resolves its ticket, records the ticket state, and asks for
a callback when it created a ticket. It retries a failed message itself, by changing its
visibility (backoff), and parks a failure no retry can fix in the ticket-sync DLQ.
"""

from __future__ import annotations

from typing import Final

from aws_cdk import Annotations, Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from pandabridge.names import Env
from pandabridge.stores.desk_events import KEY_PREFIX as DESK_EVENT_PREFIX
from pandabridge.stores.echo import BREAKER_PREFIX, LEDGER_PREFIX
from stacks.callback import (
    Callback,
    accounts_environment,
    bigpanda_environment,
    default_account_environment,
    key_secret_names,
)
from stacks.checks import acknowledge
from stacks.config import StackSettings
from stacks.desk import DeskConfigLayer, placeholder_warning, ticket_target_environment
from stacks.functions import FunctionDefaults, ServiceFunction
from stacks.integrations import grant_read_secrets_by_name
from stacks.limits import StackLimits
from stacks.queues import WorkQueues
from stacks.storage import IncidentStorage
from stacks.tracing import consumer_tracing

TICKET_SYNC_HANDLER: Final = "ticket_sync.handler.handler"
# Write-back's control-table items: its echo ledger (and desk events applied), its circuit
# breaker; and reading the desk events the desk-events function stored.
LEDGER_ACTIONS: Final = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem")
BREAKER_ACTIONS: Final = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem")


class TicketSync(Construct):
    """The ticket-sync function, its event source and the ticket system's credentials."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: StackSettings,
        functions: FunctionDefaults,
        storage: IncidentStorage,
        queues: WorkQueues,
    ) -> None:
        super().__init__(scope, construct_id)
        self.settings = settings
        self.desk_config = DeskConfigLayer(self, "DeskConfig", settings=settings)
        self.desk = self.desk_config.desk
        self.secret = self._credentials_secret()
        self.worker = ServiceFunction(
            self,
            "Worker",
            defaults=functions,
            handler=TICKET_SYNC_HANDLER,
            description="Creates, updates and resolves the service-desk ticket of an incident",
            memory_size=settings.ticket_sync_memory_mb,
            tracing=consumer_tracing(settings),
            timeout=Duration.seconds(StackLimits.TICKET_SYNC_TIMEOUT_SECONDS),
            environment={
                Env.INCIDENTS_TABLE: storage.table.table_name,
                Env.PAYLOAD_BUCKET: storage.payload_bucket.bucket_name,
                Env.INLINE_PAYLOAD_MAX_BYTES: str(settings.inline_payload_max_bytes),
                Env.TICKETS_TABLE: storage.tickets_table.table_name,
                Env.TICKET_SYNC_DLQ_URL: queues.ticket_sync_dlq.queue_url,
                Env.CALLBACK_QUEUE_URL: queues.callback_queue.queue_url,
                Env.TICKET_SECRET_ID: self.secret.secret_arn,
                **ticket_target_environment(self.desk),
            },
            layers=[self.desk_config.layer],
        )
        function = self.worker.function
        storage.grant_read_incident(function)
        storage.grant_read_archived_payload(function)
        storage.grant_track_tickets(function)
        queues.grant_request_callback(function)
        queues.grant_dead_letter_sync(function)
        queues.grant_send_sync_again(function)
        queues.consume_ticket_sync(function, max_concurrency=settings.ticket_sync_max_concurrency)
        self.grant_read_credentials(function)
        # Targets that name their own credentials secret (routes to several desks).
        named = [target.secret for target in self.desk.targets.values() if target.secret]
        grant_read_secrets_by_name(self, function, named)

        acknowledge(
            function,
            "Serverless-LambdaDLQ",
            "Invoked only by its SQS event source, never asynchronously: a message that keeps "
            "failing goes to the ticket-sync DLQ by the queue's redrive policy, and a function "
            "dead-letter queue would only ever receive failed asynchronous invocations.",
        )
        warning = placeholder_warning(self.desk, settings)
        if warning:
            Annotations.of(self).add_warning_v2("pandabridge:placeholderTicketUrl", warning)

    def write_back(
        self, *, storage: IncidentStorage, callback: Callback, ingest: lambda_.Function
    ) -> bool:
        """With a ``two_way`` target, let the function write back to BigPanda: the callback's
        API key secret and API settings, each integration's account and key secret, the org's
        rate limit, its own ledger and breaker items, and the stored desk events, each by its
        control-table prefix; and tell ingest the link tag to leave out of its content hash.
        One-way deployments get none of it. True when granted."""
        two_way = self.desk.selected.two_way
        if two_way is None:
            return False
        ingest.add_environment(Env.LINK_TAG, two_way.link_tag)
        function = self.worker.function
        environment = {
            Env.CONTROL_TABLE: storage.control_table.table_name,
            Env.BIGPANDA_SECRET_ID: callback.secret.secret_arn,
            **bigpanda_environment(self.settings),
            **default_account_environment(self.desk),
            **accounts_environment(self.desk),
        }
        environment.pop(Env.BIGPANDA_APP_KEY, None)  # the callback's alone
        for name, value in environment.items():
            function.add_environment(name, value)
        callback.grant_read_api_key(function)
        grant_read_secrets_by_name(self, function, key_secret_names(self.desk))
        storage.grant_rate_limit(function)
        storage.grant_control_items(function, prefix=LEDGER_PREFIX, actions=LEDGER_ACTIONS)
        storage.grant_control_items(function, prefix=BREAKER_PREFIX, actions=BREAKER_ACTIONS)
        storage.grant_control_items(
            function, prefix=DESK_EVENT_PREFIX, actions=["dynamodb:GetItem"]
        )
        return True

    def grant_read_credentials(self, grantee: iam.IGrantable) -> iam.Grant:
        """Reading the current value of the one credentials secret; not describing, listing
        or changing it."""
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=["secretsmanager:GetSecretValue"],
            resource_arns=[self.secret.secret_arn],
        )

    def _credentials_secret(self) -> secretsmanager.Secret:
        """A secret created with a generated placeholder, so no credential is in the template.

        The operator writes the ticket system's credentials (JSON) with ``aws secretsmanager
        put-secret-value``; the function reads the secret on use, so no redeploy is needed.
        Deleting the stack deletes it whatever ``removal_policy`` says: it holds configuration
        the operator can write again, not data, and a retained copy would be an orphaned
        credential.
        """
        secret = secretsmanager.Secret(
            self,
            "TicketCredentials",
            description=(
                "Credentials of the service desk that BigPanda incidents become tickets in "
                "(JSON; replace the generated placeholder with put-secret-value)"
            ),
        )
        acknowledge(
            secret,
            "AwsSolutions-SMG4",
            "The secret holds credentials issued by the third-party ticket system (an API "
            "token or a service account's password); they are rotated there and written here "
            "with put-secret-value, which no rotation function of this stack could do.",
        )
        return secret
