"""Where the stack's tables, bucket and queues are, and the AWS clients to reach them.

Three sources, in order of precedence: an explicit flag per resource, the local stack's fixed
names (``--local``), or the outputs of the deployed CloudFormation stack (``--stack``). The
outputs are read only when a command needs a resource that no flag names, so a command on an
older deployment fails only for the output it actually lacks, and says which one.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any, Final

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from local.names import (
    CALLBACK_QUEUE,
    CONTROL_TABLE,
    INCIDENTS_TABLE,
    PAYLOAD_BUCKET,
    TICKET_SYNC_QUEUE,
    TICKETS_TABLE,
)
from ops.errors import OpsError
from pandabridge.names import Limits
from stacks.limits import DEFAULT_STACK_NAME

CDK_JSON: Final = Path(__file__).resolve().parents[1] / "cdk.json"

# Real AWS: retry throttling and 5xx. An emulator on loopback has no transient faults, and
# retrying an action it does not implement only delays the fallback that answers it.
_AWS_CONFIG: Final = Config(retries={"mode": "standard", "max_attempts": 5})
_EMULATOR_CONFIG: Final = Config(retries={"mode": "standard", "total_max_attempts": 1})


class Resource(Enum):
    """A resource of the stack: its CloudFormation output and what the flag that names it is."""

    INCIDENTS_TABLE = ("IncidentsTableName", "incidents table name")
    PAYLOAD_BUCKET = ("PayloadBucketName", "payload archive bucket name")
    TICKETS_TABLE = ("TicketsTableName", "tickets table name")
    CONTROL_TABLE = ("ControlTableName", "control table name")
    TICKET_SYNC_QUEUE_URL = ("TicketSyncQueueUrl", "ticket-sync queue URL")
    TICKET_SYNC_DLQ_URL = ("TicketSyncDlqUrl", "ticket-sync dead-letter queue URL")
    CALLBACK_QUEUE_URL = ("CallbackQueueUrl", "callback queue URL")
    CALLBACK_DLQ_URL = ("CallbackDlqUrl", "callback dead-letter queue URL")
    TICKET_SECRET = ("TicketSecretName", "ticket credentials secret name")

    def __init__(self, output: str, description: str) -> None:
        self.output = output
        self.description = description

    @property
    def dest(self) -> str:
        return self.name.lower()

    @property
    def flag(self) -> str:
        return "--" + self.dest.replace("_", "-")


def project_context(path: Path = CDK_JSON) -> dict[str, Any]:
    """The settings ``cdk.json``'s context overrides (the stack name, the inline payload
    limit); a setting it leaves out has its default."""
    try:
        context = json.loads(path.read_text())["context"]
    except (OSError, ValueError, KeyError) as error:
        raise OpsError(f"cannot read the context of {path} ({error}): pass --stack NAME") from None
    return dict(context)


def local_names(endpoint: str) -> dict[Resource, str]:
    """The local stack's resources (``make run``), named as ``local.aws`` creates them."""
    # Imported here: it loads moto, which only the local mode needs.
    from local.aws import queue_url
    from local.defaults import TICKET_SECRET_NAME

    return {
        Resource.INCIDENTS_TABLE: INCIDENTS_TABLE.local_name,
        Resource.PAYLOAD_BUCKET: PAYLOAD_BUCKET.local_name,
        Resource.TICKETS_TABLE: TICKETS_TABLE.local_name,
        Resource.CONTROL_TABLE: CONTROL_TABLE.local_name,
        Resource.TICKET_SYNC_QUEUE_URL: queue_url(endpoint, TICKET_SYNC_QUEUE.local_name),
        Resource.TICKET_SYNC_DLQ_URL: queue_url(endpoint, TICKET_SYNC_QUEUE.dlq_local_name),
        Resource.CALLBACK_QUEUE_URL: queue_url(endpoint, CALLBACK_QUEUE.local_name),
        Resource.CALLBACK_DLQ_URL: queue_url(endpoint, CALLBACK_QUEUE.dlq_local_name),
        Resource.TICKET_SECRET: TICKET_SECRET_NAME,
    }


def stack_outputs(cloudformation: Any, stack_name: str) -> dict[str, str]:
    """``{OutputKey: OutputValue}`` of a deployed stack."""
    try:
        stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        if "does not exist" in error.response.get("Error", {}).get("Message", ""):
            region = cloudformation.meta.region_name
            raise OpsError(
                f"no stack {stack_name} in {region}: deploy it, or pass --stack NAME / --region"
            ) from None
        raise
    outputs = stacks[0].get("Outputs", [])
    return {output["OutputKey"]: output["OutputValue"] for output in outputs}


