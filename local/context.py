"""A Lambda context object like the one the Lambda runtime passes to a handler.

Powertools reads it (``inject_lambda_context``, cold-start metrics, idempotency timeouts), so
the local stack hands the handlers one with the same attributes instead of ``None``.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

from moto.core import DEFAULT_ACCOUNT_ID

from local.aws import LOCAL_REGION

# What the runtime reports when the function configuration does not say otherwise.
DEFAULT_MEMORY_MB = 128
DEFAULT_TIMEOUT_SECONDS = 29.0
FUNCTION_VERSION = "$LATEST"


@dataclass(frozen=True)
class LambdaContext:
    """The attributes and the one method of the runtime's context that handlers use."""

    function_name: str
    memory_limit_in_mb: int = DEFAULT_MEMORY_MB
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    function_version: str = FUNCTION_VERSION
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    identity: None = None
    client_context: None = None
    _started: float = field(default_factory=time.monotonic, repr=False)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{LOCAL_REGION}:{DEFAULT_ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        day = time.strftime("%Y/%m/%d", time.gmtime())
        instance = uuid.uuid5(uuid.NAMESPACE_DNS, self.function_name).hex
        return f"{day}/[{self.function_version}]{instance}"

    def get_remaining_time_in_millis(self) -> int:
        """Time left before the function's timeout, counted from the start of the invocation."""
        elapsed = time.monotonic() - self._started
        return max(0, int((self.timeout_seconds - elapsed) * 1000))
