"""Bearer auth: POST /webhook is guarded by a REQUEST authorizer on the Authorization header,
whose function may read only the token secret, which the template never holds; and
``bearer_auth_enabled=false`` removes it all and brings back the acknowledgements it made
unnecessary."""

from __future__ import annotations

import json
from typing import Any

import pytest
from synth_support import HARDENED, Synthesized, allowed, allowing, arn_of, resources_of

from pandabridge.auth import valid_tokens
from pandabridge.names import AUTHORIZATION_HEADER, Env, Limits
from stacks.authorizer import AUTHORIZER_HANDLER, AUTHORIZER_MEMORY_MB, GENERATED_TOKEN_KEY
from stacks.config import StackSettings
from stacks.functions import ARCHITECTURE, PYTHON_RUNTIME
from stacks.limits import StackLimits

XRAY = "*"


def _ref(synthesized: Synthesized, construct: Any) -> dict[str, str]:
    return {"Ref": synthesized.logical_id(construct)}


def _method(synthesized: Synthesized) -> dict[str, Any]:
    return synthesized.resource(synthesized.stack.ingest_api.method)


def _acknowledged(resource: dict[str, Any]) -> set[str]:
    rules = resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    return {rule["id"] for rule in rules}


@pytest.fixture(scope="module")
def checker(synthesized: Synthesized) -> dict[str, Any]:
    """The authorizer function's ``Properties``."""
    return synthesized.resource(synthesized.stack.bearer_auth.checker.function)["Properties"]


@pytest.fixture(scope="module")
def authorizer(synthesized: Synthesized) -> dict[str, Any]:
    return synthesized.properties("AWS::ApiGateway::Authorizer")


def test_post_webhook_needs_the_authorizer_and_the_api_key(synthesized: Synthesized) -> None:
    # Given the default app / When the webhook method is read
    method = _method(synthesized)["Properties"]
    # Then API Gateway asks the bearer authorizer first, and still requires the API key
    assert method["AuthorizationType"] == "CUSTOM"
    assert method["AuthorizerId"] == _ref(synthesized, synthesized.stack.bearer_auth.authorizer)
    assert method["ApiKeyRequired"] is True


def test_the_authorizer_decides_on_the_authorization_header(
    synthesized: Synthesized, authorizer: dict[str, Any]
) -> None:
    # Given the API's authorizer / When its type and identity source are read
    # Then it is a REQUEST authorizer of this API keyed on the Authorization header, so a
    # request without it is refused without an invocation and decisions are cached per value
    assert authorizer["Type"] == "REQUEST"
    assert authorizer["IdentitySource"] == f"method.request.header.{AUTHORIZATION_HEADER}"
    assert authorizer["RestApiId"] == _ref(synthesized, synthesized.stack.ingest_api.api)
    checker_id = synthesized.logical_id(synthesized.stack.bearer_auth.checker.function)
    assert checker_id in json.dumps(authorizer["AuthorizerUri"])


@pytest.mark.parametrize(
    ("app", "seconds"), [("synthesized", 300), ("hardened", HARDENED["authorizer_cache_seconds"])]
)
def test_decisions_are_cached_as_long_as_the_context_says(
    app: str, seconds: int, request: pytest.FixtureRequest
) -> None:
    # Given the default app (300 s) and one with a shorter cache
    synthesized: Synthesized = request.getfixturevalue(app)
    # When the authorizer's cache period is read
    ttl = synthesized.properties("AWS::ApiGateway::Authorizer")["AuthorizerResultTtlInSeconds"]
    # Then it is the configured number of seconds
    assert ttl == seconds


@pytest.mark.parametrize(
    ("app", "reserved"),
    [
        ("synthesized", StackSettings.defaults()["authorizer_reserved_concurrency"]),
        ("hardened", HARDENED["authorizer_reserved_concurrency"]),
    ],
)
def test_the_function_runs_within_its_reserved_concurrency(
    app: str, reserved: int, request: pytest.FixtureRequest
) -> None:
    # Given the default app and one with another reservation
    synthesized: Synthesized = request.getfixturevalue(app)
    checker = synthesized.resource(synthesized.stack.bearer_auth.checker.function)
    # When the function's reserved concurrency is read
    # Then it is the configured number: callers without a credential, who reach the
    # authorizer before the API key is checked, cannot take more of the account's concurrency
    assert checker["Properties"]["ReservedConcurrentExecutions"] == reserved


