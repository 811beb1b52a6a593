"""The pipeline's functions as the local stack runs them: in-process, imported on first use.

An invocation goes through the same JSON round trip as in Lambda, so a handler that would
receive or return something Lambda cannot carry fails here too, and the size limit of a
synchronous invocation applies.
"""

from __future__ import annotations

import importlib
import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from local.context import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_SECONDS, LambdaContext
from pandabridge.names import SERVICE_NAME, Limits
from stacks.limits import StackLimits

Handler = Callable[[dict[str, Any], Any], Any]

logger = logging.getLogger(__name__)

# Lambda hands an execution environment one request at a time, and the handlers rely on it:
# their module state (Powertools' resolver keeps the current event on the module's app, the
# logger keeps the request's keys) belongs to the one request in flight. In-process, every
# request shares the one copy of that state, so concurrent invocations of a handler would
# read each other's events and answer for each other; they take turns instead, as in one
# execution environment.
_TURNS: dict[str, threading.Lock] = {}
_TURNS_GUARD = threading.Lock()


def _turn(handler: str) -> threading.Lock:
    """The lock that invocations of ``handler`` take turns on."""
    with _TURNS_GUARD:
        return _TURNS.setdefault(handler, threading.Lock())


class PayloadTooLargeError(Exception):
    """The invocation payload is over Lambda's limit; API Gateway answers 413 for it."""


class FunctionError(Exception):
    """The handler raised, or returned what Lambda cannot serialize; API Gateway answers 502."""


def _runtime_default(value: object) -> object:
    # The Python runtime serializes Decimal (what boto3 reads from DynamoDB) as a number.
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def invoke(
    handler: Handler,
    event: Mapping[str, Any],
    *,
    function_name: str,
    memory_mb: int = DEFAULT_MEMORY_MB,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
) -> Any:
    """Call ``handler`` with a copy of ``event`` and a context, as Lambda would deliver them."""
    payload = json.dumps(event).encode()
    if len(payload) > Limits.LAMBDA_SYNC_MAX_PAYLOAD_BYTES:
        raise PayloadTooLargeError(
            f"{function_name}: invocation payload of {len(payload)} bytes is over "
            f"{Limits.LAMBDA_SYNC_MAX_PAYLOAD_BYTES}"
        )
    context = LambdaContext(
        function_name=function_name,
        memory_limit_in_mb=memory_mb,
        timeout_seconds=timeout_seconds,
    )
    try:
        result = handler(json.loads(payload), context)
        response = json.dumps(result, default=_runtime_default).encode()
    except Exception as exc:
        logger.exception("%s failed (request %s)", function_name, context.aws_request_id)
        raise FunctionError(function_name) from exc
    if len(response) > Limits.LAMBDA_SYNC_MAX_PAYLOAD_BYTES:
        logger.error("%s returned %d bytes, over Lambda's limit", function_name, len(response))
        raise FunctionError(function_name)
    return json.loads(response)


@dataclass(frozen=True)
class LocalFunction:
    """One function of the stack: its name and its handler, given as in the function config."""

    name: str
    handler: str
    memory_mb: int = DEFAULT_MEMORY_MB
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    def load(self) -> Handler:
        """Import the handler (the first call runs the module's init code, like a cold start)."""
        module_name, _, attribute = self.handler.rpartition(".")
        handler: Handler = getattr(importlib.import_module(module_name), attribute)
        return handler

    def invoke(self, event: Mapping[str, Any]) -> Any:
        """Invoke the function synchronously, as API Gateway's proxy integration does; one
        invocation of its handler at a time, as in one execution environment."""
        with _turn(self.handler):
            return invoke(
                self.load(),
                event,
                function_name=self.name,
                memory_mb=self.memory_mb,
                timeout_seconds=self.timeout_seconds,
            )


INGEST = LocalFunction(name=f"{SERVICE_NAME}-ingest", handler="ingest.handler.handler")
TICKET_SYNC = LocalFunction(
    name=f"{SERVICE_NAME}-ticket-sync",
    handler="ticket_sync.handler.handler",
    timeout_seconds=StackLimits.TICKET_SYNC_TIMEOUT_SECONDS,
)
DESK_EVENTS = LocalFunction(
    name=f"{SERVICE_NAME}-desk-events", handler="desk_events.handler.handler"
)
CALLBACK = LocalFunction(
    name=f"{SERVICE_NAME}-callback",
    handler="callback.handler.handler",
    timeout_seconds=StackLimits.CALLBACK_TIMEOUT_SECONDS,
)
RECONCILER = LocalFunction(
    name=f"{SERVICE_NAME}-reconciler",
    handler="reconciler.handler.handler",
    timeout_seconds=StackLimits.RECONCILER_TIMEOUT_SECONDS,
)
