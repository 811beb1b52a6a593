"""Write-back's collaborators in the ticket-sync function: BigPanda's Incidents API behind the
org's rate limit, the echo ledger and circuit breaker in the control table, and the settings
of ``targets.<name>.two_way``."""

from __future__ import annotations

from functools import cache

from pandabridge.aws_clients import client
from pandabridge.bigpanda_api import HttpBigPandaApi
from pandabridge.composition.bigpanda_accounts import (
    BigPandaAccount,
    account_for,
    bigpanda_api_key,
)
from pandabridge.composition.ingest import incident_store
from pandabridge.desk_config import DeskConfig
from pandabridge.http import HttpClient
from pandabridge.names import Env
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


def bigpanda_api(incident_id: str | None = None) -> HttpBigPandaApi:
    """The Incidents API client of the integration the incident belongs to (by its storage
    key; the stack's default account without one): that integration's API base and key
    secret, sharing its org's rate limit with the callbacks."""
    settings = bigpanda_api_settings()
    account = account_for(settings, incident_id)
    return HttpBigPandaApi(
        api_base=account.api_base,
        api_key=bigpanda_api_key(settings, account),
        http=HttpClient(timeout_seconds=settings.timeout_seconds),
        limiter=rate_limiter(),
        org=account.org,
        **_named_key_setting(account),
    )


def _named_key_setting(account: BigPandaAccount) -> dict[str, str]:
    """An integration's own key secret is named by its key path; the stack's keeps the
    client's default wording."""
    if account.secret_setting == Env.BIGPANDA_SECRET_ID:
        return {}
    return {"key_setting": account.secret_setting}


def mirror(desk: DeskConfig, states: TicketStates, incident_id: str | None = None) -> Mirror | None:
    """Write-back for this invocation, to the BigPanda account of the incident's integration,
    or None when the target has no ``two_way`` section."""
    settings = write_back_settings(desk)
    if settings is None:
        return None
    return Mirror(
        api=bigpanda_api(incident_id),
        incidents=incident_store(),
        states=states,
        ledger=echo_ledger(),
        breaker=circuit_breaker(),
        settings=settings,
    )
