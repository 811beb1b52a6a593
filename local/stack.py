"""The local stack as one object: AWS on a moto server, the functions, the local gateway.

Each part starts with its own method, so that the caller can time and report every step,
and ``stop`` takes down whatever has started, last started first.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from local import defaults
from local.aws import MotoServer, client_environment, create_resources, function_environment
from local.functions import INGEST
from local.gateway import LocalGateway, Route
from pandabridge.names import INCIDENTS_TABLE, PAYLOAD_BUCKET, WEBHOOK_PATH


@dataclass(frozen=True)
class StackOptions:
    """Where the stack listens and how it talks."""

    host: str = defaults.HOST
    port: int = defaults.GATEWAY_PORT
    moto_port: int = defaults.MOTO_PORT
    api_key: str = defaults.API_KEY
    # Extra environment for the functions (log level, metrics output); a value that is
    # already set in the environment wins, so a developer can override any of them.
    function_overrides: Mapping[str, str] | None = None


class LocalStack:
    """Starts and stops the parts of the local stack in order."""

    def __init__(self, options: StackOptions) -> None:
        self.options = options
        self.moto: MotoServer | None = None
        self.gateway: LocalGateway | None = None
        self._stops: list[tuple[str, Callable[[], None]]] = []

    @property
    def aws_endpoint(self) -> str:
        if self.moto is None:
            raise RuntimeError("the moto server is not started")
        return self.moto.endpoint

    @property
    def webhook_url(self) -> str:
        if self.gateway is None:
            raise RuntimeError("the gateway is not started")
        return self.gateway.url(WEBHOOK_PATH)

    def start_aws(self) -> str:
        """Start the moto server and point boto3 and the functions at it; returns its URL."""
        self.moto = MotoServer(host=self.options.host, port=self.options.moto_port).start()
        self._stops.append(("moto server", self.moto.stop))
        os.environ.update(client_environment(self.moto.endpoint))
        os.environ.update(function_environment(self.moto.endpoint))
        for name, value in (self.options.function_overrides or {}).items():
            os.environ.setdefault(name, value)
        return self.moto.endpoint

    def create_resources(self) -> str:
        """Create the table and the bucket; returns what was created, for the step line."""
        create_resources(self.aws_endpoint)
        return f"table {INCIDENTS_TABLE.local_name}, bucket {PAYLOAD_BUCKET.local_name}"

    def load_functions(self) -> str:
        """Import the handlers now (cold start), so an import error stops the start-up."""
        INGEST.load()
        return INGEST.handler

    def start_gateway(self) -> str:
        """Serve the API; returns the webhook URL."""
        self.gateway = LocalGateway(
            [Route("POST", WEBHOOK_PATH, INGEST.invoke)],
            self.options.api_key,
            host=self.options.host,
            port=self.options.port,
            health={"aws_endpoint": self.aws_endpoint},
        ).start()
        self._stops.append(("gateway", self.gateway.stop))
        return self.webhook_url

    def stop(self) -> list[str]:
        """Stop what has started, in reverse order; returns the names of what was stopped."""
        stopped = []
        while self._stops:
            name, stop = self._stops.pop()
            stop()
            stopped.append(name)
        return stopped
