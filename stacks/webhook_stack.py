"""The one stack of the product: a thin composition of one construct per capability."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Fn, Stack
from constructs import Construct

from stacks.authorizer import BearerAuth
from stacks.callback import Callback
from stacks.config import StackSettings
from stacks.desk import load_stack_desk
from stacks.desk_events import DeskEvents
from stacks.edge import EdgeFirewall
from stacks.functions import FunctionDefaults
from stacks.ingest_api import IngestApi
from stacks.monitoring import Monitoring
from stacks.queues import WorkQueues
from stacks.reconciler import Reconciler
from stacks.storage import IncidentStorage
from stacks.stream_handoff import StreamHandoff
from stacks.ticket_sync import TicketSync


class WebhookStack(Stack):
    """BigPanda webhook receiver: API, ingest function, incident storage, the hand-off from
    the incidents stream to the ticket-sync queue, ticket sync, and the callback to BigPanda.

    Outputs are declared here, on the stack itself, so their logical ids stay fixed
    (``WebhookUrl``, ``ApiKeyId``, ...) whatever the constructs below are called. They are
    not exported: nothing else should couple to this stack through CloudFormation imports.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: StackSettings, **kwargs: Any
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.settings = settings
        self.functions = FunctionDefaults(self, "Functions", settings=settings)
        self.storage = IncidentStorage(self, "Storage", settings=settings)
        # The desk configuration, validated before anything is built from it: its
        # integrations are paths, tokens and callbacks, its targets ticket sync's.
        self.desk = load_stack_desk(settings)
        self.bearer_auth = (
            BearerAuth(
                self, "BearerAuth", settings=settings, functions=self.functions, desk=self.desk
            )
            if settings.bearer_auth_enabled
            else None
        )
        self.ingest_api = IngestApi(
            self,
            "IngestApi",
            settings=settings,
            functions=self.functions,
            storage=self.storage,
            bearer_auth=self.bearer_auth,
            desk=self.desk,
        )
        self.edge = (
            EdgeFirewall(self, "EdgeFirewall", settings=settings, api=self.ingest_api.api)
            if settings.waf_enabled
            else None
        )
        self.queues = WorkQueues(self, "Queues", settings=settings)
        self.handoff = StreamHandoff(
            self, "Handoff", settings=settings, storage=self.storage, queues=self.queues
        )
        # The pipe reads the group id that ingest stores with each version: updating the pipe
        # after the function keeps records written without it (by the code before) from
        # reaching the new pipe, short of a pipe lagging at deploy time.
        self.handoff.pipe.node.add_dependency(self.ingest_api.ingest.function)
        self.ticket_sync = TicketSync(
            self,
            "TicketSync",
            settings=settings,
            functions=self.functions,
            storage=self.storage,
            queues=self.queues,
        )
        self.desk_events = DeskEvents(
            self,
            "DeskEvents",
            settings=settings,
            functions=self.functions,
            storage=self.storage,
            queues=self.queues,
            ingest_api=self.ingest_api,
            ticket_sync=self.ticket_sync,
        )
        self.callback = Callback(
            self,
            "Callback",
            settings=settings,
            functions=self.functions,
            storage=self.storage,
            queues=self.queues,
            desk=self.desk,
        )
        self.ticket_sync.write_back(
            storage=self.storage,
            callback=self.callback,
            ingest=self.ingest_api.ingest.function,
        )
        self.reconciler = Reconciler(
            self,
            "Reconciler",
            settings=settings,
            functions=self.functions,
            storage=self.storage,
            desk_config=self.ticket_sync.desk_config,
            bigpanda_secret=self.callback.secret,
        )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            settings=settings,
            ingest_api=self.ingest_api,
            storage=self.storage,
            queues=self.queues,
            handoff=self.handoff,
            ticket_sync=self.ticket_sync,
            callback=self.callback,
            desk_events=self.desk_events,
            reconciler=self.reconciler,
        )

        outputs = {
            "WebhookUrl": (
                self.ingest_api.webhook_url,
                "The URL to give BigPanda: POST deliveries here with the x-api-key header",
            ),
            "DeskEventsUrl": (
                self.desk_events.url,
                "Where service desks post their events: replace {target} with the name of a "
                "[targets.<name>] that has a two_way section (README, Two-way sync)",
            ),
            "ApiKeyId": (
                self.ingest_api.api_key.key_id,
                "Id of the API key BigPanda must send; read its value with "
                "`aws apigateway get-api-key --api-key <ApiKeyId> --include-value "
                "--query value --output text`",
            ),
            "IncidentsTableName": (
                self.storage.table.table_name,
                "DynamoDB table holding the latest state of each incident",
            ),
            "PayloadBucketName": (
                self.storage.payload_bucket.bucket_name,
                "S3 bucket archiving raw webhook payloads",
            ),
            "TicketsTableName": (
                self.storage.tickets_table.table_name,
                "DynamoDB table holding the ticket of each incident and its sync state",
            ),
            "ControlTableName": (
                self.storage.control_table.table_name,
                "DynamoDB table of small coordination items (rate-limit windows, desk events, "
                "echo ledgers, reconciler watermarks), each expiring through its TTL",
            ),
            "TicketSecretName": (
                self.ticket_sync.secret.secret_name,
                "Secret with the ticket system's credentials (JSON); set them from a file, never "
                "on the command line: README, Deploy, step 2",
            ),
            "TicketSyncQueueUrl": (
                self.queues.ticket_sync_queue.queue_url,
                "SQS FIFO queue of ticket-sync nudges, one message group per incident",
            ),
            "TicketSyncDlqUrl": (
                self.queues.ticket_sync_dlq.queue_url,
                "Dead-letter queue of ticket-sync nudges that failed for good",
            ),
            "CallbackQueueUrl": (
                self.queues.callback_queue.queue_url,
                "SQS FIFO queue of callbacks owed to BigPanda for newly created tickets",
            ),
            "CallbackDlqUrl": (
                self.queues.callback_dlq.queue_url,
                "Dead-letter queue of callbacks that BigPanda refused or that failed for good",
            ),
            "BigPandaSecretName": (
                self.callback.secret.secret_name,
                "Secret with BigPanda's User API key; set it from a file, never on the command "
                "line: README, Deploy, step 3",
            ),
            "DashboardUrl": (
                self.monitoring.dashboard_url,
                "CloudWatch dashboard of the API, functions, queues, tables and deliveries",
            ),
            "AlarmTopicArn": (
                self.monitoring.topic.topic_arn,
                "SNS topic every alarm notifies; subscribe with `aws sns subscribe --topic-arn "
                "<AlarmTopicArn> --protocol email --notification-endpoint <address>` or set "
                "alarm_email",
            ),
        }
        if self.ingest_api.integration_urls:
            outputs["IntegrationWebhookUrls"] = (
                Fn.join(
                    " ",
                    [f"{name}=" + url for name, url in self.ingest_api.integration_urls.items()],
                ),
                "Each integration's URL (name=URL): give each BigPanda integration its own, "
                "with the bearer token of its token_secret",
            )
        if self.bearer_auth:
            outputs["BearerTokenSecretName"] = (
                self.bearer_auth.secret.secret_name,
                "Secret with the token BigPanda must send as 'Authorization: Bearer <token>'; "
                "read it with `aws secretsmanager get-secret-value --secret-id "
                "<BearerTokenSecretName> --query SecretString --output text` (JSON, key 'token')",
            )
        if self.edge:
            outputs["WebAclArn"] = (
                self.edge.web_acl.attr_arn,
                "WAF web ACL associated with the API stage (rate limit, known bad inputs)",
            )
        for name, (value, description) in outputs.items():
            CfnOutput(self, name, value=value, description=description)
