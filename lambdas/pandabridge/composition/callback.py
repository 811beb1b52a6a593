"""The callback function's collaborators: the callback ledger, the BigPanda client and the
org's rate limiter."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from pandabridge.aws_clients import client
from pandabridge.bigpanda import BigPandaClient
from pandabridge.callbacks import Confirmer
from pandabridge.composition.secrets import read_secret
from pandabridge.errors import NotConfiguredError, PermanentError
from pandabridge.http import HttpClient
from pandabridge.identity import DEFAULT_INTEGRATION, IncidentKey
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


def bigpanda_api_key(settings: CallbackSettings, account: BigPandaAccount | None = None) -> str:
    """BigPanda's User API key from Secrets Manager (cached), never logged: the account's, or
    the stack's."""
    account = account or account_of(settings, DEFAULT_INTEGRATION)
    secret_id, setting = account.secret_id, account.secret_setting
    value = read_secret(secret_id, what="BigPanda API key", setting=setting)
    if not isinstance(value, str) or not value.strip():
        raise PermanentError(
            "the BigPanda API key secret holds no key (a plain string is expected)",
            setting=setting,
        )
    return value.strip()


@dataclass(frozen=True)
class BigPandaAccount:
    """Where one integration's callbacks go, and the settings that name each part."""

    api_base: str
    app_key: str | None
    secret_id: str
    app_key_setting: str
    secret_setting: str
    # The function's variable that carries the app key.
    app_key_variable: str = Env.BIGPANDA_APP_KEY


def account_of(settings: CallbackSettings, integration: str) -> BigPandaAccount:
    """The BigPanda account of ``integration``: the stack's for default, else its section of
    the desk configuration (its key secret defaulting to the stack's)."""
    found = settings.integrations.get(integration)
    if integration == DEFAULT_INTEGRATION or found is None:
        return BigPandaAccount(
            settings.api_base,
            settings.app_key,
            settings.secret_id,
            BIGPANDA_APP_KEY_SETTING,
            Env.BIGPANDA_SECRET_ID,
        )
    where = f"integrations.{integration}"
    if found.key_secret is None:
        secret_id, secret_setting = settings.secret_id, Env.BIGPANDA_SECRET_ID
    else:
        secret_id, secret_setting = found.key_secret, f"{where}.key_secret"
    return BigPandaAccount(
        api_base=found.api_base,
        app_key=found.app_key,
        secret_id=secret_id,
        app_key_setting=f"{where}.app_key",
        secret_setting=secret_setting,
        app_key_variable=Env.BIGPANDA_INTEGRATIONS,
    )


def confirmer(incident_id: str | None = None) -> Confirmer:
    """A confirmer for this invocation, for the integration the incident belongs to (by its
    storage key; default without one): the ledger is reused, the API key re-checked.

    Without an app key no callback can succeed, so none is attempted (``NotConfiguredError``).
    """
    settings = callback_settings()
    key = IncidentKey.parse(incident_id or "", settings.integrations)
    account = account_of(settings, key.integration)
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
        # One limiter per BigPanda org: the integration's API base and key secret name it.
        org=org_id(account.api_base, account.secret_id),
    )
    return Confirmer(
        ledger=callback_ledger(), bigpanda=bigpanda, integrations=tuple(settings.integrations)
    )
