"""The reconciler function's collaborators: BigPanda's API per integration, the watermarks,
the incident store and the ingest path.

Each integration of the configuration file is searched with its own BigPanda account, as the
callback function reaches it: ``default`` with the stack's (``BIGPANDA_API_BASE`` and
``BIGPANDA_SECRET_ID``, which ``[integrations.default]`` may override at synth), any other
with its ``api_base`` and ``key_secret`` (default: the stack's secret). Every call goes through
the org rate limiter that callbacks and write-back share.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import cache

from pandabridge.aws_clients import client
from pandabridge.bigpanda_api import HttpBigPandaApi
from pandabridge.composition.callback import rate_limiter
from pandabridge.composition.ingest import incident_store
from pandabridge.composition.secrets import read_secret
from pandabridge.desk_config import DeskConfig, load_config
from pandabridge.errors import PermanentError
from pandabridge.http import HttpClient
from pandabridge.identity import DEFAULT_INTEGRATION, IncidentKey
from pandabridge.names import Env, Limits
from pandabridge.rate_limit import org_id
from pandabridge.reconcile import ApiReconciler, IngestPath, ReconcileScope, ReconcileSettings
from pandabridge.settings import control_table_settings, reconciler_settings
from pandabridge.stores.watermarks import WatermarkStore


@cache
def desk_config() -> DeskConfig:
    """The configuration file, read and validated once per process."""
    return load_config(reconciler_settings().desk_config_file)


def reconcile_scopes() -> list[ReconcileScope]:
    return [
        ReconcileScope(
            integration=name,
            environments=tuple(integration.environments),
            share_target=integration.share_target,
            storage_key=lambda incident_id, name=name: IncidentKey(name, incident_id).storage_key,
        )
        for name, integration in desk_config().integration_settings.items()
    ]


@dataclass(frozen=True)
class Account:
    """Where one integration's BigPanda API is, and the settings that name each part."""

    api_base: str
    secret_id: str
    base_setting: str
    key_setting: str


def account_of(integration: str) -> Account:
    settings = reconciler_settings()
    if integration == DEFAULT_INTEGRATION:
        return Account(
            settings.api_base, settings.secret_id, Env.BIGPANDA_API_BASE, Env.BIGPANDA_SECRET_ID
        )
    where = f"integrations.{integration}"
    found = desk_config().integration_settings[integration]
    if found.key_secret is None:
        secret_id, key_setting = settings.secret_id, Env.BIGPANDA_SECRET_ID
    else:
        secret_id, key_setting = found.key_secret, f"{where}.key_secret"
    return Account(found.api_url, secret_id, f"{where}.api_base", key_setting)


def bigpanda_api(scope: ReconcileScope) -> HttpBigPandaApi:
    """The integration's API, with its key read now (cached by the secrets provider)."""
    account = account_of(scope.integration)
    key = read_secret(account.secret_id, what="BigPanda API key", setting=account.key_setting)
    if not isinstance(key, str) or not key.strip():
        raise PermanentError(
            "the BigPanda API key secret holds no key (a plain string is expected)",
            setting=account.key_setting,
        )
    return HttpBigPandaApi(
        api_base=account.api_base,
        api_key=key.strip(),
        http=HttpClient(timeout_seconds=reconciler_settings().timeout_seconds),
        limiter=rate_limiter(),
        org=org_id(account.api_base, account.secret_id),
        key_setting=account.key_setting,
        base_setting=account.base_setting,
    )


@cache
def watermarks() -> WatermarkStore:
    return WatermarkStore(control_table_settings().control_table_name, client("dynamodb"))


@cache
def api_reconciler() -> ApiReconciler:
    """The reconciler of this process: what it learns of BigPanda (the "All" environment's
    id) serves the later runs of a warm function."""
    store = incident_store()
    config = desk_config().reconciler
    return ApiReconciler(
        api=bigpanda_api,
        watermarks=watermarks(),
        verdicts=watermarks(),
        incidents=store,
        ingest_path=IngestPath(store),
        settings=ReconcileSettings(
            every_minutes=config.every_minutes,
            overlap_seconds=config.overlap_seconds,
            page_size=Limits.RECONCILE_SEARCH_PAGE_SIZE,
        ),
        clock=time.time,
    )
