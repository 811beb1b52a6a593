"""One place for every name and limit the functions read, and that the stack shares with them.

The CDK stack lets CloudFormation name the resources and passes the physical names to the
functions through the environment variables below; the local stack names its own
(``local.names``). Both build the resources from the same key and stream definitions.
Values only the stack builds with (timeouts, batch sizes, queue policies) are
``stacks.limits``'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

SERVICE_NAME: Final = "bigpanda-webhook"
METRICS_NAMESPACE: Final = "BigPandaWebhook"
WEBHOOK_PATH: Final = "/webhook"
# Each integration but ``default`` (which keeps WEBHOOK_PATH) posts to WEBHOOK_PATH/<name>.
INTEGRATION_PATH_PARAMETER: Final = "integration"
# Where a service desk posts its events (a Jira webhook, the ServiceNow business rule, a signed
# ``http`` event); ``{target}`` is the name of a ``[targets.<name>]`` of the desk configuration.
DESK_EVENTS_PATH: Final = "/desk/{target}/events"
DESK_EVENTS_TARGET_PARAMETER: Final = "target"
# The header BigPanda sends its bearer token in, and the header API Gateway's authorizer
# caches its decision on (header names are case-insensitive).
AUTHORIZATION_HEADER: Final = "Authorization"


class Env:
    """Environment variable names read by the functions (see ``pandabridge.settings``)."""

    INCIDENTS_TABLE: Final = "INCIDENTS_TABLE_NAME"
    PAYLOAD_BUCKET: Final = "PAYLOAD_BUCKET_NAME"
    INLINE_PAYLOAD_MAX_BYTES: Final = "INLINE_PAYLOAD_MAX_BYTES"
    TICKETS_TABLE: Final = "TICKETS_TABLE_NAME"
    TICKET_SYNC_DLQ_URL: Final = "TICKET_SYNC_DLQ_URL"
    # The desk-events function queues each stored desk event on the ticket-sync queue.
    TICKET_SYNC_QUEUE_URL: Final = "TICKET_SYNC_QUEUE_URL"
    CALLBACK_QUEUE_URL: Final = "CALLBACK_QUEUE_URL"
    # The ticket target: which adapter, where, and the Secrets Manager secret with its
    # credentials (JSON; the keys each adapter reads are in its module docstring).
    TICKET_TARGET: Final = "TICKET_TARGET"
    TICKET_BASE_URL: Final = "TICKET_BASE_URL"
    TICKET_SECRET_ID: Final = "TICKET_SECRET_ID"  # noqa: S105 - a variable name
    TICKET_TIMEOUT_SECONDS: Final = "TICKET_TIMEOUT_SECONDS"
    # The desk configuration file the stack ships with the function (``pandabridge.desk_config``).
    DESK_CONFIG_FILE: Final = "DESK_CONFIG_FILE"
    # The BigPanda incident tag that write-back keeps the ticket link in: ingest leaves it out
    # of the content hash, so our own tag write coming back is no update (default
    # ``DEFAULT_LINK_TAG``).
    LINK_TAG: Final = "BIGPANDA_LINK_TAG"
    # The callback function: BigPanda's API, the integration's app key, and the secret holding
    # the User API key (the key itself as the secret string).
    CALLBACK_DLQ_URL: Final = "CALLBACK_DLQ_URL"
    BIGPANDA_API_BASE: Final = "BIGPANDA_API_BASE"
    BIGPANDA_APP_KEY: Final = "BIGPANDA_APP_KEY"
    BIGPANDA_SECRET_ID: Final = "BIGPANDA_SECRET_ID"  # noqa: S105 - a variable name
    BIGPANDA_TIMEOUT_SECONDS: Final = "BIGPANDA_TIMEOUT_SECONDS"
    # Each integration but default: {"<name>": {"app_key", "api_base", "key_secret"}} (JSON),
    # from the desk configuration's [integrations.<name>].
    BIGPANDA_INTEGRATIONS: Final = "BIGPANDA_INTEGRATIONS"
    # The authorizer: the secret holding the bearer tokens BigPanda may send (JSON, see
    # ``pandabridge.auth``).
    BEARER_SECRET_ID: Final = "BEARER_SECRET_ID"  # noqa: S105 - a variable name
    # The integrations besides ``default`` (``pandabridge.identity``), comma-separated: ingest
    # refuses a default incident id that would read as one of their storage keys.
    INTEGRATIONS: Final = "INTEGRATIONS"
    # The authorizer: integration -> the secret holding its bearer tokens (JSON object); the
    # default integration's is BEARER_SECRET_ID.
    INTEGRATION_BEARER_SECRETS: Final = "INTEGRATION_BEARER_SECRETS"
    # The control table (``CONTROL_TABLE``): small coordination items shared by the functions.
    CONTROL_TABLE: Final = "CONTROL_TABLE_NAME"


# The stack setting (cdk.json context key) that gives the callback function its
# ``Env.BIGPANDA_APP_KEY``; the stack deploys without it (see ``stacks/callback.py``).
BIGPANDA_APP_KEY_SETTING: Final = "bigpanda_app_key"


@dataclass(frozen=True)
class TableSpec:
    """What the stack and the local stack both need to build a DynamoDB table the same way."""

    partition_key: str
    stream_view_type: str | None
    sort_key: str | None = None
    # The attribute holding an item's expiry (epoch seconds) for DynamoDB's TTL, if any.
    ttl_attribute: str | None = None


@dataclass(frozen=True)
class BucketSpec:
    """Object layout of a bucket that the stack and the local stack share."""

    key_prefix: str


INCIDENTS_TABLE: Final = TableSpec(
    partition_key="incident_id",
    # Ticket sync is fed from this stream; both images let its filter skip no-op writes.
    stream_view_type="NEW_AND_OLD_IMAGES",
)

PAYLOAD_BUCKET: Final = BucketSpec(key_prefix="incidents/")


@dataclass(frozen=True)
class IndexSpec:
    """A global secondary index that the stack and the local stack both build: its name, its
    key, and the attributes it projects besides the table's key (``KEYS_ONLY`` without)."""

    name: str
    partition_key: str
    projected: tuple[str, ...] = ()


