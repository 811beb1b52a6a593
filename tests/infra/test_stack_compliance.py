"""Compliance gates: cdk-nag rule packs and cfn-lint, on the real synthesized templates.

Every app variant is checked, because some resources and acknowledgements only exist with
some settings (the auto-delete custom resource of ``removal_policy=destroy``, the web ACL of
``waf_enabled``, the acknowledgements of ``bearer_auth_enabled=false``).
"""

from __future__ import annotations

import pytest
from cfnlint.api import lint_file
from synth_support import Synthesized

from stacks.checks import rule_packs

APPS = ["synthesized", "overridden", "hardened", "integrated"]


def _nag_findings(synthesized: Synthesized) -> list[str]:
    """Every unacknowledged error and warning, one line each."""
    return [
        f"{violation.severity} {violation.rule_name} at {resource.construct_path}: "
        f"{violation.description}"
        for pack in rule_packs()
        for violation in pack.validate_scope(synthesized.app).violations
        for resource in violation.violating_resources
    ]


@pytest.mark.parametrize("app", APPS)
def test_cdk_nag_finds_nothing_unacknowledged(app: str, request: pytest.FixtureRequest) -> None:
    # Given a synthesized app
    synthesized: Synthesized = request.getfixturevalue(app)
    # When the AWS Solutions and Serverless rule packs check it
    findings = _nag_findings(synthesized)
    # Then every finding was fixed or acknowledged with a reason
    assert findings == [], "\n".join(findings)


@pytest.mark.parametrize("app", APPS)
def test_cfn_lint_finds_nothing(app: str, request: pytest.FixtureRequest) -> None:
    # Given a synthesized template file
    synthesized: Synthesized = request.getfixturevalue(app)
    # When cfn-lint checks it as `make synth` does
    matches = lint_file(synthesized.template_file)
    # Then there is no error, warning or informational finding (any fails `make synth`)
    assert [str(match) for match in matches] == []


def test_every_acknowledgement_gives_a_reason(synthesized: Synthesized) -> None:
    # Given the template with acknowledgements copied into resource metadata
    acknowledged = [
        rule
        for resource in synthesized.template.to_json()["Resources"].values()
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    ]
    # When their reasons are read / Then each one explains itself in a sentence
    assert acknowledged
    assert all(len(rule["reason"]) >= 40 for rule in acknowledged), acknowledged
