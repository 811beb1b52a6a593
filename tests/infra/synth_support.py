"""Synthesizing the app for the infra tests, and reading the result."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import App, CfnElement
from aws_cdk.assertions import Template
from constructs import IConstruct

from stacks.application import build_app
from stacks.config import StackSettings
from stacks.webhook_stack import WebhookStack

# Findings are asserted by the compliance tests, which list them; without this, an
# unacknowledged error would abort the synth of the shared fixture and fail every test.
REPORT_FINDINGS_IN_TESTS = {"@aws-cdk/core:failSynthOnValidationErrors": False}

# Every value differs from its default, so a test can tell an honoured override from a
# default that happens to match.
OVERRIDES: dict[str, Any] = {
    "stack_name": "PandaBridgeTest",
    "stage_name": "test",
    "throttle_rate_limit": 7,
    "throttle_burst_limit": 9,
    "quota_limit_per_day": 1000,
    "payload_archive_expiry_days": 90,
    "log_retention_days": 7,
    "log_level": "DEBUG",
    "lambda_memory_mb": 512,
    "ingest_timeout_seconds": 25,
    "table_deletion_protection": False,
    "removal_policy": "destroy",
    "inline_payload_max_bytes": 32768,
}


@dataclass(frozen=True)
class Synthesized:
    """One synthesized app: its construct tree, its stack and the stack's template."""

    app: App
    stack: WebhookStack
    template: Template
    template_file: Path

    @property
    def settings(self) -> StackSettings:
        return self.stack.settings

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return dict(self.template.find_resources(resource_type))

    def only(self, resource_type: str) -> tuple[str, dict[str, Any]]:
        """The logical id and definition of the one resource of this type."""
        found = self.resources(resource_type)
        assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
        return next(iter(found.items()))

    def properties(self, resource_type: str) -> dict[str, Any]:
        return self.only(resource_type)[1]["Properties"]

    def logical_id(self, construct: IConstruct) -> str:
        """The logical id of an L2 construct's resource (or of an L1 itself)."""
        resource = construct.node.default_child or construct
        assert isinstance(resource, CfnElement)
        return self.stack.get_logical_id(resource)

    @property
    def ingest_function_id(self) -> str:
        return self.logical_id(self.stack.ingest_api.ingest.function)

    @property
    def ingest_function(self) -> dict[str, Any]:
        """The ingest function's ``Properties``."""
        return self.resources("AWS::Lambda::Function")[self.ingest_function_id]["Properties"]


def synthesize(outdir: Path, context: dict[str, Any] | None = None) -> Synthesized:
    app, stack = build_app(
        context={**REPORT_FINDINGS_IN_TESTS, **(context or {})}, outdir=str(outdir)
    )
    assembly = app.synth()
    template_file = Path(assembly.get_stack_artifact(stack.artifact_id).template_full_path)
    template = Template.from_json(json.loads(template_file.read_text(encoding="utf-8")))
    return Synthesized(app=app, stack=stack, template=template, template_file=template_file)
