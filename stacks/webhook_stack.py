"""The one stack of the product: a thin composition of one construct per capability."""

from __future__ import annotations

from typing import Any

from aws_cdk import CfnOutput, Stack
from constructs import Construct

from stacks.config import StackSettings
from stacks.functions import FunctionDefaults
from stacks.ingest_api import IngestApi
from stacks.storage import IncidentStorage


class WebhookStack(Stack):
    """BigPanda webhook receiver: API, ingest function and incident storage.

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
        self.ingest_api = IngestApi(
            self, "IngestApi", settings=settings, functions=self.functions, storage=self.storage
        )

        CfnOutput(
            self,
            "WebhookUrl",
            value=self.ingest_api.webhook_url,
            description="The URL to give BigPanda: POST deliveries here with the x-api-key header",
        )
        CfnOutput(
            self,
            "ApiKeyId",
            value=self.ingest_api.api_key.key_id,
            description=(
                "Id of the API key BigPanda must send; read its value with "
                "`aws apigateway get-api-key --api-key <ApiKeyId> --include-value "
                "--query value --output text`"
            ),
        )
        CfnOutput(
            self,
            "IncidentsTableName",
            value=self.storage.table.table_name,
            description="DynamoDB table holding the latest state of each incident",
        )
        CfnOutput(
            self,
            "PayloadBucketName",
            value=self.storage.payload_bucket.bucket_name,
            description="S3 bucket archiving raw webhook payloads",
        )
