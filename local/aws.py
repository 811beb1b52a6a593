"""A moto server that stands in for AWS, and the stack's resources created on it.

The resources are built from the same definitions (``pandabridge.names``) as the CDK stack,
so the handlers run unchanged against them.
"""

from __future__ import annotations

import json
import socket
import threading
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config
from moto.core import DEFAULT_ACCOUNT_ID
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.sqs import models as sqs_models
from werkzeug.serving import BaseWSGIServer, make_server

from local.names import (
    CALLBACK_QUEUE,
    CONTROL_TABLE,
    INCIDENTS_TABLE,
    PAYLOAD_BUCKET,
    TICKET_SYNC_QUEUE,
    TICKETS_TABLE,
    LocalTable,
    QueueSpec,
)
from local.sqs_rules import SqsFifoRules
from pandabridge.names import METRICS_NAMESPACE, SERVICE_NAME, TICKETS_BY_TICKET_ID, Env, IndexSpec
from stacks.limits import StackLimits

LOCAL_REGION = "us-east-1"
# moto accepts any credentials; fixed ones keep boto3 from looking for a real profile.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _Serialized:
    """Runs one request at a time through moto (and through ``SqsFifoRules``, which refuses
    the FIFO ids SQS refuses and moto would accept).

    DynamoDB applies a conditional write atomically; moto's in-memory backends take no locks,
    so two threads could both pass the same condition. Serializing the requests restores the
    guarantee the code relies on in AWS (moto's own ``ThreadedMotoServer`` has no such lock,
    which is why this module builds its server itself).
    """

    def __init__(self, app: WsgiApp) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self._lock:
            return list(self._app(environ, start_response))


def _deduplicate_per_message_group() -> None:
    """Make moto honour ``DeduplicationScope: messageGroup``, as SQS does for the stack's
    queues: moto drops a message whose deduplication id any queued message has, whatever its
    group, so the same content in two incidents' groups (two integrations sharing an incident
    id) would lose the second nudge. Applied once per process, before any server starts."""
    if getattr(sqs_models.Queue.add_message, "per_group", False):
        return
    queue_wide = sqs_models.Queue.add_message

    def add_message(queue: Any, message: Any) -> None:
        scoped = queue.attributes.get("DeduplicationScope") == "messageGroup"
        if not (queue.fifo_queue and scoped and message.deduplication_id):
            queue_wide(queue, message)
            return
        for queued in queue._messages:
            same = (queued.group_id, queued.deduplication_id) == (
                message.group_id,
                message.deduplication_id,
            )
            age = (message.sent_timestamp - queued.sent_timestamp) / 1000
            if same and age < sqs_models.DEDUPLICATION_TIME_IN_SECONDS:
                return
        # moto's own (queue-wide) check is skipped by hiding the id for the append alone.
        dedup_id, message.deduplication_id = message.deduplication_id, None
        try:
            queue_wide(queue, message)
        finally:
            message.deduplication_id = dedup_id

    add_message.per_group = True  # type: ignore[attr-defined]
    sqs_models.Queue.add_message = add_message  # type: ignore[method-assign]


@dataclass
class MotoServer:
    """A moto server on a loopback port, in a daemon thread."""

    host: str = "127.0.0.1"
    port: int = 0
    _server: BaseWSGIServer | None = None
    _thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> MotoServer:
        """Serve in a background thread; ``OSError`` (EADDRINUSE) if the port is taken."""
        if self.port:
            # werkzeug answers a taken port with a message on stderr and sys.exit(1); binding
            # first turns that into an error the caller can report and recover from.
            with socket.socket() as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                probe.bind((self.host, self.port))
        _deduplicate_per_message_group()
        app = _Serialized(SqsFifoRules(DomainDispatcherApplication(create_backend_app)))
        self._server = make_server(
            self.host, self.port, app, threaded=True, request_handler=MotoRequestHandler
        )
        self.port = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="moto-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def reset(self) -> None:
        """Forget every resource and item (moto's reset API)."""
        url = f"{self.endpoint}/moto-api/reset"
        request = urllib.request.Request(url, method="POST")  # noqa: S310 - our loopback URL
        with urllib.request.urlopen(request, timeout=5):  # noqa: S310
            pass


