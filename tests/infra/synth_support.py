"""Synthesizing the app for the infra tests, and reading the result."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
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
    "ticket_sync_memory_mb": 1024,
    "ticket_sync_max_receive_count": 7,
    "ticket_sync_max_concurrency": 5,
    "callback_max_receive_count": 4,
    "callback_memory_mb": 512,
    "callback_max_concurrency": 3,
    "bigpanda_api_base": "https://eu-api.bigpanda.io",
    "bigpanda_app_key": "0123456789abcdef0123456789abcdef",
    "bigpanda_timeout_seconds": 2.5,
    # Jira, so that every optional variable of the ticket target is set.
    "config_file": "examples/jira.toml",
    # Bearer auth off, edge controls on: the variant whose acknowledgements differ.
    "bearer_auth_enabled": False,
    "authorizer_cache_seconds": 60,
    "authorizer_reserved_concurrency": 3,
    "waf_enabled": True,
    "waf_rate_limit_per_5min": 500,
    "xray_sampling_rate": 0.5,
    "consumer_tracing": "Active",
    "allowed_source_ips": ["203.0.113.0/24", "2001:db8::/32"],
    "alarm_email": "oncall@example.com",
    "ticket_sync_age_alarm_seconds": 90,
    "callback_latency_alarm_seconds": 180,
    "function_error_alarm_threshold": 2,
    "api_server_error_alarm_threshold": 3,
    "authorizer_rejection_alarm_threshold": 50,
}


# The defaults with every edge control on: bearer auth, WAF and a source allowlist together,
# as a hardened production deployment would run (with a shorter authorizer cache).
HARDENED: dict[str, Any] = {
    "authorizer_cache_seconds": 60,
    "authorizer_reserved_concurrency": 3,
    "waf_enabled": True,
    "allowed_source_ips": ["198.51.100.0/24"],
}


# The desk configuration of two integrations routed to two desks, with secrets by name.
INTEGRATIONS_EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "integrations.toml"


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

    @cached_property
    def json(self) -> dict[str, Any]:
        """The template as a dict, converted once (each conversion is a call into Node.js)."""
        return dict(self.template.to_json())

    def resources(self, resource_type: str) -> dict[str, dict[str, Any]]:
        return dict(self.template.find_resources(resource_type))

    def only(self, resource_type: str) -> tuple[str, dict[str, Any]]:
        """The logical id and definition of the one resource of this type."""
        found = self.resources(resource_type)
        assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
        return next(iter(found.items()))

    def properties(self, resource_type: str) -> dict[str, Any]:
        return self.only(resource_type)[1]["Properties"]

    def resource(self, construct: IConstruct) -> dict[str, Any]:
        """The template definition of an L2 construct's resource (or of an L1 itself)."""
        return self.json["Resources"][self.logical_id(construct)]

    def role_statements(self, role: IConstruct) -> list[dict[str, Any]]:
        """Every statement of every policy attached to ``role``, which has no inline or
        managed policies of its own."""
        role_id = self.logical_id(role)
        properties = self.resources("AWS::IAM::Role")[role_id]["Properties"]
        assert "ManagedPolicyArns" not in properties
        assert "Policies" not in properties
        return [
            statement
            for policy in self.resources("AWS::IAM::Policy").values()
            if {"Ref": role_id} in policy["Properties"]["Roles"]
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        ]

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

    @property
    def ticket_sync_function(self) -> dict[str, Any]:
        """The ticket-sync function's ``Properties``."""
        return self.resource(self.stack.ticket_sync.worker.function)["Properties"]

    @property
    def callback_function(self) -> dict[str, Any]:
        """The callback function's ``Properties``."""
        return self.resource(self.stack.callback.confirmer.function)["Properties"]

    def event_source_mapping(self, queue: IConstruct) -> dict[str, Any]:
        """The ``Properties`` of the one event source mapping that reads ``queue``."""
        source = {"Fn::GetAtt": [self.logical_id(queue), "Arn"]}
        found = [
            mapping["Properties"]
            for mapping in self.resources("AWS::Lambda::EventSourceMapping").values()
            if mapping["Properties"]["EventSourceArn"] == source
        ]
        assert len(found) == 1, f"expected one event source mapping on {queue.node.path}"
        return found[0]


def actions(statement: dict[str, Any]) -> set[str]:
    """A statement's actions, whether the template lists one or several."""
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def resources_of(statement: dict[str, Any]) -> list[Any]:
    """A statement's resources, whether the template lists one or several."""
    resource = statement["Resource"]
    return resource if isinstance(resource, list) else [resource]


def arn_of(logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "Arn"]}


def allowed(statements: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Each allowed action and the resources it is allowed on (as JSON, to compare tokens)."""
    assert all(statement["Effect"] == "Allow" for statement in statements)
    assert not any("NotAction" in s or "NotResource" in s for s in statements)
    found: dict[str, set[str]] = {}
    for statement in statements:
        for action in actions(statement):
            found.setdefault(action, set()).update(map(_dumps, resources_of(statement)))
    return found


def allowing(*resources: Any) -> set[str]:
    """Resources as ``allowed`` renders them."""
    return set(map(_dumps, resources))


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def synthesize(outdir: Path, context: dict[str, Any] | None = None) -> Synthesized:
    app, stack = build_app(
        context={**REPORT_FINDINGS_IN_TESTS, **(context or {})}, outdir=str(outdir)
    )
    assembly = app.synth()
    template_file = Path(assembly.get_stack_artifact(stack.artifact_id).template_full_path)
    template = Template.from_json(json.loads(template_file.read_text(encoding="utf-8")))
    return Synthesized(app=app, stack=stack, template=template, template_file=template_file)
