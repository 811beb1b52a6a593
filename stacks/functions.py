"""What every function of the stack shares: runtime, code, Powertools layer, logs, tracing.

The code ships without Docker: one plain asset of ``lambdas/`` (the shared domain package plus
one thin handler folder per function). Third-party dependencies come from the official
Powertools layer, which carries pydantic and the X-Ray SDK built for Lambda, and boto3 from the
runtime. The layer's version is the one ``requirements.txt`` pins, resolved through the public
SSM parameter at deploy time, so the code runs against the library it was tested with.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final

from aws_cdk import Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from pandabridge.names import METRICS_NAMESPACE, SERVICE_NAME
from stacks.checks import acknowledge
from stacks.config import StackSettings
from stacks.paths import LAMBDAS_DIR, REQUIREMENTS_FILE

# One fact each: the Powertools layer parameter is derived from these, so the layer always
# matches the runtime's Python version and the CPU architecture.
PYTHON_RUNTIME: Final = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE: Final = lambda_.Architecture.ARM_64

POWERTOOLS_DISTRIBUTION: Final = "aws-lambda-powertools"
_POWERTOOLS_PIN: Final = re.compile(
    rf"^\s*{re.escape(POWERTOOLS_DISTRIBUTION)}\s*(?:\[[^\]]*\])?\s*==\s*([0-9][^\s;#]*)",
    re.IGNORECASE | re.MULTILINE,
)

# Kept out of the code asset: build and test leftovers would change its hash (and force a new
# function version) without changing what runs.
CODE_EXCLUDES: Final = (
    "**/__pycache__",
    "**/*.pyc",
    "**/.pytest_cache",
    "**/.mypy_cache",
    "**/tests",
    "**/*.md",
)


class PowertoolsPinError(ValueError):
    """``requirements.txt`` does not pin an exact Powertools version."""


def powertools_version(requirements: Path = REQUIREMENTS_FILE) -> str:
    """The exact Powertools version that ``requirements.txt`` pins with ``==``."""
    match = _POWERTOOLS_PIN.search(requirements.read_text(encoding="utf-8"))
    if match is None:
        raise PowertoolsPinError(
            f"{requirements} must pin {POWERTOOLS_DISTRIBUTION} to an exact version "
            f"('{POWERTOOLS_DISTRIBUTION}[...]==X.Y.Z'): the functions use the Powertools "
            "layer of that version"
        )
    return match.group(1)


def powertools_layer_parameter(
    version: str,
    *,
    runtime: lambda_.Runtime = PYTHON_RUNTIME,
    architecture: lambda_.Architecture = ARCHITECTURE,
) -> str:
    """The public SSM parameter that holds the layer ARN for this version in every region."""
    return f"/aws/service/powertools/python/{architecture.name}/{runtime.name}/{version}"


class FunctionDefaults(Construct):
    """The code asset and layer that all functions share, and the settings they all follow.

    One asset and one layer reference for the whole stack: every function deploys the same
    package, so the domain code cannot drift between functions.
    """

    def __init__(self, scope: Construct, construct_id: str, *, settings: StackSettings) -> None:
        super().__init__(scope, construct_id)
        self.settings = settings
        self.code = lambda_.Code.from_asset(str(LAMBDAS_DIR), exclude=list(CODE_EXCLUDES))
        self.powertools_parameter = powertools_layer_parameter(powertools_version())
        self.powertools_layer = lambda_.LayerVersion.from_layer_version_arn(
            self,
            "PowertoolsLayer",
            ssm.StringParameter.value_for_string_parameter(self, self.powertools_parameter),
        )

    def environment(self) -> dict[str, str]:
        """Powertools configuration that every function gets."""
        return {
            "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
            "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": self.settings.log_level,
        }


class ServiceFunction(Construct):
    """A function with its own log group (retention from the settings) and its own role.

    The role starts empty, not with ``AWSLambdaBasicExecutionRole``: that managed policy lets a
    function write to any log group in the account. Here it may write only to its own, and
    every other permission is granted by the construct that owns the resource.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        defaults: FunctionDefaults,
        handler: str,
        description: str,
        memory_size: int,
        timeout: Duration,
        environment: Mapping[str, str],
        reserved_concurrency: int | None = None,
        tracing: lambda_.Tracing = lambda_.Tracing.ACTIVE,
        layers: Sequence[lambda_.ILayerVersion] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        settings = defaults.settings
        self.log_group = logs.LogGroup(
            self,
            "LogGroup",
            retention=settings.log_retention,
            removal_policy=settings.cdk_removal_policy,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of: {description}",
        )
        self.log_group.grant_write(self.role)
        self.function = lambda_.Function(
            self,
            "Function",
            description=description,
            runtime=PYTHON_RUNTIME,
            architecture=ARCHITECTURE,
            handler=handler,
            code=defaults.code,
            layers=[defaults.powertools_layer, *layers],
            memory_size=memory_size,
            timeout=timeout,
            tracing=tracing,
            log_group=self.log_group,
            role=self.role,
            environment={**defaults.environment(), **environment},
            reserved_concurrent_executions=reserved_concurrency,
        )
        if tracing == lambda_.Tracing.PASS_THROUGH:
            acknowledge(
                self.function,
                "Serverless-LambdaTracing",
                "consumer_tracing is PassThrough: this function is invoked from a queue fed "
                "by the table's stream, with no sampled trace to follow, and Lambda would "
                "sample it at a fixed rate that no X-Ray sampling rule lowers (about every "
                "invocation at BigPanda's rates); its failures are logged and counted instead.",
            )
        acknowledge(
            self.role,
            "AwsSolutions-IAM5[Resource::*]",
            "Active tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, which "
            "support no resource-level permissions; no other action is granted on '*'.",
        )