def client_environment(endpoint: str) -> dict[str, str]:
    """Environment under which boto3 and the handlers talk to the moto server."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": LOCAL_REGION,
        "AWS_REGION": LOCAL_REGION,
        **LOCAL_CREDENTIALS,
    }


def queue_url(endpoint: str, name: str) -> str:
    """The URL moto gives a queue: the same shape as SQS's, on the moto server."""
    return f"{endpoint}/{DEFAULT_ACCOUNT_ID}/{name}"


def function_environment(endpoint: str) -> dict[str, str]:
    """The environment the CDK stack gives the functions, with the local resource names."""
    return {
        Env.INCIDENTS_TABLE: INCIDENTS_TABLE.local_name,
        Env.PAYLOAD_BUCKET: PAYLOAD_BUCKET.local_name,
        Env.TICKETS_TABLE: TICKETS_TABLE.local_name,
        Env.CONTROL_TABLE: CONTROL_TABLE.local_name,
        Env.TICKET_SYNC_DLQ_URL: queue_url(endpoint, TICKET_SYNC_QUEUE.dlq_local_name),
        Env.TICKET_SYNC_QUEUE_URL: queue_url(endpoint, TICKET_SYNC_QUEUE.local_name),
        Env.CALLBACK_QUEUE_URL: queue_url(endpoint, CALLBACK_QUEUE.local_name),
        Env.CALLBACK_DLQ_URL: queue_url(endpoint, CALLBACK_QUEUE.dlq_local_name),
        "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "POWERTOOLS_TRACE_DISABLED": "true",
    }


# The service models that botocore reads from disk, shared by every session: each session
# would otherwise parse them again (tens of milliseconds per client, a dozen clients at start).
# The loader only caches what it read, and botocore never changes a loaded model.
_MODELS: Final = botocore.loaders.create_loader()


def _session() -> boto3.session.Session:
    core = botocore.session.get_session()
    core.register_component("data_loader", _MODELS)
    return boto3.session.Session(
        aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=LOCAL_REGION,
        botocore_session=core,
    )


def aws_client(service: str, endpoint: str, config: Config | None = None) -> Any:
    """A client on the moto server, from a session of its own: creating clients from one
    shared session is not thread-safe, and the pipe and pollers each run in a thread."""
    return _session().client(service, endpoint_url=endpoint, config=config)  # type: ignore[call-overload]


def queue_arn(name: str) -> str:
    """The ARN moto gives a queue, as Lambda's SQS events carry it in ``eventSourceARN``."""
    return f"arn:aws:sqs:{LOCAL_REGION}:{DEFAULT_ACCOUNT_ID}:{name}"


def _create_table(dynamodb: Any, spec: LocalTable) -> None:
    """The table keyed, streamed and expiring as its shared spec says."""
    stream = (
        {"StreamEnabled": True, "StreamViewType": spec.stream_view_type}
        if spec.stream_view_type
        else {"StreamEnabled": False}
    )
    keys = [(spec.partition_key, "HASH")] + ([(spec.sort_key, "RANGE")] if spec.sort_key else [])
    dynamodb.create_table(
        TableName=spec.local_name,
        AttributeDefinitions=[{"AttributeName": name, "AttributeType": "S"} for name, _ in keys],
        KeySchema=[{"AttributeName": name, "KeyType": kind} for name, kind in keys],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification=stream,
    )
    if spec.ttl_attribute:
        dynamodb.update_time_to_live(
            TableName=spec.local_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute},
        )


def _add_index(dynamodb: Any, table_name: str, index: IndexSpec) -> None:
    """The table's global secondary index as the stack builds it, unless it has it."""
    described = dynamodb.describe_table(TableName=table_name)["Table"]
    if any(i["IndexName"] == index.name for i in described.get("GlobalSecondaryIndexes", [])):
        return
    projection: dict[str, Any] = {"ProjectionType": "KEYS_ONLY"}
    if index.projected:
        projection = {"ProjectionType": "INCLUDE", "NonKeyAttributes": list(index.projected)}
    dynamodb.update_table(
        TableName=table_name,
        AttributeDefinitions=[{"AttributeName": index.partition_key, "AttributeType": "S"}],
        GlobalSecondaryIndexUpdates=[
            {
                "Create": {
                    "IndexName": index.name,
                    "KeySchema": [{"AttributeName": index.partition_key, "KeyType": "HASH"}],
                    "Projection": projection,
                }
            }
        ],
    )


