"""The desk configuration's integrations and routed targets, set up locally as the stack sets
them up in AWS: each integration's path and bearer token (in the secret its ``token_secret``
names), its BigPanda account (the stand-in, its key in the secret ``key_secret`` names), the
functions' variables that name them, and a demo desk for each routed target besides the one
``--desk`` chooses.

Locally every integration's token is derived from ``--bearer-token`` (``integration_token``),
so a developer and the tests know it without reading a secret.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from local.aws import put_secret, put_secret_string
from local.defaults import BEARER_SECRET_KEY
from pandabridge.desk_config import DeskConfig
from pandabridge.identity import DEFAULT_INTEGRATION
from pandabridge.names import WEBHOOK_PATH, Env


def integration_token(integration: str, default_token: str) -> str:
    """The local bearer token of ``integration``: the default's, suffixed with its name."""
    if integration == DEFAULT_INTEGRATION:
        return default_token
    return f"{default_token}-{integration}"


def integration_path(integration: str) -> str:
    return WEBHOOK_PATH if integration == DEFAULT_INTEGRATION else f"{WEBHOOK_PATH}/{integration}"


@dataclass(frozen=True)
class LocalIntegrations:
    """What the local stack sets up for the file's integrations besides ``default``."""

    # None until the configuration is read: no integration besides default.
    config: DeskConfig | None

    @property
    def names(self) -> tuple[str, ...]:
        return self.config.extra_integrations if self.config else ()

    def paths(self) -> dict[str, str]:
        return {name: integration_path(name) for name in self.names}

    def tokens(
        self, default_tokens: tuple[str, ...], default_token: str
    ) -> dict[str, tuple[str, ...]]:
        """The valid tokens of each path: the default's from its secret, each other's own."""
        return {DEFAULT_INTEGRATION: default_tokens} | {
            name: (integration_token(name, default_token),) for name in self.names
        }

    def store_secrets(self, endpoint: str, default_token: str, api_key: str) -> None:
        """Each integration's token secret and BigPanda key secret, under the names the file
        gives, as the operator creates them before a deployment."""
        if self.config is None:
            return
        settings = self.config.integration_settings
        for name in self.names:
            integration = settings[name]
            token = integration_token(name, default_token)
            put_secret(endpoint, str(integration.token_secret), {BEARER_SECRET_KEY: token})
            if integration.key_secret:
                put_secret_string(endpoint, integration.key_secret, api_key)

    def store_target_secrets(
        self, endpoint: str, desk: Mapping[str, Any], demo_desk: Mapping[str, Any]
    ) -> None:
        """The credentials under each target's own secret name: the local desk's for the file's
        target, a demo desk's for every other (each routed one is a demo desk here)."""
        if self.config is None:
            return
        for name, target in self.config.targets.items():
            if target.secret:
                own = desk if name == self.config.target_name else demo_desk
                put_secret(endpoint, target.secret, dict(own))

    def environment(self, bigpanda_url: str, app_key: str) -> dict[str, str]:
        """The functions' variables naming the integrations, as the stack renders them; every
        integration's BigPanda is the stand-in (or the ``--bigpanda-url``)."""
        if self.config is None or not self.names:
            return {}
        settings = self.config.integration_settings
        accounts = {}
        for name in self.names:
            integration = settings[name]
            account = {"api_base": bigpanda_url, "app_key": integration.app_key or app_key}
            if integration.key_secret:
                account["key_secret"] = integration.key_secret
            accounts[name] = account
        token_secrets = {name: str(settings[name].token_secret) for name in self.names}
        return {
            Env.INTEGRATIONS: ",".join(self.names),
            Env.INTEGRATION_BEARER_SECRETS: json.dumps(token_secrets),
            Env.BIGPANDA_INTEGRATIONS: json.dumps(accounts),
        }

    def routed_desks(self) -> tuple[str, ...]:
        """The targets besides the file's default that some incident may be routed to: each
        gets a demo desk of its own."""
        return tuple(
            name for name in self.config.routed_targets() if name != self.config.target_name
        )
