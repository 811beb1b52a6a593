"""Integrations at synth: a path, a token secret and grants per integration, one authorizer
whose cached decision must therefore be path-exact, and configuration errors by key path."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from synth_support import INTEGRATIONS_EXAMPLE, Synthesized

from stacks.application import build_app
from stacks.config import ConfigurationError


def _methods(integrated: Synthesized) -> dict[str, dict[str, Any]]:
    """The webhook's POST methods (on /webhook and the resources under it) by path part."""
    resources = integrated.resources("AWS::ApiGateway::Resource")
    [webhook] = [rid for rid, r in resources.items() if r["Properties"]["PathPart"] == "webhook"]
    paths = {
        rid: r["Properties"]["PathPart"]
        for rid, r in resources.items()
        if rid == webhook or r["Properties"]["ParentId"] == {"Ref": webhook}
    }
    return {
        paths[m["Properties"]["ResourceId"]["Ref"]]: m["Properties"]
        for m in integrated.resources("AWS::ApiGateway::Method").values()
        if m["Properties"]["HttpMethod"] == "POST" and m["Properties"]["ResourceId"]["Ref"] in paths
    }


def test_each_integration_has_its_path_behind_the_key_and_the_one_authorizer(
    integrated: Synthesized,
) -> None:
    methods = _methods(integrated)
    assert set(methods) == {"webhook", "payments"}
    authorizers = {json.dumps(m["AuthorizerId"]) for m in methods.values()}
    assert len(authorizers) == 1
    assert all(m["ApiKeyRequired"] for m in methods.values())


def test_the_authorizer_caches_per_authorization_header_across_paths(
    integrated: Synthesized,
) -> None:
    # The premise of the path-exact policy (tests/handlers/test_authorizer_integrations.py):
    # one cache, keyed by the header alone, serves every integration's path.
    authorizer = integrated.properties("AWS::ApiGateway::Authorizer")
    assert authorizer["IdentitySource"] == "method.request.header.Authorization"
    assert authorizer["AuthorizerResultTtlInSeconds"] > 0


def test_the_authorizer_reads_each_integrations_token_secret_by_name(
    integrated: Synthesized,
) -> None:
    checker = integrated.stack.bearer_auth.checker.function  # type: ignore[union-attr]
    variables = integrated.resource(checker)["Properties"]["Environment"]["Variables"]
    assert json.loads(variables["INTEGRATION_BEARER_SECRETS"]) == {
        "payments": "pandabridge/payments-tokens"
    }
    statements = integrated.role_statements(checker.role)  # type: ignore[arg-type]
    resources = json.dumps([s["Resource"] for s in statements])
    assert ":secret:pandabridge/payments-tokens-??????" in resources


def test_ingest_knows_the_integrations(integrated: Synthesized) -> None:
    assert integrated.ingest_function["Environment"]["Variables"]["INTEGRATIONS"] == "payments"


def test_a_single_integration_deployment_has_only_the_webhook_path(
    synthesized: Synthesized,
) -> None:
    assert set(_methods(synthesized)) == {"webhook"}
    assert "INTEGRATIONS" not in synthesized.ingest_function["Environment"]["Variables"]


def _build_with_the_example_changed(tmp_path: Path, old: str, new: str) -> None:
    """Build the app with the worked example, ``old`` replaced by ``new``."""
    config = tmp_path / "desk.toml"
    config.write_text(INTEGRATIONS_EXAMPLE.read_text().replace(old, new))
    build_app(context={"config_file": str(config)})


def test_an_unknown_route_target_stops_the_synth_naming_its_key_path(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"integrations\.payments\.routes\.0\.target"):
        _build_with_the_example_changed(
            tmp_path, 'target = "db-jira"\nalert_properties', 'target = "db-jra"\nalert_properties'
        )


def test_the_callback_knows_each_integrations_bigpanda_account(integrated: Synthesized) -> None:
    function = integrated.stack.callback.confirmer.function
    variables = integrated.resource(function)["Properties"]["Environment"]["Variables"]
    assert json.loads(variables["BIGPANDA_INTEGRATIONS"]) == {
        "payments": {
            "api_base": "https://eu-api.bigpanda.io",
            "app_key": "fedcba9876543210fedcba9876543210",
            "key_secret": "pandabridge/payments-bigpanda",
        }
    }
    assert variables["BIGPANDA_APP_KEY"] == "0123456789abcdef0123456789abcdef"
    resources = json.dumps([s["Resource"] for s in integrated.role_statements(function.role)])
    assert ":secret:pandabridge/payments-bigpanda-??????" in resources


def test_ticket_sync_reads_each_targets_own_secret_by_name(integrated: Synthesized) -> None:
    function = integrated.stack.ticket_sync.worker.function
    resources = json.dumps([s["Resource"] for s in integrated.role_statements(function.role)])
    assert ":secret:pandabridge/db-jira-??????" in resources


def test_a_plain_http_bigpanda_api_base_stops_the_synth(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match=r"integrations\.payments\.api_base: a deployed"):
        _build_with_the_example_changed(
            tmp_path, 'api_base = "eu"', 'api_base = "http://bigpanda.example.com"'
        )