def test_the_function_runs_the_authorizer_handler_within_its_limits(
    synthesized: Synthesized, checker: dict[str, Any]
) -> None:
    # Given the authorizer function / When its handler and limits are read
    # Then it runs the authorizer handler on the shared runtime and code asset, traced, with
    # a timeout far below API Gateway's
    assert checker["Handler"] == AUTHORIZER_HANDLER
    assert checker["Runtime"] == PYTHON_RUNTIME.name
    assert checker["Architectures"] == [ARCHITECTURE.name]
    assert checker["Timeout"] == StackLimits.AUTHORIZER_TIMEOUT_SECONDS
    assert checker["MemorySize"] == AUTHORIZER_MEMORY_MB
    assert checker["TracingConfig"] == {"Mode": "Active"}
    assert checker["Code"] == synthesized.ingest_function["Code"]


def test_the_code_asset_ships_the_authorizer_handler(
    synthesized: Synthesized, checker: dict[str, Any]
) -> None:
    # Given the staged code asset
    asset = synthesized.template_file.parent / f"asset.{checker['Code']['S3Key'][:-4]}"
    module = AUTHORIZER_HANDLER.rpartition(".")[0].replace(".", "/")
    # When the handler module is looked up / Then it is in the package, with the check
    assert (asset / f"{module}.py").is_file()
    assert (asset / "pandabridge" / "auth.py").is_file()


def test_the_function_is_told_which_secret_holds_the_tokens(
    synthesized: Synthesized, checker: dict[str, Any]
) -> None:
    # Given the function's environment / When the secret variable is read
    variables = checker["Environment"]["Variables"]
    # Then it names the stack's token secret (a secret's Ref is its ARN)
    assert variables[Env.BEARER_SECRET_ID] == _ref(
        synthesized, synthesized.stack.bearer_auth.secret
    )


def test_the_function_may_only_read_the_token_secret(synthesized: Synthesized) -> None:
    # Given the authorizer function role's statements
    bearer_auth = synthesized.stack.bearer_auth
    statements = synthesized.role_statements(bearer_auth.checker.role)
    logs = arn_of(synthesized.logical_id(bearer_auth.checker.log_group))
    # When each action is mapped to the resources it is allowed on
    # Then it reads the one secret and writes its own logs and traces; nothing else
    assert allowed(statements) == {
        "secretsmanager:GetSecretValue": allowing(_ref(synthesized, bearer_auth.secret)),
        "logs:CreateLogStream": allowing(logs),
        "logs:PutLogEvents": allowing(logs),
        "xray:PutTraceSegments": allowing(XRAY),
        "xray:PutTelemetryRecords": allowing(XRAY),
    }


def test_only_this_api_s_authorizer_may_invoke_the_function(synthesized: Synthesized) -> None:
    # Given the Lambda permissions on the authorizer function
    bearer_auth = synthesized.stack.bearer_auth
    function_arn = arn_of(synthesized.logical_id(bearer_auth.checker.function))
    permissions = [
        permission["Properties"]
        for permission in synthesized.resources("AWS::Lambda::Permission").values()
        if permission["Properties"]["FunctionName"] == function_arn
    ]
    # When their principals and sources are read
    # Then API Gateway is the only caller, and only as this API's authorizer
    assert len(permissions) == 1
    [permission] = permissions
    assert permission["Principal"] == "apigateway.amazonaws.com"
    source = json.dumps(permission["SourceArn"])
    assert "/authorizers/" in source
    assert synthesized.logical_id(bearer_auth.authorizer) in source


def test_the_token_is_generated_and_never_in_the_template(synthesized: Synthesized) -> None:
    # Given the token secret / When its definition is read
    secret = synthesized.resource(synthesized.stack.bearer_auth.secret)["Properties"]
    generator = secret["GenerateSecretString"]
    # Then Secrets Manager generates a long token without punctuation or spaces (safe to
    # paste into a header), and the template holds no value
    assert "SecretString" not in secret
    assert generator == {
        "SecretStringTemplate": "{}",
        "GenerateStringKey": GENERATED_TOKEN_KEY,
        "PasswordLength": Limits.BEARER_TOKEN_GENERATED_LENGTH,
        "ExcludePunctuation": True,
        "IncludeSpace": False,
    }