# The tickets table by the desk's own ticket id: a desk event names the ticket, not the
# incident, when the ticket carries no readable correlation (a Jira comment event carries no
# labels; a correlation too long or too odd for the desk holds a digest). ``target`` tells the
# tickets of two desks apart, ``ticket_key`` confirms the match.
TICKETS_BY_TICKET_ID: Final = IndexSpec(
    name="by-ticket-id", partition_key="ticket_id", projected=("target", "ticket_key")
)

# Ticket state is kept apart from the incidents so that ticket sync's own writes never reach
# the incidents stream and re-trigger a sync.
TICKETS_TABLE: Final = TableSpec(partition_key="incident_id", stream_view_type=None)

# Small coordination items of several owners, each under its own ``pk`` prefix (rate-limit
# windows, stored desk events, echo ledgers, watermarks); they expire through the TTL. No
# stream: nothing downstream reacts to them.
CONTROL_TABLE: Final = TableSpec(
    partition_key="pk", stream_view_type=None, sort_key="sk", ttl_attribute="expires_at"
)


BIGPANDA_API_BASE: Final = "https://api.bigpanda.io"  # EU accounts: https://eu-api.bigpanda.io
BIGPANDA_CALLBACK_PATH: Final = "/resources/v2.1/outbound/callback"
# The incident tag holding the ticket key and URL (``targets.<name>.two_way.link_tag``).
DEFAULT_LINK_TAG: Final = "ticket_link"


