"""X-Ray: the stack samples its own API at its own rate, and traces only what a rule governs.

X-Ray's default rule (the first request each second, then 5%) traces nearly every delivery at
BigPanda's rates, which stay under one a second. API Gateway stages follow sampling rules and
the ingest function follows the stage's decision; the SQS-triggered consumers would sample at
Lambda's own fixed rate, which no rule can change, so they pass tracing through by default.
"""

from __future__ import annotations

from typing import Any

from synth_support import OVERRIDES, Synthesized


def _rule(synthesized: Synthesized) -> dict[str, Any]:
    rule: dict[str, Any] = synthesized.properties("AWS::XRay::SamplingRule")["SamplingRule"]
    return rule


def test_the_stack_samples_its_api_stage_at_the_configured_rate(synthesized: Synthesized) -> None:
    # Given the default settings / When the stack's sampling rule is read
    rule = _rule(synthesized)
    settings = synthesized.settings
    # Then it matches this stack's API stage by its X-Ray service name and type
    assert rule["ServiceName"] == f"{settings.stack_name}-webhook/{settings.stage_name}"
    assert rule["ServiceType"] == "AWS::ApiGateway::Stage"
    # And it samples the configured share with no per-second reservoir
    assert rule["FixedRate"] == settings.xray_sampling_rate == 0.05
    assert rule["ReservoirSize"] == 0
    assert len(rule["RuleName"]) <= 32


def test_an_overridden_rate_and_stage_reach_the_rule(overridden: Synthesized) -> None:
    # Given another rate, stack name and stage / When the rule is read
    rule = _rule(overridden)
    # Then the rule follows them
    assert rule["FixedRate"] == OVERRIDES["xray_sampling_rate"]
    assert rule["ServiceName"] == f"{OVERRIDES['stack_name']}-webhook/{OVERRIDES['stage_name']}"


def test_the_consumers_pass_tracing_through_by_default(synthesized: Synthesized) -> None:
    # Given the default settings / When the functions' tracing modes are read
    # Then the API's functions trace what the stage samples, the consumers only pass through
    assert synthesized.ingest_function["TracingConfig"] == {"Mode": "Active"}
    assert synthesized.ticket_sync_function["TracingConfig"] == {"Mode": "PassThrough"}
    assert synthesized.callback_function["TracingConfig"] == {"Mode": "PassThrough"}


def test_consumer_tracing_can_be_switched_on(overridden: Synthesized) -> None:
    # Given consumer_tracing set to Active / When the consumers are read
    # Then both trace actively again
    assert OVERRIDES["consumer_tracing"] == "Active"
    assert overridden.ticket_sync_function["TracingConfig"] == {"Mode": "Active"}
    assert overridden.callback_function["TracingConfig"] == {"Mode": "Active"}
