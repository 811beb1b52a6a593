"""Stack-only values: how the stack sizes and times its functions and queues.

The functions never read these (they learn what they need from their environment); the stack
builds with them, and the local stack builds its queues and functions the same way. Kept apart
from ``stacks.config`` so that the local stack and ``ops`` read them without importing the CDK.
A value an operator may change is a ``StackSettings`` field whose default is named here.
"""

from __future__ import annotations

from typing import Final

# The default CloudFormation stack name (``StackSettings.stack_name``), which ``ops`` also
# looks for when no ``--stack`` is given.
DEFAULT_STACK_NAME: Final = "BigPandaWebhook"


class StackLimits:
    """Timeouts, batch sizes and queue policies, with the reason for each number."""

    # API Gateway REST ends every integration after 29 s, whatever the function's timeout:
    # a function that may run longer would keep working after the caller was told 504.
    API_GATEWAY_TIMEOUT_SECONDS: Final = 29
    # Ticket sync: its function timeout, the queue's visibility (AWS asks for at least 6x the
    # consumer's timeout), and how often a message may fail before it goes to the DLQ.
    TICKET_SYNC_TIMEOUT_SECONDS: Final = 60
    TICKET_SYNC_VISIBILITY_SECONDS: Final = 6 * TICKET_SYNC_TIMEOUT_SECONDS
    TICKET_SYNC_MAX_RECEIVE_COUNT: Final = 20
    TICKET_SYNC_BATCH_SIZE: Final = 10
    # Callback: a short function, retried with backoff; visibility is 6x its timeout, and a
    # message goes to the callback DLQ after this many failed deliveries.
    CALLBACK_TIMEOUT_SECONDS: Final = 30
    CALLBACK_VISIBILITY_SECONDS: Final = 6 * CALLBACK_TIMEOUT_SECONDS
    CALLBACK_BATCH_SIZE: Final = 10
    CALLBACK_MAX_RECEIVE_COUNT: Final = 10
    # BigPanda's documented API rate is 150 requests a minute; two concurrent consumers of
    # sub-second calls stay near it (and 2 is the lowest cap an SQS event source accepts).
    CALLBACK_MAX_CONCURRENCY: Final = 2
    # API Gateway caches an authorizer's decision per Authorization header value for up to an
    # hour (its maximum); the authorizer re-reads its secret every
    # ``Limits.BEARER_SECRET_MAX_AGE_SECONDS``, so a dropped token stops within the sum of both.
    AUTHORIZER_CACHE_MAX_SECONDS: Final = 3600
    # The authorizer answers from memory after its first read of the secret.
    AUTHORIZER_TIMEOUT_SECONDS: Final = 5
    # The reconciler: a run searches a few pages and fetches the incidents it missed, each call
    # within BigPanda's timeout; two minutes leave room for a backlog. Two runs that overlap
    # are harmless: the watermark only moves forward and ingest's write makes a second store
    # of one version a no-op.
    RECONCILER_TIMEOUT_SECONDS: Final = 120
    RECONCILER_MEMORY_MB: Final = 256
    # Runs stopped in this many 5-minute periods in a row raise ReconcilerFailuresAlarm: one
    # throttled run resumes at the next.
    RECONCILER_FAILED_RUNS_ALARM: Final = 3
