"""Builds the CDK app: the one place that turns context into a checked stack.

``app.py`` and the infrastructure tests both build the app here, so the tests check exactly
what ``cdk deploy`` deploys. The app starts from ``cdk.json``'s context itself: running
``python app.py`` directly (``make synth``) then behaves like the CDK CLI, which reads the
same file; context passed by the CLI (``-c key=value``) still wins.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aws_cdk import App, Aspects, Validations

from stacks.checks import FunctionDependsOnLintException, rule_packs
from stacks.config import StackSettings
from stacks.paths import CDK_JSON
from stacks.webhook_stack import WebhookStack

STACK_DESCRIPTION = (
    "BigPanda Notifications Webhook receiver: API Gateway, ingest, storage, ticket sync, callback"
)


def cdk_json_context(path: Path = CDK_JSON) -> dict[str, Any]:
    """The ``context`` block of ``cdk.json``: feature flags and the settings it overrides."""
    return dict(json.loads(path.read_text(encoding="utf-8")).get("context", {}))


def build_app(
    *, context: Mapping[str, Any] | None = None, outdir: str | None = None
) -> tuple[App, WebhookStack]:
    """The app with its one stack and the rule packs registered.

    ``context`` overrides ``cdk.json`` (the tests use it the way an operator uses ``-c``).
    """
    app = App(context={**cdk_json_context(), **(context or {})}, outdir=outdir)
    settings = StackSettings.from_context(app.node)
    stack = WebhookStack(
        app,
        settings.stack_name,
        settings=settings,
        stack_name=settings.stack_name,
        description=STACK_DESCRIPTION,
    )
    Validations.of(app).add_plugins(*rule_packs(app))
    Aspects.of(app).add(FunctionDependsOnLintException())
    return app, stack
