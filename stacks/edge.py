"""Edge controls in front of the API, both optional and off by default.

- ``waf_enabled``: a regional WAF web ACL on the stage, with a rate limit per source IP and
  AWS's known-bad-inputs managed rules. WAF answers before API Gateway spends anything on a
  request: a flood from one address is blocked before it reaches the authorizer or the
  usage plan's counters.
- ``allowed_source_ips``: a resource policy on the REST API that lets only those ranges
  invoke it. BigPanda publishes no egress ranges, so this is for operators who got them from
  BigPanda's support (or who front the API with their own egress).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from aws_cdk import Stack
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from stacks.config import StackSettings

# Every method of every stage of this API, in a resource policy's own shorthand (the policy
# cannot name the API's ARN, which exists only once the API does).
_THIS_API: Final = "execute-api:/*"
# The window WAF counts a rate-based rule's requests in; the setting is per 5 minutes.
_RATE_WINDOW_SECONDS: Final = 300


def source_ip_policy(cidrs: Sequence[str]) -> iam.PolicyDocument | None:
    """The REST API's resource policy: invoke only from ``cidrs``; none when empty.

    Allow for everyone, then deny every address outside the ranges: an API with a resource
    policy refuses what the policy does not allow, and an explicit deny wins over the allow.
    Authentication (API key, bearer token) still applies to the allowed addresses.
    """
    if not cidrs:
        return None
    return iam.PolicyDocument(
        statements=[
            iam.PolicyStatement(
                sid="InvokeFromAnywhere",
                effect=iam.Effect.ALLOW,
                principals=[iam.AnyPrincipal()],
                actions=["execute-api:Invoke"],
                resources=[_THIS_API],
            ),
            iam.PolicyStatement(
                sid="DenyOutsideAllowedSourceIps",
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=["execute-api:Invoke"],
                resources=[_THIS_API],
                conditions={"NotIpAddress": {"aws:SourceIp": list(cidrs)}},
            ),
        ]
    )


class EdgeFirewall(Construct):
    """A regional WAF web ACL associated with the API's stage."""

    def __init__(
        self, scope: Construct, construct_id: str, *, settings: StackSettings, api: apigw.RestApi
    ) -> None:
        super().__init__(scope, construct_id)
        self._metric_prefix = Stack.of(self).stack_name
        self.web_acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="REGIONAL",
            description="Rate limit per source IP and known bad inputs, for the BigPanda webhook",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=self._visibility("WebAcl"),
            rules=[
                wafv2.CfnWebACL.RuleProperty(
                    name="RateLimitPerSourceIp",
                    priority=0,
                    action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            aggregate_key_type="IP",
                            limit=settings.waf_rate_limit_per_5min,
                            evaluation_window_sec=_RATE_WINDOW_SECONDS,
                        )
                    ),
                    visibility_config=self._visibility("RateLimitPerSourceIp"),
                ),
                wafv2.CfnWebACL.RuleProperty(
                    name="KnownBadInputs",
                    priority=1,
                    override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                            vendor_name="AWS", name="AWSManagedRulesKnownBadInputsRuleSet"
                        )
                    ),
                    visibility_config=self._visibility("KnownBadInputs"),
                ),
            ],
        )
        # The stage's ARN refers to the stage resource, so the association waits for it.
        self.association = wafv2.CfnWebACLAssociation(
            self,
            "StageAssociation",
            resource_arn=api.deployment_stage.stage_arn,
            web_acl_arn=self.web_acl.attr_arn,
        )

    def _visibility(self, name: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
        return wafv2.CfnWebACL.VisibilityConfigProperty(
            cloud_watch_metrics_enabled=True,
            metric_name=f"{self._metric_prefix}-{name}",
            sampled_requests_enabled=True,
        )
