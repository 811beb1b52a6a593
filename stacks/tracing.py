"""X-Ray sampling: the stack's own rule for its API stage, and the consumers' tracing mode.

X-Ray's default rule records the first request each second and 5% of the rest. BigPanda sends
well under one delivery a second, so under that rule nearly every delivery is traced. A rule
the stack owns, matched on the stage's X-Ray service name, replaces it for this API only.
API Gateway makes the sampling decision at the stage and the ingest function (and the
authorizer) follow it.

Sampling rules do not govern Lambda's own decisions: a function invoked without a sampled
trace header, as the SQS-triggered consumers are (their messages come from the table's stream
through the pipe, which carries no trace), samples at Lambda's fixed rate of one a second plus
5%, which no rule changes. ``consumer_tracing`` therefore chooses between tracing them at that
rate (``Active``) and recording none (``PassThrough``).
"""

from __future__ import annotations

import hashlib
from typing import Final

from aws_cdk import Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_xray as xray
from constructs import Construct

from stacks.config import StackSettings

# The stack's rule is tried before X-Ray's default rule (priority 10000, the lowest).
SAMPLING_RULE_PRIORITY: Final = 1000
# X-Ray limits a rule's name to 32 characters and makes it unique per account and region.
RULE_NAME_MAX: Final = 32
STAGE_SERVICE_TYPE: Final = "AWS::ApiGateway::Stage"


def consumer_tracing(settings: StackSettings) -> lambda_.Tracing:
    """The tracing mode of the functions that SQS invokes."""
    return {
        "Active": lambda_.Tracing.ACTIVE,
        "PassThrough": lambda_.Tracing.PASS_THROUGH,
    }[settings.consumer_tracing]


def stage_sampling_rule(
    scope: Construct, construct_id: str, *, api: apigw.RestApi, settings: StackSettings
) -> xray.CfnSamplingRule:
    """A rule that samples ``xray_sampling_rate`` of the stage's requests, with no reservoir.

    API Gateway names a stage's X-Ray service ``{api name}/{stage name}``.
    """
    service_name = f"{api.rest_api_name}/{settings.stage_name}"
    return xray.CfnSamplingRule(
        scope,
        construct_id,
        sampling_rule=xray.CfnSamplingRule.SamplingRuleProperty(
            rule_name=_rule_name(Stack.of(scope).stack_name, service_name),
            priority=SAMPLING_RULE_PRIORITY,
            fixed_rate=settings.xray_sampling_rate,
            reservoir_size=0,
            service_name=service_name,
            service_type=STAGE_SERVICE_TYPE,
            host="*",
            http_method="*",
            url_path="*",
            resource_arn="*",
            version=1,
        ),
    )


def _rule_name(stack_name: str, service_name: str) -> str:
    """The stack's name, cut to fit, and a digest of the service, so two stacks differ."""
    digest = hashlib.sha256(service_name.encode()).hexdigest()[:8]
    return f"{stack_name[: RULE_NAME_MAX - len(digest) - 1]}-{digest}"
