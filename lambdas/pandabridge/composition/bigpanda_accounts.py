"""Which BigPanda account an incident's calls go to: its integration's (the callback and
write-back alike), found from the storage key, with that account's key secret, API base and
rate-limit org."""

from __future__ import annotations

from dataclasses import dataclass

from pandabridge.composition.secrets import read_secret
from pandabridge.errors import PermanentError
from pandabridge.identity import DEFAULT_INTEGRATION, IncidentKey
from pandabridge.names import BIGPANDA_APP_KEY_SETTING, Env
from pandabridge.rate_limit import org_id
from pandabridge.settings import BigPandaApiSettings, CallbackSettings


@dataclass(frozen=True)
class BigPandaAccount:
    """Where one integration's calls go, and the settings that name each part."""

    api_base: str
    app_key: str | None
    secret_id: str
    app_key_setting: str
    secret_setting: str
    # The function's variable that carries the app key.
    app_key_variable: str = Env.BIGPANDA_APP_KEY

    @property
    def org(self) -> str:
        """The rate-limit org: one limiter per BigPanda org, named by API base and key secret."""
        return org_id(self.api_base, self.secret_id)


def account_of(settings: BigPandaApiSettings, integration: str) -> BigPandaAccount:
    """The BigPanda account of ``integration``: the stack's for default, else its section of
    the desk configuration (its key secret defaulting to the stack's). Only the callback's
    settings carry the default's app key."""
    found = settings.integrations.get(integration)
    if integration == DEFAULT_INTEGRATION or found is None:
        return BigPandaAccount(
            settings.api_base,
            settings.app_key if isinstance(settings, CallbackSettings) else None,
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


def account_for(settings: BigPandaApiSettings, storage_key: str | None) -> BigPandaAccount:
    """The account of the integration an incident belongs to, by its storage key (default
    without one)."""
    key = IncidentKey.parse(storage_key or "", settings.integrations)
    return account_of(settings, key.integration)


def bigpanda_api_key(settings: BigPandaApiSettings, account: BigPandaAccount | None = None) -> str:
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
