"""The [integrations] section: each mistake that would break routing or isolation stops the
configuration, named by its key path; a file without the section is one integration."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from pandabridge.desk_config import DeskConfigurationError, load_config, parse_config

VALID: dict[str, Any] = {
    "target": "desk",
    "targets": {
        "desk": {"kind": "http", "base_url": "https://desk.example.com"},
        "ops-jira": {
            "kind": "jira",
            "base_url": "https://acme.atlassian.net",
            "jira": {"project": "OPS"},
            "secret": "pandabridge/ops-jira",
        },
    },
    "integrations": {
        "default": {"app_key": "app-1"},
        "ops": {
            "app_key": "app-2",
            "api_base": "eu",
            "key_secret": "pandabridge/ops-bigpanda",
            "token_secret": "pandabridge/ops-tokens",
            "routes": [
                {"target": "ops-jira", "severities": ["critical"], "tags": {"team": "db"}},
                {"target": "ops-jira", "environments": ["env-1"]},
                {"target": "desk"},
            ],
        },
    },
}


def problems_of(document: dict[str, Any]) -> tuple[str, ...]:
    with pytest.raises(DeskConfigurationError) as caught:
        parse_config(document)
    return caught.value.problems


def with_integration(name: str, **settings: Any) -> dict[str, Any]:
    document = copy.deepcopy(VALID)
    document["integrations"][name] = settings
    return document


def with_routes(*routes: dict[str, Any]) -> dict[str, Any]:
    document = copy.deepcopy(VALID)
    document["integrations"]["ops"]["routes"] = list(routes)
    return document


def test_the_valid_document_names_its_integrations_and_their_targets() -> None:
    config = parse_config(VALID)
    assert config.extra_integrations == ("ops",)
    assert config.integration_settings["ops"].api_url == "https://eu-api.bigpanda.io"
    assert config.routed_targets() == ("desk", "ops-jira")


def test_a_file_without_integrations_is_the_one_integration_default() -> None:
    document = {key: value for key, value in VALID.items() if key != "integrations"}
    config = parse_config(document)
    assert list(config.integration_settings) == ["default"]
    assert config.integration_settings["default"].api_url == "https://api.bigpanda.io"
    assert config.extra_integrations == ()


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        pytest.param(
            with_routes({"target": "nowhere"}),
            "integrations.ops.routes.0.target: 'nowhere' is not defined; one of desk, ops-jira",
            id="unknown route target",
        ),
        pytest.param(
            with_integration("billing", target="nowhere", token_secret="t-2"),
            "integrations.billing.target: 'nowhere' is not defined; one of desk, ops-jira",
            id="unknown integration target",
        ),
        pytest.param(
            with_integration("billing", app_key="app-2", token_secret="t-2"),
            "integrations.billing.app_key: duplicate of integrations.ops.app_key: the same "
            "BigPanda integration configured twice",
            id="duplicate integration",
        ),
        pytest.param(
            with_integration("billing", token_secret="pandabridge/ops-tokens"),
            "integrations.billing.token_secret: duplicate of integrations.ops.token_secret: "
            "ops's token would open this integration's path",
            id="shared token secret",
        ),
        pytest.param(
            with_integration("billing"),
            "integrations.billing.token_secret: required: each integration but default needs "
            "its own bearer tokens, so that no other integration's token opens its path",
            id="no token secret",
        ),
        pytest.param(
            with_routes({"target": "desk"}, {"target": "ops-jira", "severities": ["critical"]}),
            "integrations.ops.routes.1: can never match: the route before it at index 0 "
            "matches every incident",
            id="route after a catch-all",
        ),
        pytest.param(
            with_routes(
                {"target": "desk", "severities": ["critical", "warning"]},
                {"target": "ops-jira", "severities": ["critical"], "tags": {"team": "db"}},
            ),
            "integrations.ops.routes.1: can never match: the route before it at index 0 "
            "matches all it would",
            id="route shadowed by a looser one",
        ),
        pytest.param(
            with_routes({"target": "desk", "environments": []}),
            "integrations.ops.routes.0.environments: empty, so the route can never match; "
            "leave the key out to match any value",
            id="empty condition",
        ),
        pytest.param(
            with_integration("Billing", token_secret="t-2"),
            "integrations.Billing: the key name: String should match pattern "
            "'^[a-z][a-z0-9-]{0,31}$'",
            id="integration name",
        ),
        pytest.param(
            with_integration("billing", token_secret="arn:aws:secretsmanager:eu-west-1:1:secret:t"),
            "integrations.billing.token_secret: a secret is named here, never inlined: give "
            "the secret's name",
            id="secret by name only",
        ),
        pytest.param(
            with_integration("billing", token_secret="t-2", api_base="asia"),
            "integrations.billing.api_base: String should match pattern",
            id="api base",
        ),
    ],
)
def test_a_mistake_is_named_by_its_key_path(document: dict[str, Any], expected: str) -> None:
    problems = problems_of(document)
    assert any(problem.startswith(expected) for problem in problems), problems


def test_a_route_narrower_on_tags_after_a_broader_tag_route_is_shadowed_too() -> None:
    # Given a route on tag team=db, then one on team=db and env=prod: the second never matches
    problems = problems_of(
        with_routes(
            {"target": "desk", "tags": {"team": "db"}},
            {"target": "ops-jira", "tags": {"team": "db", "env": "prod"}},
        )
    )
    assert problems[0].startswith("integrations.ops.routes.1: can never match")


def test_a_narrower_route_before_a_broader_one_is_fine() -> None:
    parse_config(
        with_routes(
            {"target": "ops-jira", "tags": {"team": "db", "env": "prod"}},
            {"target": "desk", "tags": {"team": "db"}},
        )
    )


def test_an_integration_declared_twice_in_the_file_is_named_with_its_line(tmp_path: Any) -> None:
    file = tmp_path / "pandabridge.toml"
    file.write_text(
        '[targets.desk]\nkind = "http"\nbase_url = "https://d.example.com"\n'
        '[integrations.ops]\ntoken_secret = "a"\n[integrations.ops]\ntoken_secret = "b"\n'
    )
    with pytest.raises(DeskConfigurationError) as caught:
        load_config(file)
    assert "('integrations', 'ops') twice" in str(caught.value)
