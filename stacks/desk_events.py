"""Desk events in: ``POST /desk/{target}/events`` on the webhook API, and its function.

A service desk cannot send BigPanda's API key, and Jira cannot send any header of our
choosing, so the route needs no API key and has no authorizer: the function verifies each
event with the target's own credential (Jira's HMAC signature, the ServiceNow rule's bearer
token, the ``http`` desk's signed timestamp) before anything is stored. The stage's
throttling, the resource policy (``allowed_source_ips``) and the WAF web ACL, when enabled,
cover the route like the rest of the API.

The function may read the events secrets the desk configuration names (by name, nothing
else), write and read the control table's ``desk-event#`` items only, read the few ticket
attributes that tie a ticket to its incident, and send to the ticket-sync queue.
"""

from __future__ import annotations

from typing import Final, cast

from aws_cdk import ArnFormat, Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

from pandabridge.desk_config import DeskConfig
from pandabridge.names import DESK_EVENTS_PATH, Env
from pandabridge.stores.desk_events import KEY_PREFIX
from stacks.checks import acknowledge
from stacks.config import StackSettings
from stacks.desk import FUNCTION_CONFIG_PATH
from stacks.functions import FunctionDefaults, ServiceFunction
from stacks.ingest_api import IngestApi
from stacks.queues import WorkQueues
from stacks.storage import IncidentStorage
from stacks.ticket_sync import TicketSync

DESK_EVENTS_HANDLER: Final = "desk_events.handler.handler"
# What the function does with its own items: a conditional put, the "queued" mark, a read.
DESK_EVENT_ACTIONS: Final = ("dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:GetItem")


def events_secret_names(desk: DeskConfig) -> list[str]:
    """The events secrets of the targets that take desk events, each once."""
    names = (t.two_way.events_secret for t in desk.targets.values() if t.two_way is not None)
    return sorted(set(names))


class DeskEvents(Construct):
    """The desk-events function and its route."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: StackSettings,
        functions: FunctionDefaults,
        storage: IncidentStorage,
        queues: WorkQueues,
        ingest_api: IngestApi,
        ticket_sync: TicketSync,
    ) -> None:
        super().__init__(scope, construct_id)
        self.receiver = ServiceFunction(
            self,
            "Receiver",
            defaults=functions,
            handler=DESK_EVENTS_HANDLER,
            description="Verifies a service desk's event, stores it and queues it for write-back",
            memory_size=settings.lambda_memory_mb,
            timeout=settings.ingest_timeout,
            environment={
                Env.CONTROL_TABLE: storage.control_table.table_name,
                Env.TICKETS_TABLE: storage.tickets_table.table_name,
                Env.TICKET_SYNC_QUEUE_URL: queues.ticket_sync_queue.queue_url,
                Env.DESK_CONFIG_FILE: FUNCTION_CONFIG_PATH,
            },
            layers=[ticket_sync.desk_config.layer],
        )
        function = self.receiver.function
        storage.grant_control_items(function, prefix=KEY_PREFIX, actions=DESK_EVENT_ACTIONS)
        storage.grant_find_ticket_incidents(function)
        queues.grant_enqueue_sync(function)
        self.secret_names = events_secret_names(ticket_sync.desk)
        if self.secret_names:
            self._grant_read_secrets(function, self.secret_names)

        self.method = ingest_api.api.root.resource_for_path(DESK_EVENTS_PATH).add_method(
            "POST",
            apigw.LambdaIntegration(function, proxy=True),
            api_key_required=False,
            authorization_type=apigw.AuthorizationType.NONE,
        )
        self.url = ingest_api.api.url_for_path(DESK_EVENTS_PATH)
        self._acknowledge_findings()

    def _grant_read_secrets(self, grantee: iam.IGrantable, names: list[str]) -> iam.Grant:
        """Reading the named secrets' values. Secrets Manager adds six random characters to a
        secret's ARN, so each name is matched with ``-??????`` and no other secret fits."""
        stack = Stack.of(self)
        arns = [
            stack.format_arn(
                service="secretsmanager",
                resource="secret",
                resource_name=f"{name}-??????",
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
            for name in names
        ]
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=["secretsmanager:GetSecretValue"], resource_arns=arns
        )

    def _acknowledge_findings(self) -> None:
        acknowledge(
            self.receiver.function,
            "Serverless-LambdaDLQ",
            "Invoked only synchronously by API Gateway: a failure is answered to the desk as a "
            "5xx, which Jira and the ServiceNow rule retry; a dead-letter queue only ever "
            "receives failed asynchronous invocations.",
        )
        method = cast(IConstruct, self.method.node.default_child)
        reason = (
            "A service desk cannot send an API key nor sign in to Cognito (Jira's webhooks send "
            "no header of our choosing): the function verifies every event with the target's "
            "own credential (Jira's HMAC signature, the ServiceNow rule's bearer token, the "
            "http desk's signed timestamp) before it stores anything, and answers 401/403."
        )
        acknowledge(method, "AwsSolutions-APIG4", reason)
        acknowledge(method, "AwsSolutions-COG4", reason)