class Limits:
    """Input and storage limits, with the reason for each number."""

    # API Gateway REST accepts at most 10 MB per request; Lambda's synchronous payload is 6 MB.
    API_GATEWAY_MAX_BODY_BYTES: Final = 10 * 1024 * 1024
    LAMBDA_SYNC_MAX_PAYLOAD_BYTES: Final = 6 * 1024 * 1024
    # Far deeper than any BigPanda payload (~6 levels), well below any parser's recursion limit.
    MAX_NESTING_DEPTH: Final = 64
    # An incident id is a partition key, an S3 key part and a ticket label: keep it short.
    MAX_INCIDENT_ID_LENGTH: Final = 256
    # SQS FIFO MessageGroupId / MessageDeduplicationId: 1 to 128 characters from "!" to "~".
    # An incident id may be longer or hold others (see ``pandabridge.fifo``).
    SQS_FIFO_ID_MAX_CHARS: Final = 128
    # Epoch timestamps above this are not seconds (nor milliseconds) and would not fit the
    # fixed-width version key.
    MAX_TIMESTAMP: Final = 10**15
    # A DynamoDB item holds at most 400 KB. Payloads that compress to more than this go to S3
    # and the item keeps the object key. Smaller keeps write units and stream records cheap.
    INLINE_PAYLOAD_MAX_BYTES: Final = 64 * 1024
    # gzip level: an inline payload costs a write unit per KB on every stored version, and a
    # level's CPU is milliseconds of a warm function. At 1,000 alerts 6 (zlib's default) writes
    # ~15% fewer bytes than 1 for ~2 ms more; 9 saves ~10% more for 7x the time.
    GZIP_LEVEL: Final = 6
    # BigPanda's documented limits per org: Incidents API requests a minute, and incident
    # actions (resolve, comment, tags, assignment, SCIM) a second; one doc version says 30
    # actions, design for 5. Shared by every caller (``pandabridge.rate_limit``).
    BIGPANDA_API_REQUESTS_PER_MINUTE: Final = 150
    BIGPANDA_ACTIONS_PER_SECOND: Final = 5
    # Of each minute's requests, those only a callback may take (``pandabridge.rate_limit``):
    # a burst's ticket links and mirrored writes never hold its callbacks back for minutes.
    BIGPANDA_CALLBACK_RESERVE_PER_MINUTE: Final = 30
    # The reconciler's search page (``pandabridge.reconcile``): without ``expand=alerts``, whose
    # pages BigPanda caps at 10, so one request covers a run's changes at 1,000 incidents a day.
    # BigPanda documents no maximum for this endpoint.
    RECONCILE_SEARCH_PAGE_SIZE: Final = 100
    # The longest window one search covers. After a pause (the reconciler switched off, a
    # stretch of failed runs) each run searches at most this far past its watermark and moves
    # it there, so runs catch up window by window instead of asking for days at once, which
    # BigPanda's 10,000 results per query could cut short.
    RECONCILE_MAX_WINDOW_SECONDS: Final = 6 * 3600
    # Timeout of each callback request to BigPanda, unless the stack sets another.
    BIGPANDA_TIMEOUT_SECONDS: Final = 5
    # Backoff between retries of a failed message (exponential with jitter, capped), unless
    # the target's Retry-After asks for longer. SQS caps a visibility change at 12 hours.
    RETRY_BASE_SECONDS: Final = 2
    RETRY_MAX_SECONDS: Final = 900
    # A message that waits for a known time (a full rate-limit window) comes back after that
    # wait plus up to this fraction of it again, so that a throttled burst spreads out.
    WAIT_JITTER_FRACTION: Final = 0.5
    # How many of an incident's latest comments a redelivered desk comment is looked for
    # among (one page of BigPanda's activities), when a crash left its outcome unknown.
    COMMENT_LOOKBACK: Final = 50
    # A Jira search may miss an issue created seconds or minutes ago: after a create attempt
    # whose outcome is unknown (a timeout), an empty search is trusted only once this long has
    # passed; until then the lookup is retried with a growing backoff. 30 s proved too short
    # for a lagging search; a definite failure (429, 503, a refused connection) never waits.
    CREATE_OUTCOME_WINDOW_SECONDS: Final = 300
    # A step the desk refuses as configured (``StepFailedError``) is retried on the message's
    # own postponement at most this many times, with a backoff doubling from the base, and then
    # on the next version only. Well below the ticket-sync queue's maxReceiveCount (20).
    STEP_RETRY_ATTEMPTS: Final = 3
    STEP_RETRY_BASE_SECONDS: Final = 30
    # Write-back (``pandabridge.write_back``): the circuit breaker counts mirrored writes per
    # incident in windows this long; a tripped breaker, and the echo ledger's entries, expire
    # after the TTLs below. A desk echo arrives within seconds; a day covers a desk's retries.
    LOOP_WINDOW_SECONDS: Final = 600
    LOOP_LIMIT: Final = 10
    BREAKER_OPEN_SECONDS: Final = 24 * 3600
    ECHO_LEDGER_TTL_SECONDS: Final = 24 * 3600
    # Bearer tokens (``pandabridge.auth``): a shorter token is refused as a configuration error,
    # 32 characters are recommended, and the stack generates 64 (letters and digits, ~380 bits).
    # Two at most: the current token and, during a rotation, the previous one.
    BEARER_TOKEN_MIN_LENGTH: Final = 16
    BEARER_TOKEN_RECOMMENDED_LENGTH: Final = 32
    BEARER_TOKEN_GENERATED_LENGTH: Final = 64
    BEARER_TOKENS_MAX: Final = 2
    # The authorizer re-reads the token secret at most this often; with API Gateway's cache of
    # its decision (``authorizer_cache_seconds``), a token dropped from the secret stops
    # working within the sum of both.
    BEARER_SECRET_MAX_AGE_SECONDS: Final = 300
    # A stored desk event is kept this long (the control table's TTL): far longer than Jira
    # retries a delivery (about 30 minutes), so a late retry is still recognised.
    DESK_EVENT_TTL_SECONDS: Final = 14 * 24 * 3600
    # A signed ``http`` desk event whose timestamp is further than this from now is refused as
    # stale: a captured request cannot be replayed later.
    SIGNED_EVENT_TOLERANCE_SECONDS: Final = 300
    # A desk comment is kept (and mirrored) up to Jira's own comment limit.
    DESK_COMMENT_MAX_CHARS: Final = 32_767


