"""The front door: POST /webhook on a REST API, keyed and throttled, proxied to the ingest function.

REST (not HTTP) API because BigPanda can only send static headers: an API key with a usage
plan is the control that fits, and only REST APIs have usage plans. The second static header,
``Authorization: Bearer <token>``, is checked by the authorizer of ``stacks.authorizer``
unless ``bearer_auth_enabled`` is off; ``allowed_source_ips`` adds a resource policy
(``stacks.edge``). API Gateway checks them in this order: WAF (when associated), resource
policy, authorizer, API key; its own refusals are JSON like the function's. The API declares
no binary media types: BigPanda posts JSON, which API Gateway hands to the function as text
(the function still decodes a base64 body, as the test console may send one).
"""

from __future__ import annotations

import json
from typing import cast

from aws_cdk import Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_logs as logs
from constructs import Construct, IConstruct

from pandabridge.desk_config import DeskConfig
from pandabridge.names import WEBHOOK_PATH, Env
from stacks.authorizer import BearerAuth
from stacks.checks import acknowledge
from stacks.config import StackSettings
from stacks.edge import source_ip_policy
from stacks.functions import FunctionDefaults, ServiceFunction
from stacks.integrations import integration_paths
from stacks.storage import IncidentStorage
from stacks.tracing import stage_sampling_rule

INGEST_HANDLER = "ingest.handler.handler"

# One JSON object per request: the fields needed to match a delivery to its function log
# (request id, trace id), to see who sent it (key id, source ip) and what was answered.
_ACCESS_LOG_FORMAT = {
    "requestId": apigw.AccessLogField.context_request_id(),
    "extendedRequestId": apigw.AccessLogField.context_extended_request_id(),
    "requestTime": apigw.AccessLogField.context_request_time(),
    "httpMethod": apigw.AccessLogField.context_http_method(),
    "resourcePath": apigw.AccessLogField.context_resource_path(),
    "protocol": apigw.AccessLogField.context_protocol(),
    "sourceIp": apigw.AccessLogField.context_identity_source_ip(),
    "userAgent": apigw.AccessLogField.context_identity_user_agent(),
    "apiKeyId": apigw.AccessLogField.context_identity_api_key_id(),
    "status": apigw.AccessLogField.context_status(),
    "responseLength": apigw.AccessLogField.context_response_length(),
    "responseLatency": apigw.AccessLogField.context_response_latency(),
    "integrationStatus": apigw.AccessLogField.context_integration_status(),
    "integrationLatency": apigw.AccessLogField.context_integration_latency(),
    "errorMessage": apigw.AccessLogField.context_error_message(),
    "xrayTraceId": apigw.AccessLogField.context_xray_trace_id(),
    # Why a request was refused before the function: the authorizer's status and error, and
    # WAF's verdict when a web ACL is associated.
    "authorizeStatus": apigw.AccessLogField.context_authorize_status(),
    "authorizerError": apigw.AccessLogField.context_authorizer_error(),
    "authorizerLatency": apigw.AccessLogField.context_authorizer_latency(),
    "wafResponseCode": apigw.AccessLogField.context_waf_response_code(),
}

# API Gateway's own refusals (401, 403, 429, 5xx) as one JSON object with its message, the
# shape of the function's errors. The header that RFC 6750 asks a 401 to carry tells the
# sender which scheme is expected.
_ERROR_TEMPLATES = {"application/json": '{"message":$context.error.messageString}'}
_BEARER_CHALLENGE = {"WWW-Authenticate": "'Bearer'"}


