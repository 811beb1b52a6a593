"""A moto server that stands in for AWS, and the stack's resources created on it.

The resources are built from the same definitions (``pandabridge.names``) as the CDK stack,
so the handlers run unchanged against them.
"""

from __future__ import annotations

import socket
import threading
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import boto3
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

from pandabridge.names import INCIDENTS_TABLE, METRICS_NAMESPACE, PAYLOAD_BUCKET, SERVICE_NAME, Env

LOCAL_REGION = "us-east-1"
# moto accepts any credentials; fixed ones keep boto3 from looking for a real profile.
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _Serialized:
    """Runs one request at a time through moto.

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
        app = _Serialized(DomainDispatcherApplication(create_backend_app))
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


def function_environment() -> dict[str, str]:
    """The environment the CDK stack gives the functions, with the local resource names."""
    return {
        Env.INCIDENTS_TABLE: INCIDENTS_TABLE.local_name,
        Env.PAYLOAD_BUCKET: PAYLOAD_BUCKET.local_name,
        "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "POWERTOOLS_TRACE_DISABLED": "true",
    }


def create_resources(endpoint: str) -> None:
    """Create the incidents table and the payload bucket on the moto server (idempotent)."""
    session = boto3.session.Session(
        aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=LOCAL_REGION,
    )
    dynamodb = session.client("dynamodb", endpoint_url=endpoint)
    s3 = session.client("s3", endpoint_url=endpoint)

    existing = set(dynamodb.list_tables()["TableNames"])
    if INCIDENTS_TABLE.local_name not in existing:
        stream = (
            {"StreamEnabled": True, "StreamViewType": INCIDENTS_TABLE.stream_view_type}
            if INCIDENTS_TABLE.stream_view_type
            else {"StreamEnabled": False}
        )
        dynamodb.create_table(
            TableName=INCIDENTS_TABLE.local_name,
            AttributeDefinitions=[
                {"AttributeName": INCIDENTS_TABLE.partition_key, "AttributeType": "S"}
            ],
            KeySchema=[{"AttributeName": INCIDENTS_TABLE.partition_key, "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
            StreamSpecification=stream,
        )
    buckets = {bucket["Name"] for bucket in s3.list_buckets().get("Buckets", [])}
    if PAYLOAD_BUCKET.local_name not in buckets:
        s3.create_bucket(Bucket=PAYLOAD_BUCKET.local_name)