@dataclass
class Resources:
    """The resource names a command asks for, resolved on first use."""

    source: str  # "stack BigPandaWebhook", "the local stack"
    overrides: Mapping[Resource, str]
    load: Callable[[], Mapping[str, str]]
    _outputs: Mapping[str, str] | None = None

    def __getitem__(self, resource: Resource) -> str:
        if resource in self.overrides:
            return self.overrides[resource]
        if self._outputs is None:
            self._outputs = self.load()
        value = self._outputs.get(resource.output)
        if not value:
            raise OpsError(
                f"{self.source} has no output {resource.output}: deploy the current version, "
                f"or pass {resource.flag}"
            )
        return value


@dataclass
class AwsContext:
    """One session and one client per service, on AWS or on an emulator's endpoint."""

    session: boto3.session.Session
    endpoint_url: str | None = None
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            config = _EMULATOR_CONFIG if self.endpoint_url else _AWS_CONFIG
            self._clients[service] = self.session.client(  # type: ignore[call-overload]
                service, endpoint_url=self.endpoint_url, config=config
            )
        return self._clients[service]


@dataclass(frozen=True)
class Target:
    """Everything a command needs to find and reach the stack."""

    aws: AwsContext
    resources: Resources
    inline_payload_max_bytes: int


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags that choose the stack, shared by every command."""
    where = parser.add_argument_group("where the stack is")
    where.add_argument(
        "--stack",
        metavar="NAME",
        help="CloudFormation stack to read the outputs of (default: cdk.json's stack_name)",
    )
    where.add_argument(
        "--local",
        action="store_true",
        help="use the local stack (make run) on its moto server instead of AWS",
    )
    where.add_argument(
        "--endpoint-url",
        metavar="URL",
        help="AWS endpoint to call (with --local default: the running local stack's moto server)",
    )
    where.add_argument("--region", help="AWS region (default: the AWS CLI's configuration)")
    where.add_argument("--profile", help="AWS CLI profile to use")
    names = parser.add_argument_group("explicit resource names (override the stack's outputs)")
    for resource in Resource:
        metavar = "URL" if resource.output.endswith("Url") else "NAME"
        names.add_argument(
            resource.flag, dest=resource.dest, metavar=metavar, help=resource.description
        )


def resolve(args: argparse.Namespace) -> Target:
    """The AWS context and resources that the parsed flags point at."""
    overrides = {r: getattr(args, r.dest) for r in Resource if getattr(args, r.dest, None)}
    if args.local:
        # Imported here: it loads moto, which only the local mode needs.
        from local.aws import LOCAL_REGION

        endpoint = args.endpoint_url or _running_local_endpoint()
        session = _local_session(args.region or LOCAL_REGION)
        names = local_names(endpoint)
        resources = Resources(
            "the local stack", overrides, lambda: {r.output: names[r] for r in names}
        )
        return Target(AwsContext(session, endpoint), resources, Limits.INLINE_PAYLOAD_MAX_BYTES)

    session = boto3.session.Session(profile_name=args.profile, region_name=args.region)
    aws = AwsContext(session, args.endpoint_url)
    context = _context_or_empty(required=not args.stack)
    # cdk.json holds only the settings that differ from their defaults.
    stack = args.stack or str(context.get("stack_name") or DEFAULT_STACK_NAME)
    resources = Resources(
        f"stack {stack}", overrides, lambda: stack_outputs(aws.client("cloudformation"), stack)
    )
    inline = int(context.get("inline_payload_max_bytes") or Limits.INLINE_PAYLOAD_MAX_BYTES)
    return Target(aws, resources, inline)


def _running_local_endpoint() -> str:
    """The moto server of the running ``make run``, from the state file it writes."""
    from local import state

    try:
        return state.read().aws_endpoint
    except state.NoRunningStackError as error:
        raise OpsError(f"{error}, or pass --endpoint-url") from None


@cache
def _local_session(region: str) -> boto3.session.Session:
    """The local stack's session, made once per process: every new session loads the service
    models again, which a test suite running many commands would pay for each time."""
    from local.aws import LOCAL_CREDENTIALS

    return boto3.session.Session(
        aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=region,
    )


def _context_or_empty(*, required: bool) -> dict[str, Any]:
    try:
        return project_context()
    except OpsError:
        if required:
            raise
        return {}
