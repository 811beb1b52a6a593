"""Write-back's collaborators in the ticket-sync function: BigPanda's Incidents API behind the
org's rate limit, the echo ledger and circuit breaker in the control table, and the settings
of ``targets.<name>.two_way``."""

from __future__ import annotations

from functools import cache

from pandabridge.aws_clients import client
from pandabridge.bigpanda_api import HttpBigPandaApi
from pandabridge.composition.ingest import incident_store
from pandabridge.composition.secrets import read_secret
from pandabridge.desk_config import DeskConfig
from pandabridge.errors import PermanentError
from pandabridge.http import HttpClient
from pandabridge.names import Env
from pandabridge.rate_limit import org_id
from pandabridge.settings import bigpanda_api_settings, control_table_settings
from pandabridge.stores.control import DynamoRateLimiter
from pandabridge.stores.desk_events import DeskEventStore
from pandabridge.stores.echo import DynamoCircuitBreaker, DynamoEchoLedger
from pandabridge.write_back import Mirror, TicketStates, WriteBackSettings


def write_back_settings(desk: DeskConfig) -> WriteBackSettings | None:
    """The selected target's ``two_way`` section; None (one-way, as before) when absent."""
    two_way = desk.selected.two_way
    if two_way is None:
        return None
    return WriteBackSettings(
        setting=desk.key("two_way"),
        integration_user=two_way.integration_user,
        resolve=two_way.resolve,
        comments=two_way.comments,
        link=two_way.link,
        assignee=two_way.assignee,
        link_tag=two_way.link_tag,
        loop_limit=two_way.loop_limit,
    )


@cache
def echo_ledger() -> DynamoEchoLedger:
    return DynamoEchoLedger(control_table_settings().control_table_name, client("dynamodb"))


@cache
def circuit_breaker() -> DynamoCircuitBreaker:
    return DynamoCircuitBreaker(control_table_settings().control_table_name, client("dynamodb"))


@cache
def desk_events() -> DeskEventStore:
    return DeskEventStore(control_table_settings().control_table_name, client("dynamodb"))


@cache
def rate_limiter() -> DynamoRateLimiter:
    """The org's rate limit, in the same control-table windows as the callbacks'."""
    return DynamoRateLimiter(control_table_settings().control_table_name, client("dynamodb"))


def api_key() -> str:
    """The stack's BigPanda User API key (the callback's own secret), cached, never logged."""
    value = read_secret(
        bigpanda_api_settings().secret_id, what="BigPanda API key", setting=Env.BIGPANDA_SECRET_ID
    )
    if not isinstance(value, str) or not value.strip():
        raise PermanentError(
            "the BigPanda API key secret holds no key (a plain string is expected)",
            setting=Env.BIGPANDA_SECRET_ID,
        )
    return value.strip()


def bigpanda_api() -> HttpBigPandaApi:
    """The Incidents API client of the stack's BigPanda account (the default integration's),
    sharing the org's rate limit with the callbacks."""
    settings = bigpanda_api_settings()
    return HttpBigPandaApi(
        api_base=settings.api_base,
        api_key=api_key(),
        http=HttpClient(timeout_seconds=settings.timeout_seconds),
        limiter=rate_limiter(),
        org=org_id(settings.api_base, settings.secret_id),
    )


def mirror(desk: DeskConfig, states: TicketStates) -> Mirror | None:
    """Write-back for this invocation, or None when the target has no ``two_way`` section."""
    settings = write_back_settings(desk)
    if settings is None:
        return None
    return Mirror(
        api=bigpanda_api(),
        incidents=incident_store(),
        states=states,
        ledger=echo_ledger(),
        breaker=circuit_breaker(),
        settings=settings,
    )
