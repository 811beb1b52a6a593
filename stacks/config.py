"""Deployment settings, read once from the CDK context into a validated model.

Every setting has its default here, and only here: ``cdk.json``'s ``context`` block holds
the values a deployment changes, and the README's table of settings is generated from the
fields below (``make settings-table``). Values given on the command line
(``cdk deploy -c throttle_rate_limit=20``) arrive as strings, so the model coerces them. A bad
value stops the synth with an error that names the context key, instead of a template that
CloudFormation rejects half-way through a deployment.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any, Final, Literal

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_logs as logs
from constructs import Node
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from pandabridge.names import BIGPANDA_API_BASE
from pandabridge.settings import CallbackSettings, StorageSettings
from stacks.limits import DEFAULT_STACK_NAME, StackLimits
from stacks.paths import REPO_ROOT

# The retention periods CloudWatch Logs accepts, in days, and the CDK enum member for each.
RETENTION_DAYS: Final = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    120: logs.RetentionDays.FOUR_MONTHS,
    150: logs.RetentionDays.FIVE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1096: logs.RetentionDays.THREE_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    2192: logs.RetentionDays.SIX_YEARS,
    2557: logs.RetentionDays.SEVEN_YEARS,
    2922: logs.RetentionDays.EIGHT_YEARS,
    3288: logs.RetentionDays.NINE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}

# The function enforces its own bounds on this value; the stack reuses them so that a value
# the function would refuse at its first invocation already fails the synth.
_INLINE_PAYLOAD_MAX_BYTES: Final = StorageSettings.model_fields["inline_payload_max_bytes"]
_BIGPANDA_TIMEOUT: Final = CallbackSettings.model_fields["timeout_seconds"]

# An HTTPS base URL: scheme, host and an optional path. Stricter than the functions, which
# also accept http:// for the local stack's demo targets: a deployed function sends
# credentials with every request.
_HTTPS_BASE_URL: Final = r"^https://[^\s/]+(?:/[^\s]*)?$"

# One address: local part, @, a domain with a dot. SNS checks the address itself when it sends
# the confirmation; this only stops a typo (a missing @, a space) before the deployment.
_EMAIL_ADDRESS: Final = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"

# Settings that moved from the CDK context into the desk configuration file, and the key each
# is now: a cdk.json that still sets one stops the synth, so no value is silently ignored.
MOVED_TO_DESK_CONFIG: Final = {
    "ticket_target": "targets.<name>.kind",
    "ticket_base_url": "targets.<name>.base_url",
    "ticket_timeout_seconds": "targets.<name>.timeout_seconds",
    "ticket_priority_tag": "targets.<name>.priority_tag",
    "jira_project_key": "targets.<name>.jira.project",
    "jira_issue_type": "targets.<name>.jira.issue_type",
    "jira_resolve_transition": "targets.<name>.workflow.resolve.transitions",
    "jira_reopen_transition": "targets.<name>.workflow.reopen.transitions",
}

# Keys whose value may be switched off from the command line (``-c key=`` or ``=none``).
_OPTIONAL_KEYS: Final = (
    "quota_limit_per_day",
    "ticket_sync_max_concurrency",
    "bigpanda_app_key",
    "alarm_email",
    "authorizer_reserved_concurrency",
)

_REMOVAL_POLICIES: Final = {"retain": RemovalPolicy.RETAIN, "destroy": RemovalPolicy.DESTROY}


class ConfigurationError(ValueError):
    """A context value is malformed; the message names the context key."""


class StackSettings(BaseModel):
    """Everything an operator may tune per deployment, with its default."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    stack_name: str = Field(
        default=DEFAULT_STACK_NAME,
        pattern=r"^[A-Za-z][A-Za-z0-9-]{0,127}$",
        description="CloudFormation stack name; deploy twice under two names for two copies.",
    )
    stage_name: str = Field(
        default="v1",
        pattern=r"^[A-Za-z0-9_-]{1,128}$",
        description="API Gateway stage, the first path segment of the webhook URL.",
    )
    throttle_rate_limit: float = Field(
        default=50,
        gt=0,
        description="Steady requests per second, for the stage and the API key's usage plan.",
    )
    throttle_burst_limit: int = Field(
        default=100,
        ge=0,
        description="Requests API Gateway accepts at once above the steady rate.",
    )
    quota_limit_per_day: int | None = Field(
        default=None,
        gt=0,
        description="Requests per day for the API key; none (null) means no daily cap.",
    )
    payload_archive_expiry_days: int = Field(
        default=365,
        gt=0,
        description="Days after which raw payloads under the archive prefix are deleted.",
    )
    log_retention_days: int = Field(
        default=30,
        description=(
            "Days kept in every log group (function, API access) and in the bucket of the "
            "payload bucket's S3 access logs; one of CloudWatch's retention periods."
        ),
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        default="INFO", description="Powertools log level of the functions."
    )
    lambda_memory_mb: int = Field(
        default=1024,
        ge=128,
        le=10240,
        description="Ingest function memory; CPU scales with it and payloads reach megabytes.",
    )
    ingest_timeout_seconds: int = Field(
        default=20,
        ge=1,
        lt=StackLimits.API_GATEWAY_TIMEOUT_SECONDS,
        description="Ingest function timeout; below API Gateway's 29 s integration limit.",
    )
    table_deletion_protection: bool = Field(
        default=True,
        description="DynamoDB deletion protection on the incidents and tickets tables.",
    )
    removal_policy: Literal["retain", "destroy"] = Field(
        default="retain",
        description=(
            "What deleting the stack does to the table, buckets and log groups: keep them, "
            "or delete them (buckets are emptied first)."
        ),
    )
    inline_payload_max_bytes: Annotated[int, *_INLINE_PAYLOAD_MAX_BYTES.metadata] = Field(
        default=_INLINE_PAYLOAD_MAX_BYTES.default,
        description="Compressed payloads up to this size stay in the item; larger go to S3.",
    )
    ticket_sync_memory_mb: int = Field(
        default=256,
        ge=128,
        le=10240,
        description="Ticket-sync function memory; it mostly waits on the ticket system's API.",
    )
    ticket_sync_max_receive_count: int = Field(
        default=StackLimits.TICKET_SYNC_MAX_RECEIVE_COUNT,
        ge=1,
        le=1000,  # SQS's bounds of a redrive policy's maxReceiveCount
        description=(
            "Deliveries of a ticket-sync message before SQS moves it to the ticket-sync DLQ; "
            "each failed attempt backs off, so this bounds how long a down ticket system is "
            "retried."
        ),
    )
    ticket_sync_max_concurrency: int | None = Field(
        default=None,
        ge=2,
        le=1000,  # the bounds Lambda sets for an SQS event source
        description=(
            "Most ticket-sync invocations at once (2-1000), to spare the ticket system's rate "
            "limits; none (null) lets Lambda scale with the number of incidents in flight."
        ),
    )
    callback_max_receive_count: int = Field(
        default=StackLimits.CALLBACK_MAX_RECEIVE_COUNT,
        ge=1,
        le=1000,  # SQS's bounds of a redrive policy's maxReceiveCount
        description="Deliveries of a callback message before SQS moves it to the callback DLQ.",
    )
    callback_memory_mb: int = Field(
        default=256,
        ge=128,
        le=10240,
        description="Callback function memory; it makes one short HTTPS call per message.",
    )
    callback_max_concurrency: int = Field(
        default=StackLimits.CALLBACK_MAX_CONCURRENCY,
        ge=2,
        le=1000,  # the bounds Lambda sets for an SQS event source
        description=(
            "Most callback invocations at once (2-1000). BigPanda's rate limit per org (150 "
            "requests a minute, 5 actions a second) is kept by a limiter that every caller of "
            "its API shares (windows in the control table), with the minute's last 30 "
            "requests kept for callbacks: a callback that finds the minute "
            "used up waits in its queue without counting a failure; a 429 is still retried "
            "with backoff."
        ),
    )
    bigpanda_api_base: str = Field(
        default=BIGPANDA_API_BASE,
        pattern=_HTTPS_BASE_URL,
        description=(
            "HTTPS base URL of BigPanda's API that callbacks are sent to; EU accounts use "
            "https://eu-api.bigpanda.io."
        ),
    )
    bigpanda_app_key: str | None = Field(
        default=None,
        pattern=r"^\S+$",
        description=(
            "App key of the BigPanda integration that shares incidents with this stack (not "
            "a secret); none (null) synthesizes with a warning, and no callback is sent "
            "until it is set: each attempt logs an ERROR and fires CallbackNotConfiguredAlarm."
        ),
    )
    bigpanda_timeout_seconds: Annotated[float, *_BIGPANDA_TIMEOUT.metadata] = Field(
        default=_BIGPANDA_TIMEOUT.default,
        description="Timeout of each callback request to BigPanda, in seconds (up to 20).",
    )
    config_file: str = Field(
        default="pandabridge.toml",
        min_length=1,
        description=(
            "The desk configuration file (TOML): the ticket target, its address and how "
            "incidents map onto it; a relative path is read from the repository root. "
            "Validated at synth and shipped with the ticket-sync function."
        ),
    )
    alarm_email: str | None = Field(
        default=None,
        pattern=_EMAIL_ADDRESS,
        description=(
            "E-mail address subscribed to the alarm topic (it must confirm the subscription "
            "SNS sends); none (null) creates the topic without subscribers."
        ),
    )
    ticket_sync_age_alarm_seconds: int = Field(
        default=60,
        ge=1,
        description=(
            "Alarm when the oldest ticket-sync message is older than this, in seconds: "
            "incidents are waiting for their tickets."
        ),
    )
    callback_latency_alarm_seconds: int = Field(
        default=120,
        ge=1,
        description=(
            "Alarm when the p99 delay from a delivery to BigPanda's confirmed callback exceeds "
            "this, in seconds over 5 minutes; BigPanda holds an incident's updates meanwhile."
        ),
    )
    function_error_alarm_threshold: int = Field(
        default=0,
        ge=0,
        description="Alarm when a function fails more invocations than this in 5 minutes.",
    )
    api_server_error_alarm_threshold: int = Field(
        default=0,
        ge=0,
        description="Alarm when the API answers more 5xx responses than this in 5 minutes.",
    )
    authorizer_rejection_alarm_threshold: int = Field(
        default=20,
        ge=0,
        description=(
            "Alarm when the authorizer rejects more requests than this in 5 minutes: a wrong "
            "token in BigPanda's settings, or someone probing the webhook."
        ),
    )

    bearer_auth_enabled: bool = Field(
        default=True,
        description=(
            "Require 'Authorization: Bearer <token>' on POST /webhook besides the API key, "
            "checked by a Lambda authorizer against the stack's bearer token secret; false "
            "leaves the API key as the only credential."
        ),
    )
    authorizer_cache_seconds: int = Field(
        default=300,
        ge=0,
        le=StackLimits.AUTHORIZER_CACHE_MAX_SECONDS,
        description=(
            "Seconds API Gateway keeps the authorizer's decision per Authorization header "
            "value (0-3600, 0 = ask on every request); a token removed from the secret is "
            "refused after at most this plus 5 minutes."
        ),
    )
    authorizer_reserved_concurrency: int | None = Field(
        default=10,
        ge=1,
        le=1000,  # the default concurrency limit of an account
        description=(
            "Concurrency reserved for, and the most ever taken by, the bearer-token "
            "authorizer (1-1000); none (null) reserves nothing, for an account whose limit "
            "leaves no room to reserve. The authorizer runs before the API key is checked, so "
            "this caps what callers without any credential can take from the account's "
            "functions. 10 is plenty: API Gateway caches each decision, and a check answers "
            "from memory in milliseconds, so 10 at once answer hundreds a second, above the "
            "stage's throttle; and it leaves the 100 unreserved that an account must keep."
        ),
    )
    waf_enabled: bool = Field(
        default=False,
        description=(
            "Associate a WAF web ACL with the stage: a rate limit per source IP and AWS's "
            "known-bad-inputs rules (WAF is billed per web ACL, rule and request)."
        ),
    )
    waf_rate_limit_per_5min: int = Field(
        default=2000,
        ge=10,
        le=2_000_000_000,  # the bounds WAF sets for a rate-based rule
        description=(
            "Requests per 5 minutes from one source IP above which WAF blocks it; BigPanda "
            "sends from few addresses, so keep it above its busiest 5 minutes."
        ),
    )
    xray_sampling_rate: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description=(
            "Share of webhook requests X-Ray traces (0-1), by the stack's sampling rule on its "
            "API stage, with no per-second reservoir: X-Ray's default rule traces the first "
            "request each second, which at BigPanda's rates is nearly every one."
        ),
    )
    consumer_tracing: Literal["Active", "PassThrough"] = Field(
        default="PassThrough",
        description=(
            "X-Ray mode of the ticket-sync and callback functions. Their messages come from a "
            "table stream and carry no sampled trace, and Lambda samples such invocations at a "
            "fixed rate no rule can lower (about every one at BigPanda's rates): Active traces "
            "them at that cost, PassThrough records none."
        ),
    )
    allowed_source_ips: list[str] = Field(
        default_factory=list,
        description=(
            "CIDR ranges (JSON list, or comma-separated with -c) that may call the API, "
            "enforced by its resource policy; empty allows every address. BigPanda publishes "
            "no egress ranges: ask its support for them."
        ),
    )

    @field_validator(*_OPTIONAL_KEYS, mode="before")
    @classmethod
    def _blank_means_none(cls, value: Any) -> Any:
        """Let ``-c quota_limit_per_day=`` or ``=none`` switch an optional setting off."""
        if isinstance(value, str) and value.strip().lower() in {"", "none", "null"}:
            return None
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_case(cls, value: Any) -> Any:
        """Accept ``info`` as well as ``INFO``: operators type both."""
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("removal_policy", mode="before")
    @classmethod
    def _lower_case(cls, value: Any) -> Any:
        """Accept ``RETAIN`` as well as ``retain`` (CDK's enum)."""
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("allowed_source_ips", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        """Accept ``-c allowed_source_ips=203.0.113.0/24,198.51.100.7`` as a list; an entry
        that is not a string is named here, so the error names the context key itself."""
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        for entry in value if isinstance(value, list) else []:
            if not isinstance(entry, str):
                raise ValueError(f"{entry!r} is not a CIDR range such as '203.0.113.0/24'")
        return value

    @field_validator("allowed_source_ips")
    @classmethod
    def _cidr_ranges(cls, value: list[str]) -> list[str]:
        """Each entry an IPv4 or IPv6 CIDR range without host bits; a bare address is a /32
        (or /128)."""
        ranges = []
        for entry in value:
            try:
                ranges.append(str(ipaddress.ip_network(entry, strict=True)))
            except ValueError as error:
                raise ValueError(f"{entry!r} is not a CIDR range: {error}") from None
        return ranges

    @field_validator("log_retention_days")
    @classmethod
    def _supported_retention(cls, value: int) -> int:
        if value not in RETENTION_DAYS:
            allowed = ", ".join(map(str, RETENTION_DAYS))
            raise ValueError(f"CloudWatch Logs accepts only these retention periods: {allowed}")
        return value

    @property
    def log_retention(self) -> logs.RetentionDays:
        return RETENTION_DAYS[self.log_retention_days]

    @property
    def cdk_removal_policy(self) -> RemovalPolicy:
        return _REMOVAL_POLICIES[self.removal_policy]

    @property
    def destroy_on_removal(self) -> bool:
        return self.removal_policy == "destroy"

    @property
    def ingest_timeout(self) -> Duration:
        return Duration.seconds(self.ingest_timeout_seconds)

    @property
    def config_path(self) -> Path:
        """The desk configuration file; a relative path is read from the repository root."""
        path = Path(self.config_file)
        return path if path.is_absolute() else REPO_ROOT / path

    @property
    def lacks_bigpanda_app_key(self) -> bool:
        return self.bigpanda_app_key is None

    @classmethod
    def context_keys(cls) -> tuple[str, ...]:
        return tuple(cls.model_fields)

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """The default of every setting, as the README's settings table shows them."""
        return cls().model_dump()

    @classmethod
    def from_context(cls, node: Node) -> StackSettings:
        """Read every setting from the construct tree's context; absent keys keep defaults."""
        moved = [
            f"context key '{key}': moved to the desk configuration file as '{new}'"
            for key, new in MOVED_TO_DESK_CONFIG.items()
            if node.try_get_context(key) is not None
        ]
        if moved:
            raise ConfigurationError(
                f"invalid CDK context: {'; '.join(moved)}. Remove it from cdk.json (or the -c "
                "option) and set it in the file that config_file names (pandabridge.toml)."
            )
        given = {}
        for key in cls.context_keys():
            value = node.try_get_context(key)
            if value is not None:
                given[key] = value
        try:
            return cls.model_validate(given)
        except ValidationError as exc:
            problems = "; ".join(
                f"context key '{'.'.join(map(str, err['loc']))}': {err['msg']} "
                f"(got {err.get('input')!r})"
                if err["loc"]
                # A rule across keys names its keys in its own message.
                else err["msg"].removeprefix("Value error, ")
                for err in exc.errors()
            )
            raise ConfigurationError(
                f"invalid CDK context: {problems}. Fix it in cdk.json or in the -c option."
            ) from None
