"""The authorizer with several integrations: each path takes only its own integration's
tokens, and a decision API Gateway caches per Authorization header never opens another path.

API Gateway caches the authorizer's policy per header value and applies it to every later
request with that header, whatever its path: ``CachingGateway`` below plays that cache, with
IAM's wildcard matching of the policy's resources, to show what a cached policy lets through.
"""

from __future__ import annotations

import fnmatch
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from local.context import LambdaContext
from pandabridge.names import Env
from tests.handlers.test_authorizer_handler import ACCOUNT, API, STAGE, authorizer_event

OPS_TOKEN = "Ops0token0of0forty0characters00000000000"
BILLING_TOKEN = "Billing0token0of0forty0characters0000000"
DEFAULT_TOKEN = "Default0token0of0forty0characters0000000"


def method_arn(path: str) -> str:
    return f"arn:aws:execute-api:us-east-1:{ACCOUNT}:{API}/{STAGE}/POST{path}"


def event_for(path: str, token: str) -> dict[str, Any]:
    event = authorizer_event({"Authorization": f"Bearer {token}"})
    event |= {"methodArn": method_arn(path), "path": path, "resource": path}
    event["requestContext"] |= {"resourcePath": path, "path": f"/{STAGE}{path}"}
    return event


def allows(policy: dict[str, Any], arn: str) -> bool:
    """IAM's verdict on ``arn``: an explicit Deny wins, else an Allow must match."""
    statements = policy["policyDocument"]["Statement"]

    def matching(effect: str) -> bool:
        return any(
            fnmatch.fnmatchcase(arn, resource)
            for statement in statements
            if statement["Effect"] == effect
            for resource in statement["Resource"]
        )

    return not matching("Deny") and matching("Allow")


@dataclass
class CachingGateway:
    """API Gateway in front of the authorizer: one cached policy per Authorization value."""

    authorize: Callable[[dict[str, Any]], dict[str, Any]]
    cache: dict[str, dict[str, Any]] = field(default_factory=dict)
    invocations: int = 0

    def admits(self, path: str, token: str) -> bool:
        event = event_for(path, token)
        header = event["headers"]["Authorization"]
        if header not in self.cache:
            self.invocations += 1
            self.cache[header] = self.authorize(event)
        return allows(self.cache[header], method_arn(path))


@pytest.fixture
def integration_secrets(secrets: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A default token secret and one per integration, each under a fresh name."""

    def store(token: str) -> str:
        name = f"bearer-tokens/{uuid.uuid4()}"
        secrets.create_secret(Name=name, SecretString=json.dumps({"token": token}))
        return name

    monkeypatch.setenv(Env.BEARER_SECRET_ID, store(DEFAULT_TOKEN))
    per_integration = {"ops": store(OPS_TOKEN), "billing": store(BILLING_TOKEN)}
    monkeypatch.setenv(Env.INTEGRATION_BEARER_SECRETS, json.dumps(per_integration))


@pytest.fixture
def authorize() -> Callable[[dict[str, Any]], dict[str, Any]]:
    from authorizer.handler import handler

    return lambda event: handler(event, LambdaContext(function_name="authorizer"))


@pytest.fixture
def gateway(
    integration_secrets: None, authorize: Callable[[dict[str, Any]], dict[str, Any]]
) -> CachingGateway:
    return CachingGateway(authorize)


@pytest.mark.usefixtures("integration_secrets")
def test_an_allow_covers_only_the_method_arn_that_was_asked_about(
    authorize: Callable[[dict[str, Any]], dict[str, Any]],
) -> None:
    # Given ops's token on ops's path
    policy = authorize(event_for("/webhook/ops", OPS_TOKEN))
    # Then the policy allows that method ARN, and neither another path nor the stage
    assert allows(policy, method_arn("/webhook/ops"))
    assert not allows(policy, method_arn("/webhook/billing"))
    assert not allows(policy, method_arn("/webhook"))


def test_a_token_of_one_integration_is_refused_on_anothers_path(gateway: CachingGateway) -> None:
    assert not gateway.admits("/webhook/billing", OPS_TOKEN)
    assert not gateway.admits("/webhook", OPS_TOKEN)
    assert not gateway.admits("/webhook/ops", DEFAULT_TOKEN)


def test_each_path_takes_its_own_integrations_token(gateway: CachingGateway) -> None:
    assert gateway.admits("/webhook/ops", OPS_TOKEN)
    assert gateway.admits("/webhook/billing", BILLING_TOKEN)
    assert gateway.admits("/webhook", DEFAULT_TOKEN)


def test_a_cached_allow_does_not_open_another_integrations_path(gateway: CachingGateway) -> None:
    # Given ops's token allowed on ops's path, its policy now cached by API Gateway
    assert gateway.admits("/webhook/ops", OPS_TOKEN)
    # When the same header comes on billing's path, answered from the cache
    admitted = gateway.admits("/webhook/billing", OPS_TOKEN)
    # Then the cached policy does not cover that path: refused without asking again
    assert not admitted
    assert gateway.invocations == 1


def test_an_unknown_integration_path_is_denied(
    integration_secrets: None, authorize: Callable[[dict[str, Any]], dict[str, Any]]
) -> None:
    policy = authorize(event_for("/webhook/nobody", OPS_TOKEN))
    assert not allows(policy, method_arn("/webhook/nobody"))
