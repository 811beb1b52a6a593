"""The rule packs the app is held to, and the one way a finding is acknowledged.

cdk-nag runs as a CDK validation plugin: an unacknowledged error stops the synth, a warning is
printed. A finding that cannot be fixed is acknowledged on the construct that causes it, with
the reason next to the code it excuses; the reasons are also written into the template's
``Metadata`` so that a reviewer of the template sees them.
"""

from __future__ import annotations

import jsii
from aws_cdk import Acknowledgment, CfnResource, IAspect, Validations
from cdk_nag import AwsSolutionsChecks, NagPack, ServerlessChecks
from constructs import IConstruct


def rule_packs(scope: IConstruct | None = None) -> list[NagPack]:
    """AWS Solutions (security baseline) and Serverless (operational practice) checks."""
    return [
        AwsSolutionsChecks(scope, verbose=True, write_suppressions_to_cloud_formation=True),
        ServerlessChecks(verbose=True),
    ]


@jsii.implements(IAspect)
class FunctionDependsOnLintException:
    """Tells cfn-lint that a function's ``DependsOn`` its own role is intended (W3005).

    CDK makes every function, its own and those behind CDK's custom resources, depend on its
    role and on the role's policy, so that the policy exists before the first invocation.
    The role half is implied by the ``GetAtt`` of the role's ARN, which cfn-lint reports as
    obsolete; without this, ``make synth`` fails on CDK's own output.
    """

    def visit(self, node: IConstruct) -> None:
        if isinstance(node, CfnResource) and node.cfn_resource_type == "AWS::Lambda::Function":
            node.add_metadata("cfn-lint", {"config": {"ignore_checks": ["W3005"]}})


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Accept one finding on ``scope`` and everything below it, for the reason given."""
    Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason))
