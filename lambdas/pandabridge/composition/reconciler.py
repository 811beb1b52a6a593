"""The reconciler function's collaborators: BigPanda's API per integration, the watermarks,
the incident store and the ingest path.

Each integration of the configuration file is searched with its own API base and User API key
(``integrations.<name>.key_secret``, default: the stack's BigPanda secret), through the org
rate limiter that callbacks and write-back share.
"""

from __future__ import annotations

import time
from functools import cache

from pandabridge.aws_clients import client
from pandabridge.bigpanda_api import HttpBigPandaApi
from pandabridge.composition.callback import rate_limiter
from pandabridge.composition.ingest import incident_store
from pandabridge.composition.secrets import read_secret
from pandabridge.desk_config import DeskConfig, IntegrationConfig, load_config
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


def integrations(desk: DeskConfig) -> dict[str, IntegrationConfig]:
    """The file's integrations; without any, the one integration ``default``."""
    return dict(desk.integrations) or {DEFAULT_INTEGRATION: IntegrationConfig()}


def reconcile_scopes() -> list[ReconcileScope]:
    return [
        ReconcileScope(
            integration=name,
            environments=tuple(integration.environments),
            share_target=integration.share_target,
            storage_key=lambda incident_id, name=name: IncidentKey(name, incident_id).storage_key,
        )
        for name, integration in integrations(desk_config()).items()
    ]


def bigpanda_api(scope: ReconcileScope) -> HttpBigPandaApi:
    """The integration's API, with its key read now (cached by the secrets provider)."""
    settings = reconciler_settings()
    integration = integrations(desk_config()).get(scope.integration, IntegrationConfig())
    where = f"integrations.{scope.integration}"
    secret = integration.key_secret or settings.secret_id
    key_setting = f"{where}.key_secret" if integration.key_secret else f"{Env.BIGPANDA_SECRET_ID}"
    # The default integration without its own api_base keeps the stack's BIGPANDA_API_BASE.
    configured = scope.integration in desk_config().integrations
    api_base = integration.api_url if configured else settings.api_base
    key = read_secret(secret, what="BigPanda API key", setting=key_setting)
    if not isinstance(key, str) or not key.strip():
        raise PermanentError(
            "the BigPanda API key secret holds no key (a plain string is expected)",
            setting=key_setting,
        )
    return HttpBigPandaApi(
        api_base=api_base,
        api_key=key.strip(),
        http=HttpClient(timeout_seconds=settings.timeout_seconds),
        limiter=rate_limiter(),
        org=org_id(api_base, secret),
        key_setting=key_setting,
        base_setting=f"{where}.api_base" if configured else Env.BIGPANDA_API_BASE,
    )


@cache
def watermarks() -> WatermarkStore:
    return WatermarkStore(control_table_settings().control_table_name, client("dynamodb"))


def api_reconciler() -> ApiReconciler:
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