def test_the_generated_secret_has_a_shape_the_authorizer_accepts(
    synthesized: Synthesized,
) -> None:
    # Given the generator of the token secret
    generator = synthesized.resource(synthesized.stack.bearer_auth.secret)["Properties"][
        "GenerateSecretString"
    ]
    # When a value is generated as Secrets Manager does: the template plus the generated key
    token = "A1b2" * (generator["PasswordLength"] // 4)
    value = json.loads(generator["SecretStringTemplate"]) | {generator["GenerateStringKey"]: token}
    # Then the authorizer reads exactly that token from it
    assert valid_tokens(json.dumps(value)) == (token,)


def test_only_the_authorizer_may_read_the_token_secret(synthesized: Synthesized) -> None:
    # Given the token secret and every IAM policy of the stack
    bearer_auth = synthesized.stack.bearer_auth
    secret = _ref(synthesized, bearer_auth.secret)
    # When the roles whose policies mention the secret are collected
    readers = [
        role
        for policy in synthesized.resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if secret in resources_of(statement)
        for role in policy["Properties"]["Roles"]
    ]
    # Then the authorizer function's role is the only one
    assert readers == [_ref(synthesized, bearer_auth.checker.role)]


def test_a_request_without_the_header_is_challenged_for_a_bearer_token(
    synthesized: Synthesized,
) -> None:
    # Given the API's gateway responses / When the one for a missing identity is read
    responses = synthesized.resources("AWS::ApiGateway::GatewayResponse").values()
    [unauthorized] = [
        r["Properties"] for r in responses if r["Properties"]["ResponseType"] == "UNAUTHORIZED"
    ]
    # Then it is a JSON 401 that names the expected scheme (RFC 6750)
    assert unauthorized["StatusCode"] == "401"
    assert unauthorized["ResponseParameters"] == {
        "gatewayresponse.header.WWW-Authenticate": "'Bearer'"
    }
    assert set(unauthorized["ResponseTemplates"]) == {"application/json"}


@pytest.mark.parametrize("app", ["synthesized", "overridden"])
def test_api_gateway_refusals_are_json_messages(app: str, request: pytest.FixtureRequest) -> None:
    # Given an app with or without bearer auth
    synthesized: Synthesized = request.getfixturevalue(app)
    # When the default 4xx and 5xx gateway responses are read
    responses = {
        r["Properties"]["ResponseType"]: r["Properties"]
        for r in synthesized.resources("AWS::ApiGateway::GatewayResponse").values()
    }
    # Then every refusal of API Gateway's own (403 deny, 429, 5xx...) is {"message": ...}
    for response_type in ("DEFAULT_4XX", "DEFAULT_5XX"):
        template = responses[response_type]["ResponseTemplates"]["application/json"]
        assert template == '{"message":$context.error.messageString}'


def test_the_token_secret_name_is_an_output(synthesized: Synthesized) -> None:
    # Given the template's outputs / When the token secret's output is read
    output = synthesized.json["Outputs"]["BearerTokenSecretName"]
    # Then it names the secret and tells how to read the token to paste into BigPanda
    assert synthesized.logical_id(synthesized.stack.bearer_auth.secret) in json.dumps(
        output["Value"]
    )
    assert "get-secret-value" in output["Description"]
    assert "Authorization: Bearer" in output["Description"]


def test_with_bearer_auth_on_only_cognito_is_acknowledged(synthesized: Synthesized) -> None:
    # Given the default app / When the webhook method's acknowledgements are read
    acknowledged = _acknowledged(_method(synthesized))
    # Then APIG4 (no authorization) is satisfied; COG4 stays, as a Lambda authorizer is not
    # a Cognito one and BigPanda cannot sign in to a user pool
    assert acknowledged == {"AwsSolutions-COG4"}


def test_turning_bearer_auth_off_removes_it_all(overridden: Synthesized) -> None:
    # Given an app with bearer_auth_enabled=false
    # When the method, authorizers, secrets and outputs are read
    method = _method(overridden)["Properties"]
    secrets = overridden.resources("AWS::SecretsManager::Secret")
    # Then the method needs only the API key, and no authorizer, token secret or output exists
    assert overridden.stack.bearer_auth is None
    assert method["AuthorizationType"] == "NONE"
    assert "AuthorizerId" not in method
    assert overridden.resources("AWS::ApiGateway::Authorizer") == {}
    assert len(secrets) == 2  # the ticket credentials and BigPanda's API key
    assert "BearerTokenSecretName" not in overridden.json["Outputs"]
    responses = overridden.resources("AWS::ApiGateway::GatewayResponse").values()
    assert "UNAUTHORIZED" not in {r["Properties"]["ResponseType"] for r in responses}


def test_turning_bearer_auth_off_acknowledges_the_missing_authorizer(
    overridden: Synthesized,
) -> None:
    # Given an app with bearer_auth_enabled=false / When the method's acknowledgements are read
    rules = _method(overridden)["Metadata"]["cdk_nag"]["rules_to_suppress"]
    # Then both authorization findings are acknowledged, saying why and how to turn it on
    assert {rule["id"] for rule in rules} == {"AwsSolutions-APIG4", "AwsSolutions-COG4"}
    assert all("bearer_auth_enabled" in rule["reason"] for rule in rules)
