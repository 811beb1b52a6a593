"""Edge controls, off by default: a WAF web ACL on the stage (rate limit per source IP, known
bad inputs) and a resource policy that lets only the allowed source ranges invoke the API."""

from __future__ import annotations

import json
from typing import Any

import pytest
from synth_support import HARDENED, OVERRIDES, Synthesized, synthesize

ALL_APPS = ["synthesized", "overridden", "hardened"]


def _acknowledged(resource: dict[str, Any]) -> set[str]:
    rules = resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    return {rule["id"] for rule in rules}


def _rules(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    web_acl = synthesized.properties("AWS::WAFv2::WebACL")
    return {rule["Name"]: rule for rule in web_acl["Rules"]}


def _deployment_id(synthesized: Synthesized) -> str:
    return synthesized.only("AWS::ApiGateway::Deployment")[0]


@pytest.fixture(scope="module")
def other_ranges(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The hardened app with other allowed ranges and nothing else changed."""
    context = HARDENED | {"allowed_source_ips": ["192.0.2.0/24"]}
    return synthesize(tmp_path_factory.mktemp("cdk-other-ranges"), context)


def test_by_default_there_is_no_web_acl_and_no_resource_policy(
    synthesized: Synthesized,
) -> None:
    # Given the default app / When its WAF resources and the API's policy are read
    api = synthesized.properties("AWS::ApiGateway::RestApi")
    # Then neither edge control exists, and the stage acknowledges the missing web ACL
    assert synthesized.resources("AWS::WAFv2::WebACL") == {}
    assert synthesized.resources("AWS::WAFv2::WebACLAssociation") == {}
    assert "Policy" not in api
    stage = synthesized.resource(synthesized.stack.ingest_api.api.deployment_stage)
    assert "AwsSolutions-APIG3" in _acknowledged(stage)


def test_the_web_acl_is_regional_and_allows_what_no_rule_blocks(
    overridden: Synthesized,
) -> None:
    # Given waf_enabled / When the web ACL is read
    web_acl = overridden.properties("AWS::WAFv2::WebACL")
    # Then it can be associated with a regional API and lets through what its rules allow
    assert web_acl["Scope"] == "REGIONAL"
    assert web_acl["DefaultAction"] == {"Allow": {}}


def test_one_source_ip_is_blocked_above_the_configured_rate(overridden: Synthesized) -> None:
    # Given waf_enabled with a rate limit / When the rate-based rule is read
    rule = _rules(overridden)["RateLimitPerSourceIp"]
    # Then requests are counted per source IP over 5 minutes and blocked above the limit
    assert rule["Action"] == {"Block": {}}
    assert rule["Statement"]["RateBasedStatement"] == {
        "AggregateKeyType": "IP",
        "Limit": OVERRIDES["waf_rate_limit_per_5min"],
        "EvaluationWindowSec": 300,
    }


def test_the_default_rate_limit_is_documented(hardened: Synthesized) -> None:
    # Given waf_enabled without a rate limit / When the rate-based rule is read
    statement = _rules(hardened)["RateLimitPerSourceIp"]["Statement"]["RateBasedStatement"]
    # Then it is the default of the context key
    assert statement["Limit"] == hardened.settings.waf_rate_limit_per_5min == 2000


def test_known_bad_inputs_are_blocked_by_aws_managed_rules(overridden: Synthesized) -> None:
    # Given waf_enabled / When the managed rule group's rule is read
    rule = _rules(overridden)["KnownBadInputs"]
    # Then AWS's known-bad-inputs group applies its own (blocking) actions
    assert rule["Statement"]["ManagedRuleGroupStatement"] == {
        "VendorName": "AWS",
        "Name": "AWSManagedRulesKnownBadInputsRuleSet",
    }
    assert rule["OverrideAction"] == {"None": {}}
    assert sorted(rule["Priority"] for rule in _rules(overridden).values()) == [0, 1]


def test_every_rule_and_the_web_acl_publish_metrics(overridden: Synthesized) -> None:
    # Given waf_enabled / When the visibility settings are read
    web_acl = overridden.properties("AWS::WAFv2::WebACL")
    configs = [web_acl["VisibilityConfig"], *(r["VisibilityConfig"] for r in web_acl["Rules"])]
    # Then each has CloudWatch metrics and sampled requests, under distinct metric names
    assert all(c["CloudWatchMetricsEnabled"] and c["SampledRequestsEnabled"] for c in configs)
    names = [config["MetricName"] for config in configs]
    assert len(set(names)) == len(names)
    assert all(name.startswith(OVERRIDES["stack_name"]) for name in names)


def test_the_web_acl_is_associated_with_the_stage(overridden: Synthesized) -> None:
    # Given waf_enabled / When the association is read
    association = overridden.properties("AWS::WAFv2::WebACLAssociation")
    ingest_api = overridden.stack.ingest_api
    web_acl_id, _ = overridden.only("AWS::WAFv2::WebACL")
    # Then it attaches the web ACL to this API's stage, which it waits for
    assert association["WebACLArn"] == {"Fn::GetAtt": [web_acl_id, "Arn"]}
    arn = json.dumps(association["ResourceArn"])
    assert overridden.logical_id(ingest_api.api) in arn
    assert overridden.logical_id(ingest_api.api.deployment_stage) in arn


@pytest.mark.parametrize("app", ["overridden", "hardened"])
def test_with_a_web_acl_the_stage_acknowledges_nothing_about_waf(
    app: str, request: pytest.FixtureRequest
) -> None:
    # Given an app with waf_enabled / When the stage's acknowledgements are read
    synthesized: Synthesized = request.getfixturevalue(app)
    stage = synthesized.resource(synthesized.stack.ingest_api.api.deployment_stage)
    # Then the WAF finding is no longer acknowledged: the web ACL satisfies it
    assert "AwsSolutions-APIG3" not in _acknowledged(stage)


def test_the_web_acl_arn_is_an_output_only_with_waf(
    overridden: Synthesized, synthesized: Synthesized
) -> None:
    # Given the outputs of an app with and one without WAF
    web_acl_id, _ = overridden.only("AWS::WAFv2::WebACL")
    # Then only the first names its web ACL
    assert overridden.json["Outputs"]["WebAclArn"]["Value"] == {"Fn::GetAtt": [web_acl_id, "Arn"]}
    assert "WebAclArn" not in synthesized.json["Outputs"]


def test_only_the_allowed_ranges_may_invoke_the_api(overridden: Synthesized) -> None:
    # Given allowed_source_ips / When the API's resource policy is read
    statements = overridden.properties("AWS::ApiGateway::RestApi")["Policy"]["Statement"]
    allow, deny = statements
    # Then invoking is allowed, except from every address outside the ranges
    assert allow["Effect"] == "Allow"
    assert allow["Action"] == deny["Action"] == "execute-api:Invoke"
    assert allow["Resource"] == deny["Resource"] == "execute-api:/*"
    assert deny["Effect"] == "Deny"
    assert deny["Condition"] == {"NotIpAddress": {"aws:SourceIp": OVERRIDES["allowed_source_ips"]}}


def test_changing_the_ranges_deploys_the_stage_again(
    hardened: Synthesized, other_ranges: Synthesized, synthesized: Synthesized
) -> None:
    # Given two apps that differ only in their allowed ranges, and one without a policy
    # When their deployments' logical ids are compared
    # Then each policy gets its own deployment: API Gateway applies a resource policy only
    # when the stage is deployed again
    ids = {_deployment_id(app) for app in (hardened, other_ranges, synthesized)}
    assert len(ids) == 3
    policy = other_ranges.properties("AWS::ApiGateway::RestApi")["Policy"]
    assert policy["Statement"][1]["Condition"]["NotIpAddress"]["aws:SourceIp"] == ["192.0.2.0/24"]


@pytest.mark.parametrize("app", ALL_APPS)
def test_the_access_log_says_why_a_request_was_refused(
    app: str, request: pytest.FixtureRequest
) -> None:
    # Given an app / When the stage's access log format is parsed
    synthesized: Synthesized = request.getfixturevalue(app)
    access_log = synthesized.properties("AWS::ApiGateway::Stage")["AccessLogSetting"]
    fields = json.loads(access_log["Format"])
    # Then each line carries the authorizer's and WAF's verdicts
    assert {"authorizeStatus", "authorizerError", "wafResponseCode"} <= fields.keys()
