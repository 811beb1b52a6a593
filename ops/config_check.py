"""``config check``: validate the desk configuration file offline, with the schema the stack
and the functions use, and show what it sets up: each integration's path, BigPanda account
and secrets (by name), and its routes in order. Exit 1 with every problem by key path."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from ops.discovery import CDK_JSON, project_context
from pandabridge.desk_config import (
    DeskConfig,
    DeskConfigurationError,
    IntegrationConfig,
    load_config,
)
from pandabridge.identity import DEFAULT_INTEGRATION
from pandabridge.names import WEBHOOK_PATH

THE_STACKS = "(the stack's)"
# The default of the stack setting config_file (stacks.config, not imported: it loads the CDK).
DEFAULT_CONFIG_FILE = "pandabridge.toml"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        help="the desk configuration file (default: cdk.json's config_file, pandabridge.toml)",
    )


def default_file() -> Path:
    """The file the stack would synthesize with: cdk.json's ``config_file`` (relative to the
    repository root), else the stack's default."""
    file = Path(project_context().get("config_file", DEFAULT_CONFIG_FILE))
    return file if file.is_absolute() else CDK_JSON.parent / file


def command(path: Path | None, *, out: TextIO, err: TextIO) -> int:
    file = path or default_file()
    try:
        config = load_config(file)
    except DeskConfigurationError as error:
        err.write(f"✘ {error}\n")
        return 1
    out.write(f"✔ {file} is valid\n")
    out.write(render(config))
    return 0


def render(config: DeskConfig) -> str:
    """The integrations, their paths, accounts, secrets and routes; then the targets."""
    lines = []
    for name, integration in config.integration_settings.items():
        default = name == DEFAULT_INTEGRATION
        path = WEBHOOK_PATH if default else f"{WEBHOOK_PATH}/{name}"
        given = "api_base" in integration.model_fields_set
        api = integration.api_url if given or not default else "(cdk.json bigpanda_api_base)"
        lines += [
            f"integration {name}: POST {path}",
            f"  BigPanda   {api}, app key {integration.app_key or '(cdk.json bigpanda_app_key)'}",
            f"  secrets    tokens {integration.token_secret or THE_STACKS}, "
            f"API key {integration.key_secret or THE_STACKS}",
        ]
        for index, route in enumerate(integration.routes):
            conditions = [
                f"{key} {getattr(route, key)}"
                for key in ("environments", "severities", "tags", "alert_properties")
                if getattr(route, key) is not None
            ]
            when = " and ".join(conditions) or "every incident"
            lines.append(f"  route {index}    {when} -> {route.target}")
        lines.append(f"  otherwise  -> {integration.target or config.target_name}")
        lines.append(f"  reconciler {_reconciled(integration)}")
    reconciler = config.reconciler
    lines.append(
        f"reconciler: every {reconciler.every_minutes} min, overlap "
        f"{reconciler.overlap_seconds} s" + ("" if reconciler.enabled else ", switched off")
    )
    for name, target in config.targets.items():
        lines.append(
            f"target {name}: {target.kind} at {target.base_url}, "
            f"credentials {target.secret or THE_STACKS}"
        )
    return "".join(f"{line}\n" for line in lines)


def _reconciled(integration: IntegrationConfig) -> str:
    """What the reconciler searches for an integration, and which incidents it may take."""
    shares = (
        f"takes shares to {integration.share_target}"
        if integration.share_target
        else "no share_target: only incidents already stored"
    )
    return f"environments {', '.join(integration.environments)}, {shares}"
