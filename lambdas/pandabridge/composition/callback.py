"""The callback function's collaborators: the callback ledger, the BigPanda client and the
org's rate limiter."""

from __future__ import annotations

from functools import cache

from pandabridge.aws_clients import client
from pandabridge.bigpanda import BigPandaClient
from pandabridge.callbacks import Confirmer
from pandabridge.composition.bigpanda_accounts import account_for, bigpanda_api_key
from pandabridge.errors import NotConfiguredError
from pandabridge.http import HttpClient
from pandabridge.settings import callback_settings, control_table_settings
from pandabridge.stores.control import DynamoRateLimiter
from pandabridge.stores.tickets import CallbackLedger


@cache
def callback_ledger() -> CallbackLedger:
    return CallbackLedger(callback_settings().tickets_table_name, client("dynamodb"))


@cache
def rate_limiter() -> DynamoRateLimiter:
    """The org rate limiter every BigPanda caller of this process shares."""
    return DynamoRateLimiter(control_table_settings().control_table_name, client("dynamodb"))


def confirmer(incident_id: str | None = None) -> Confirmer:
    """A confirmer for this invocation, for the integration the incident belongs to (by its
    storage key; default without one): the ledger is reused, the API key re-checked.

    Without an app key no callback can succeed, so none is attempted (``NotConfiguredError``).
    """
    settings = callback_settings()
    account = account_for(settings, incident_id)
    if account.app_key is None:
        raise NotConfiguredError(
            "the BigPanda app key is not set, so no callback can be sent",
            setting=account.app_key_setting,
            variable=account.app_key_variable,
        )
    bigpanda = BigPandaClient(
        api_base=account.api_base,
        api_key=bigpanda_api_key(settings, account),
        app_key=account.app_key,
        http=HttpClient(timeout_seconds=settings.timeout_seconds),
        limiter=rate_limiter(),
        org=account.org,
    )
    return Confirmer(
        ledger=callback_ledger(), bigpanda=bigpanda, integrations=tuple(settings.integrations)
    )
