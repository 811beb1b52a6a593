"""One place for every name and limit that the stack, the handlers and the local stack share.

The CDK stack lets CloudFormation name the resources and passes the physical names to the
functions through the environment variables below; the local stack uses the ``LOCAL_*`` names.
Both build the resources from the same key and stream definitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

SERVICE_NAME: Final = "bigpanda-webhook"
METRICS_NAMESPACE: Final = "BigPandaWebhook"
WEBHOOK_PATH: Final = "/webhook"


class Env:
    """Environment variable names read by the functions (see ``pandabridge.settings``)."""

    INCIDENTS_TABLE: Final = "INCIDENTS_TABLE_NAME"
    PAYLOAD_BUCKET: Final = "PAYLOAD_BUCKET_NAME"
    INLINE_PAYLOAD_MAX_BYTES: Final = "INLINE_PAYLOAD_MAX_BYTES"


@dataclass(frozen=True)
class TableSpec:
    """What the stack and the local stack both need to build a DynamoDB table the same way."""

    partition_key: str
    stream_view_type: str | None
    local_name: str


@dataclass(frozen=True)
class BucketSpec:
    """Object layout of a bucket that the stack and the local stack share."""

    key_prefix: str
    local_name: str


INCIDENTS_TABLE: Final = TableSpec(
    partition_key="incident_id",
    # Ticket sync is fed from this stream; both images let its filter skip no-op writes.
    stream_view_type="NEW_AND_OLD_IMAGES",
    local_name="bigpanda-incidents",
)

PAYLOAD_BUCKET: Final = BucketSpec(key_prefix="incidents/", local_name="bigpanda-payloads")


class Limits:
    """Input and storage limits, with the reason for each number."""

    # API Gateway REST accepts at most 10 MB per request; Lambda's synchronous payload is 6 MB.
    API_GATEWAY_MAX_BODY_BYTES: Final = 10 * 1024 * 1024
    LAMBDA_SYNC_MAX_PAYLOAD_BYTES: Final = 6 * 1024 * 1024
    # API Gateway REST ends every integration after 29 s, whatever the function's timeout:
    # a function that may run longer would keep working after the caller was told 504.
    API_GATEWAY_TIMEOUT_SECONDS: Final = 29
    # Far deeper than any BigPanda payload (~6 levels), well below any parser's recursion limit.
    MAX_NESTING_DEPTH: Final = 64
    # An incident id is a partition key, an S3 key part and a ticket label: keep it short.
    MAX_INCIDENT_ID_LENGTH: Final = 256
    # Epoch timestamps above this are not seconds (nor milliseconds) and would not fit the
    # fixed-width version key.
    MAX_TIMESTAMP: Final = 10**15
    # A DynamoDB item holds at most 400 KB. Payloads that compress to more than this go to S3
    # and the item keeps the object key. Smaller keeps write units and stream records cheap.
    INLINE_PAYLOAD_MAX_BYTES: Final = 64 * 1024
    # gzip level: 6 is zlib's default; the ratio barely improves above it while time doubles.
    GZIP_LEVEL: Final = 6


class Metric:
    """Business metric names (Powertools Metrics, EMF)."""

    INCIDENT_CREATED: Final = "IncidentCreated"
    INCIDENT_UPDATED: Final = "IncidentUpdated"
    INCIDENT_DUPLICATE: Final = "IncidentDuplicate"
    INCIDENT_STALE: Final = "IncidentStale"
    WEBHOOK_REJECTED: Final = "WebhookRejected"
    WEBHOOK_FAILED: Final = "WebhookFailed"  # valid, but storage failed: answered 5xx
    PAYLOAD_BYTES: Final = "PayloadBytes"