class IngestApi(Construct):
    """The REST API, its stage, usage plan and key, and the ingest function behind it."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: StackSettings,
        functions: FunctionDefaults,
        storage: IncidentStorage,
        bearer_auth: BearerAuth | None = None,
        desk: DeskConfig | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.settings = settings
        self.bearer_auth = bearer_auth
        # Each integration but default posts to a path of its own (pandabridge.identity).
        self.integration_paths = integration_paths(desk) if desk else {}
        integrations = {Env.INTEGRATIONS: ",".join(self.integration_paths)}
        self.ingest = ServiceFunction(
            self,
            "Ingest",
            defaults=functions,
            handler=INGEST_HANDLER,
            description="Validates a BigPanda webhook delivery and stores it before answering",
            memory_size=settings.lambda_memory_mb,
            timeout=settings.ingest_timeout,
            environment={
                Env.INCIDENTS_TABLE: storage.table.table_name,
                Env.PAYLOAD_BUCKET: storage.payload_bucket.bucket_name,
                Env.INLINE_PAYLOAD_MAX_BYTES: str(settings.inline_payload_max_bytes),
                **(integrations if self.integration_paths else {}),
            },
        )
        storage.grant_put_incident(self.ingest.function)
        storage.grant_archive_payload(self.ingest.function)

        self.access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=settings.log_retention,
            removal_policy=settings.cdk_removal_policy,
        )
        self.api = self._rest_api(settings)
        self.sampling_rule = stage_sampling_rule(
            self, "SamplingRule", api=self.api, settings=settings
        )
        self.validator = self.api.add_request_validator(
            "RequestValidator",
            validate_request_parameters=True,
            validate_request_body=True,
        )
        self.method = self._webhook_method(WEBHOOK_PATH)
        self.integration_methods = {
            name: self._webhook_method(path) for name, path in self.integration_paths.items()
        }
        self._gateway_responses()
        self.api_key, self.usage_plan = self._usage_plan(settings)
        self.webhook_url = self.api.url_for_path(WEBHOOK_PATH)
        self.integration_urls = {
            name: self.api.url_for_path(path) for name, path in self.integration_paths.items()
        }
        # The stack outputs the webhook URL itself; the stage URL that RestApi outputs on its
        # own would be a second, path-less URL under a generated name.
        self.api.node.try_remove_child("Endpoint")
        self._acknowledge_findings()

    def _rest_api(self, settings: StackSettings) -> apigw.RestApi:
        policy = source_ip_policy(settings.allowed_source_ips)
        api = apigw.RestApi(
            self,
            "Api",
            rest_api_name=f"{Stack.of(self).stack_name}-webhook",
            description="Receives BigPanda Notifications Webhook deliveries",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            policy=policy,
            # Execution logs need the account-level CloudWatch role. It is kept when the stack
            # is deleted, because every REST API in the account and region logs through it.
            cloud_watch_role=True,
            deploy_options=apigw.StageOptions(
                stage_name=settings.stage_name,
                throttling_rate_limit=settings.throttle_rate_limit,
                throttling_burst_limit=settings.throttle_burst_limit,
                tracing_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                # Request and response bodies carry incident data: never in execution logs.
                data_trace_enabled=False,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.custom(json.dumps(_ACCESS_LOG_FORMAT)),
            ),
        )
        # A resource policy takes effect only with a new deployment of the stage, and CDK
        # names deployments after methods and resources only: the policy joins the name, so
        # adding, changing or removing the allowed ranges deploys the stage again.
        if policy is not None:
            api.latest_deployment.add_to_logical_id({"resourcePolicy": policy.to_json()})
        return api

    def _webhook_method(self, path: str) -> apigw.Method:
        # API Gateway validates a body only against a model declared for its content type,
        # and this method declares none: every body reaches the function, which checks it and
        # answers with specific JSON errors. Declaring a body model would replace those with
        # API Gateway's generic message and reject payload shapes the function accepts.
        # Each integration's path is a resource of its own (not a {integration} parameter):
        # a path of no integration is refused by API Gateway before the authorizer runs.
        return self.api.root.resource_for_path(path).add_method(
            "POST",
            apigw.LambdaIntegration(self.ingest.function, proxy=True),
            api_key_required=True,
            request_validator=self.validator,
            authorizer=self.bearer_auth.authorizer if self.bearer_auth else None,
        )

    def _gateway_responses(self) -> None:
        for name, response_type in (
            ("Default4xx", apigw.ResponseType.DEFAULT_4_XX),
            ("Default5xx", apigw.ResponseType.DEFAULT_5_XX),
        ):
            self.api.add_gateway_response(name, type=response_type, templates=_ERROR_TEMPLATES)
        if self.bearer_auth:
            self.api.add_gateway_response(
                "Unauthorized",
                type=apigw.ResponseType.UNAUTHORIZED,
                status_code="401",
                response_headers=_BEARER_CHALLENGE,
                templates=_ERROR_TEMPLATES,
            )

    def _usage_plan(self, settings: StackSettings) -> tuple[apigw.IApiKey, apigw.UsagePlan]:
        quota = (
            apigw.QuotaSettings(limit=settings.quota_limit_per_day, period=apigw.Period.DAY)
            if settings.quota_limit_per_day is not None
            else None
        )
        plan = self.api.add_usage_plan(
            "UsagePlan",
            description="BigPanda webhook deliveries",
            throttle=apigw.ThrottleSettings(
                rate_limit=settings.throttle_rate_limit,
                burst_limit=settings.throttle_burst_limit,
            ),
            quota=quota,
        )
        plan.add_api_stage(stage=self.api.deployment_stage)
        key = self.api.add_api_key(
            "ApiKey", description="Sent by BigPanda in the x-api-key header of each delivery"
        )
        plan.add_api_key(key)
        return key, plan

    def _acknowledge_findings(self) -> None:
        acknowledge(
            self.ingest.function,
            "Serverless-LambdaDLQ",
            "Invoked only synchronously by API Gateway: a failure is answered to the sender as "
            "a 5xx and nothing is retried by Lambda; a dead-letter queue only ever receives "
            "failed asynchronous invocations.",
        )
        for webhook in (self.method, *self.integration_methods.values()):
            self._acknowledge_method(cast(IConstruct, webhook.node.default_child))
        if not self.settings.waf_enabled:
            credentials = "the API key and the bearer token" if self.bearer_auth else "the API key"
            acknowledge(
                self.api.deployment_stage,
                "AwsSolutions-APIG3",
                "The WAF web ACL is optional (waf_enabled, off by default: WAF is billed per "
                f"web ACL and request); every request already needs {credentials} and is "
                "throttled by the stage and the usage plan, and allowed_source_ips restricts "
                "the callers without WAF.",
            )
        acknowledge(
            self._cloud_watch_role(),
            "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AmazonAPIGatewayPushToCloudWatchLogs]",
            "The AWS-managed policy AWS documents for API Gateway's account-level logging "
            "role; it only allows writing to CloudWatch Logs.",
        )

    def _acknowledge_method(self, method: IConstruct) -> None:
        if self.bearer_auth:
            acknowledge(
                method,
                "AwsSolutions-COG4",
                "POST /webhook is authorized by a Lambda REQUEST authorizer that checks the "
                "bearer token, plus an API key: BigPanda's webhook can only send static "
                "headers, so it cannot sign in to a Cognito user pool to obtain its tokens.",
            )
        else:
            auth_reason = (
                "bearer_auth_enabled is false for this deployment: BigPanda's webhook can only "
                "send static headers, and POST /webhook requires an API key bound to a "
                "throttled usage plan; the default deployment adds a Lambda authorizer that "
                "checks a bearer token."
            )
            acknowledge(method, "AwsSolutions-APIG4", auth_reason)
            acknowledge(method, "AwsSolutions-COG4", auth_reason)

    def _cloud_watch_role(self) -> IConstruct:
        role = self.api.node.try_find_child("CloudWatchRole")
        if role is None:
            raise LookupError("RestApi no longer creates its CloudWatch role as 'CloudWatchRole'")
        return role
