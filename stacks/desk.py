"""The desk configuration at synth: validated, turned into the ticket-sync function's
variables, and shipped to the function as a layer.

Why a layer, not the file inside the shared code asset: every function deploys the one code
asset of ``lambdas/``, so that the domain code cannot drift between them; putting the file in
it would give each function a copy it never reads, and an edit of the file would redeploy all
of them. A layer of this one file is staged from a temporary directory (no Docker, no copy of
``lambdas/``), attached to the ticket-sync function alone, and Lambda extracts it under
``/opt``: an edit publishes a new small layer version and updates only that function.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from pathlib import Path
from typing import Final

from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from pandabridge.desk_config import DeskConfig, DeskConfigurationError, TargetConfig, load_config
from pandabridge.names import Env
from stacks.config import ConfigurationError, StackSettings
from stacks.functions import ARCHITECTURE, PYTHON_RUNTIME

# Where the function finds the file: Lambda extracts a layer's content under /opt.
LAYER_MOUNT: Final = "/opt"
CONFIG_FILE_NAME: Final = "pandabridge.toml"
FUNCTION_CONFIG_PATH: Final = f"{LAYER_MOUNT}/{CONFIG_FILE_NAME}"

# The address that ships in pandabridge.toml: it synthesizes, and a deployment that keeps it
# is warned.
PLACEHOLDER_TICKET_BASE_URL: Final = "https://tickets.example.com"
# A deployed function sends credentials with every request: HTTPS only (the local stack's demo
# desks, which the functions also accept, speak http).
_HTTPS: Final = re.compile(r"^https://[^\s/]+(?:/[^\s]*)?$")


def load_stack_desk(settings: StackSettings) -> DeskConfig:
    """The validated desk configuration that ``config_file`` names; a problem stops the synth
    with the file and every key path that is wrong."""
    path = settings.config_path
    try:
        desk = load_config(path)
    except DeskConfigurationError as error:
        raise ConfigurationError(f"context key 'config_file': {error}") from None
    addresses = {f"targets.{name}.base_url": t.base_url for name, t in desk.targets.items()}
    addresses |= {
        f"integrations.{name}.api_base": integration.api_url
        for name, integration in desk.integrations.items()
    }
    plain = [
        f"{key}: a deployed stack needs an https:// address (got {url!r})"
        for key, url in addresses.items()
        if not _HTTPS.match(url)
    ]
    if plain:
        raise ConfigurationError(
            f"invalid desk configuration {path}:\n" + "\n".join(f"  - {line}" for line in plain)
        )
    return desk


def ticket_target_environment(desk: DeskConfig) -> dict[str, str]:
    """The ticket target's variables, rendered from the file (the function reads the file itself
    for everything else: the mapping, the priority tag, the workflow, the update policy)."""
    target: TargetConfig = desk.selected
    return {
        Env.TICKET_TARGET: target.kind,
        Env.TICKET_BASE_URL: target.base_url,
        Env.TICKET_TIMEOUT_SECONDS: f"{target.timeout_seconds:g}",
        Env.DESK_CONFIG_FILE: FUNCTION_CONFIG_PATH,
    }


class DeskConfigLayer(Construct):
    """A layer holding the validated configuration file as ``/opt/pandabridge.toml``."""

    def __init__(self, scope: Construct, construct_id: str, *, settings: StackSettings) -> None:
        super().__init__(scope, construct_id)
        self.desk = load_stack_desk(settings)
        self.staging = stage(settings.config_path)
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            code=lambda_.Code.from_asset(str(self.staging)),
            compatible_runtimes=[PYTHON_RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="The desk configuration file (pandabridge.toml) of ticket sync",
        )


def stage(config_file: Path) -> Path:
    """A directory holding only a copy of ``config_file``, named by its content: synthesizing
    the same file again reuses it, so repeated synths leave one directory per version."""
    content = config_file.read_bytes()
    digest = hashlib.sha256(content).hexdigest()[:16]
    directory = Path(tempfile.gettempdir()) / f"pandabridge-desk-{digest}"
    directory.mkdir(exist_ok=True)
    (directory / CONFIG_FILE_NAME).write_bytes(content)
    return directory


def placeholder_warning(desk: DeskConfig, settings: StackSettings) -> str | None:
    """The warning for a target that still has the shipped placeholder address, if it has."""
    if desk.selected.base_url.rstrip("/") != PLACEHOLDER_TICKET_BASE_URL:
        return None
    return (
        f"{desk.key('base_url')} is the placeholder {PLACEHOLDER_TICKET_BASE_URL}: no ticket "
        f"can be created until it is set to the desk's address in {settings.config_file}."
    )
