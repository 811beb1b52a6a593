"""The callback function's collaborators: the callback ledger, the BigPanda client and the
org's rate limiter."""

from __future__ import annotations

from functools import cache

from pandabridge.aws_clients import client
from pandabridge.bigpanda import BigPandaClient
from pandabridge.callbacks import Confirmer
from pandabridge.composition.secrets import read_secret
from pandabridge.errors import NotConfiguredError, PermanentError
from pandabridge.http import HttpClient
from pandabridge.names import BIGPANDA_APP_KEY_SETTING, Env
from pandabridge.rate_limit import org_id
from pandabridge.settings import CallbackSettings, callback_settings, control_table_settings
from pandabridge.stores.control import DynamoRateLimiter
from pandabridge.stores.tickets import CallbackLedger


@cache
def callback_ledger() -> CallbackLedger:
    return CallbackLedger(callback_settings().tickets_table_name, client("dynamodb"))


@cache
def rate_limiter() -> DynamoRateLimiter:
    """The org rate limiter every BigPanda caller of this process shares."""
    return DynamoRateLimiter(control_table_settings().control_table_name, client("dynamodb"))


def bigpanda_api_key(settings: CallbackSettings) -> str:
    """BigPanda's User API key from Secrets Manager (cached), never logged."""
    value = read_secret(settings.secret_id, what="BigPanda API key", setting=Env.BIGPANDA_SECRET_ID)
    if not isinstance(value, str) or not value.strip():
        raise PermanentError(
            "the BigPanda API key secret holds no key (a plain string is expected)",
            setting=Env.BIGPANDA_SECRET_ID,
        )
    return value.strip()


def confirmer() -> Confirmer:
    """A confirmer for this invocation: the ledger is reused, the API key re-checked.

    Without an app key no callback can succeed, so none is attempted (``NotConfiguredError``).
    """
    settings = callback_settings()
    if settings.app_key is None:
        raise NotConfiguredError(
            "the BigPanda app key is not set, so no callback can be sent",
            setting=BIGPANDA_APP_KEY_SETTING,
            variable=Env.BIGPANDA_APP_KEY,
        )
    bigpanda = BigPandaClient(
        api_base=settings.api_base,
        api_key=bigpanda_api_key(settings),
        app_key=settings.app_key,
        http=HttpClient(timeout_seconds=settings.timeout_seconds),
        limiter=rate_limiter(),
        org=org_id(settings.api_base, settings.secret_id),
    )
    return Confirmer(ledger=callback_ledger(), bigpanda=bigpanda)