def _create_queue(
    sqs: Any, spec: QueueSpec, *, visibility_seconds: int, max_receive_count: int
) -> None:
    """The queue and its dead-letter queue, with the redrive policy the stack gives them."""
    fifo = {"FifoQueue": "true"} if spec.fifo else {}
    if spec.fifo:
        # Deduplicate per incident (message group), as the stack's queue does.
        fifo |= {"DeduplicationScope": "messageGroup", "FifoThroughputLimit": "perMessageGroupId"}
    dlq_url = sqs.create_queue(
        QueueName=spec.dlq_local_name, Attributes={"FifoQueue": "true"} if spec.fifo else {}
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": max_receive_count}
    sqs.create_queue(
        QueueName=spec.local_name,
        Attributes={
            **fifo,
            "VisibilityTimeout": str(visibility_seconds),
            "RedrivePolicy": json.dumps(redrive),
        },
    )


def create_resources(endpoint: str, *, visibility_seconds: int | None = None) -> None:
    """Create the stack's tables, bucket and queues on the moto server (idempotent).

    ``visibility_seconds`` replaces the queues' deployed visibility timeout (six times their
    function's timeout), on queues that exist already too: it is how long the messages of a
    batch whose invocation died (a stopped stack) stay hidden before they are handled again.
    """
    session = _session()
    dynamodb = session.client("dynamodb", endpoint_url=endpoint)
    s3 = session.client("s3", endpoint_url=endpoint)
    sqs = session.client("sqs", endpoint_url=endpoint)

    existing = set(dynamodb.list_tables()["TableNames"])
    for spec in (INCIDENTS_TABLE, TICKETS_TABLE, CONTROL_TABLE):
        if spec.local_name not in existing:
            _create_table(dynamodb, spec)
    _add_index(dynamodb, TICKETS_TABLE.local_name, TICKETS_BY_TICKET_ID)
    buckets = {bucket["Name"] for bucket in s3.list_buckets().get("Buckets", [])}
    if PAYLOAD_BUCKET.local_name not in buckets:
        s3.create_bucket(Bucket=PAYLOAD_BUCKET.local_name)
    queues = set(sqs.list_queues().get("QueueUrls", []))
    for spec, deployed_visibility, max_receive_count in (
        (
            TICKET_SYNC_QUEUE,
            StackLimits.TICKET_SYNC_VISIBILITY_SECONDS,
            StackLimits.TICKET_SYNC_MAX_RECEIVE_COUNT,
        ),
        (
            CALLBACK_QUEUE,
            StackLimits.CALLBACK_VISIBILITY_SECONDS,
            StackLimits.CALLBACK_MAX_RECEIVE_COUNT,
        ),
    ):
        url = queue_url(endpoint, spec.local_name)
        if url not in queues:
            _create_queue(
                sqs,
                spec,
                visibility_seconds=(
                    deployed_visibility if visibility_seconds is None else visibility_seconds
                ),
                max_receive_count=max_receive_count,
            )
        elif visibility_seconds is not None:
            sqs.set_queue_attributes(
                QueueUrl=url, Attributes={"VisibilityTimeout": str(visibility_seconds)}
            )


def put_secret(endpoint: str, name: str, value: dict[str, Any]) -> str:
    """Create or overwrite a JSON secret in the moto server's Secrets Manager; returns its ARN."""
    return put_secret_string(endpoint, name, json.dumps(value))


def put_secret_string(endpoint: str, name: str, value: str) -> str:
    """Create or overwrite a secret whose value is ``value`` itself (an API key, not JSON)."""
    secrets = _session().client("secretsmanager", endpoint_url=endpoint)
    try:
        return str(secrets.create_secret(Name=name, SecretString=value)["ARN"])
    except secrets.exceptions.ResourceExistsException:
        return str(secrets.put_secret_value(SecretId=name, SecretString=value)["ARN"])


def get_secret_string(endpoint: str, name: str) -> str:
    """The current value of a secret in the moto server's Secrets Manager, as a function
    would read it."""
    secrets = _session().client("secretsmanager", endpoint_url=endpoint)
    return str(secrets.get_secret_value(SecretId=name)["SecretString"])