class Metric:
    """Business metric names (Powertools Metrics, EMF)."""

    TICKET_CREATED: Final = "TicketCreated"
    TICKET_UPDATED: Final = "TicketUpdated"
    TICKET_RESOLVED: Final = "TicketResolved"
    TICKET_REOPENED: Final = "TicketReopened"
    TICKET_SYNC_RETRIED: Final = "TicketSyncRetried"
    TICKET_SYNC_FAILED: Final = "TicketSyncFailed"
    # One step of a sync (a field, resolve, reopen, assign, a comment) refused by the desk as
    # configured: the other steps went on; the setting to fix is in the WARNING line.
    TICKET_STEP_FAILED: Final = "TicketStepFailed"
    CALLBACK_CONFIRMED: Final = "CallbackConfirmed"
    CALLBACK_RETRIED: Final = "CallbackRetried"
    CALLBACK_FAILED: Final = "CallbackFailed"
    # The stack was deployed without ``bigpanda_app_key``: each attempt waits in the queue.
    CALLBACK_NOT_CONFIGURED: Final = "CallbackNotConfigured"
    # Ingest receipt of the version that created the ticket → BigPanda confirmed the callback:
    # the delay users feel, since BigPanda holds the incident's updates until then.
    CALLBACK_LATENCY: Final = "WebhookToCallbackLatency"

    INCIDENT_CREATED: Final = "IncidentCreated"
    INCIDENT_UPDATED: Final = "IncidentUpdated"
    INCIDENT_DUPLICATE: Final = "IncidentDuplicate"
    INCIDENT_STALE: Final = "IncidentStale"
    WEBHOOK_REJECTED: Final = "WebhookRejected"
    WEBHOOK_FAILED: Final = "WebhookFailed"  # valid, but storage failed: answered 5xx

    # The reconciler: missed deliveries it found and stored, runs it had to stop (BigPanda
    # refused or throttled it; nothing is lost, the next run searches the same window), and
    # the BigPanda API requests a run made (its share of the org's 150 a minute).
    RECONCILED_INCIDENTS: Final = "ReconciledIncidents"
    RECONCILER_FAILURES: Final = "ReconcilerFailures"
    RECONCILER_API_CALLS: Final = "ReconcilerApiCalls"

    # The bearer-token authorizer (only invocations that API Gateway did not answer from its
    # cache are counted; a request without the Authorization header never reaches it).
    AUTHORIZER_REJECTED: Final = "AuthorizerRejected"
    # The token secret is unreadable or malformed: every request is refused until it is fixed.
    AUTHORIZER_MISCONFIGURED: Final = "AuthorizerMisconfigured"

    # Desk events (``POST /desk/{target}/events``): stored and queued; a redelivery of one
    # already queued; about a ticket we do not know or a change we do not mirror (answered 202);
    # refused (401/403, or a body that is not an event); valid, but storing or queueing failed.
    DESK_EVENT_QUEUED: Final = "DeskEventQueued"
    DESK_EVENT_DUPLICATE: Final = "DeskEventDuplicate"
    DESK_EVENT_IGNORED: Final = "DeskEventIgnored"
    DESK_EVENT_REJECTED: Final = "DeskEventRejected"
    DESK_EVENT_FAILED: Final = "DeskEventFailed"

    # Write-back: a desk event mirrored to BigPanda, one dropped by an echo guard, and the
    # circuit breaker stopping an incident's mirroring (a loop is suspected).
    DESK_EVENT_MIRRORED: Final = "DeskEventMirrored"
    DESK_EVENT_DROPPED: Final = "DeskEventDropped"
    SYNC_LOOP_SUSPECTED: Final = "SyncLoopSuspected"
