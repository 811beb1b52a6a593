"""The bearer-token authorizer on moto: the token secret lives in moto's Secrets Manager over
HTTP, read through Powertools Parameters as in AWS."""

from __future__ import annotations

import fnmatch
import io
import json
import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from aws_lambda_powertools.metrics.provider import cold_start
from aws_lambda_powertools.utilities import parameters
from botocore.exceptions import ClientError

from local.context import LambdaContext
from pandabridge.names import Env, Metric

CURRENT = "Cur4ent0token0of0forty0characters0000000"
PREVIOUS = "Prev1ous0token0of0forty0characters000000"
ACCOUNT = "123456789012"
API = "abcdef1234"
STAGE = "v1"
METHOD_ARN = f"arn:aws:execute-api:us-east-1:{ACCOUNT}:{API}/{STAGE}/POST/webhook"

Authorize = Callable[..., dict[str, Any]]


def authorizer_event(headers: dict[str, str]) -> dict[str, Any]:
    """A REST API REQUEST authorizer event for POST /webhook, as API Gateway sends it."""
    return {
        "type": "REQUEST",
        "methodArn": METHOD_ARN,
        "resource": "/webhook",
        "path": "/webhook",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": {},
        "multiValueQueryStringParameters": {},
        "pathParameters": {},
        "stageVariables": {},
        "requestContext": {
            "accountId": ACCOUNT,
            "apiId": API,
            "stage": STAGE,
            "requestId": str(uuid.uuid4()),
            "resourcePath": "/webhook",
            "httpMethod": "POST",
            "path": f"/{STAGE}/webhook",
            "identity": {"sourceIp": "203.0.113.9", "userAgent": "BigPanda"},
        },
    }


@pytest.fixture
def token_secret(secrets: Any, monkeypatch: pytest.MonkeyPatch) -> Callable[[Any], str]:
    """Stores a token secret (a dict as JSON, a string as is) under a fresh name, points the
    function at it, and returns the name. Fresh names keep Powertools' cache out of the way."""

    def store(value: Any) -> str:
        name = f"bearer-tokens/{uuid.uuid4()}"
        text = value if isinstance(value, str) else json.dumps(value)
        secrets.create_secret(Name=name, SecretString=text)
        monkeypatch.setenv(Env.BEARER_SECRET_ID, name)
        return name

    return store


@pytest.fixture
def authorize() -> Authorize:
    """Calls the real handler with an authorizer event carrying ``headers``."""
    from authorizer.handler import handler

    def call(headers: dict[str, str] | None = None, **header: str) -> dict[str, Any]:
        event = authorizer_event({**(headers or {}), **header})
        return handler(event, LambdaContext(function_name="authorizer"))

    return call


@pytest.fixture
def authorizer_logs() -> Iterator[io.StringIO]:
    """The function's log lines at DEBUG, formatted exactly as Powertools writes them."""
    from authorizer.handler import logger

    stream = io.StringIO()
    sink = logging.StreamHandler(stream)
    sink.setFormatter(logger.registered_formatter)
    target = logging.getLogger(logger.name)
    level = target.level
    target.setLevel(logging.DEBUG)
    target.addHandler(sink)
    yield stream
    target.removeHandler(sink)
    target.setLevel(level)


def _statement(answer: dict[str, Any]) -> dict[str, Any]:
    [statement] = answer["policyDocument"]["Statement"]
    return statement


def _metrics(out: str) -> dict[str, Any]:
    """The metric values of the EMF lines Powertools printed."""
    found: dict[str, Any] = {}
    for line in out.splitlines():
        if '"_aws"' in line:
            document = json.loads(line)
            names = document["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            found |= {metric["Name"]: document[metric["Name"]] for metric in names}
    return found


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_valid_token_is_allowed_on_the_method_it_was_asked_about(
    token_secret: Callable[[Any], str], authorize: Authorize
) -> None:
    # Given the generated secret shape / When BigPanda's request carries its token
    token_secret({"token": CURRENT})
    answer = authorize(_bearer(CURRENT))
    # Then an explicit Allow for exactly the method ARN of the request: API Gateway applies
    # the cached policy to the same header on other paths, which it must not open
    assert answer["principalId"] == "bigpanda"
    assert _statement(answer) == {
        "Action": "execute-api:Invoke",
        "Effect": "Allow",
        "Resource": [METHOD_ARN],
    }


def test_the_allowed_resource_covers_no_other_api_stage_or_path(
    token_secret: Callable[[Any], str], authorize: Authorize
) -> None:
    # Given an allowed request / When the policy's resource is matched as IAM matches it
    token_secret({"token": CURRENT})
    [resource] = _statement(authorize(_bearer(CURRENT)))["Resource"]
    # Then it covers the method ARN of the request, and no other API, stage or path
    assert fnmatch.fnmatchcase(METHOD_ARN, resource)
    assert not fnmatch.fnmatchcase(METHOD_ARN.replace(f"/{STAGE}/", "/prod/"), resource)
    assert not fnmatch.fnmatchcase(METHOD_ARN.replace(API, "otherapi00"), resource)
    assert not fnmatch.fnmatchcase(f"{METHOD_ARN}/ops", resource)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": f"Basic {CURRENT}"},
        {"Authorization": "Bearer not-the-token-but-long-enough"},
        {"Authorization": f"Bearer {CURRENT[:-1]}"},
    ],
)
def test_a_missing_or_wrong_token_gets_an_explicit_deny(
    token_secret: Callable[[Any], str], authorize: Authorize, headers: dict[str, str]
) -> None:
    # Given the token secret / When the request has no header, another scheme or another token
    token_secret({"token": CURRENT})
    answer = authorize(headers)
    # Then the answer is an explicit Deny (a policy, not an error) of the method asked about
    assert _statement(answer) == {
        "Action": "execute-api:Invoke",
        "Effect": "Deny",
        "Resource": [METHOD_ARN],
    }


def test_a_rejection_is_counted_and_logged_with_its_reason(
    token_secret: Callable[[Any], str],
    authorize: Authorize,
    authorizer_logs: io.StringIO,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given the token secret / When a request carries an unknown token
    token_secret({"token": CURRENT})
    authorize(_bearer("an-unknown-token-0123456789"))
    # Then AuthorizerRejected is published and the warning says why and from where
    assert _metrics(capsys.readouterr().out)[Metric.AUTHORIZER_REJECTED] == [1.0]
    [line] = [json.loads(line) for line in authorizer_logs.getvalue().splitlines()]
    assert line["level"] == "WARNING"
    assert line["reason"] == "the bearer token is not a valid token"
    assert line["source_ip"] == "203.0.113.9"


def test_an_allowed_request_is_not_counted_as_rejected(
    token_secret: Callable[[Any], str], authorize: Authorize, capsys: pytest.CaptureFixture[str]
) -> None:
    token_secret({"token": CURRENT})
    authorize(_bearer(CURRENT))
    assert Metric.AUTHORIZER_REJECTED not in _metrics(capsys.readouterr().out)


def test_a_cold_start_publishes_no_metric_of_its_own(
    token_secret: Callable[[Any], str],
    authorize: Authorize,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a fresh execution environment: each ColdStart metric (per function) is billed
    # monthly, and Lambda's REPORT line already gives every cold start's init duration
    monkeypatch.setattr(cold_start, "is_cold_start", True)
    token_secret({"token": CURRENT})
    # When the first request is authorized
    authorize(_bearer(CURRENT))
    # Then no ColdStart metric is published
    assert "ColdStart" not in _metrics(capsys.readouterr().out)


@pytest.mark.parametrize("token", [CURRENT, PREVIOUS])
def test_during_a_rotation_both_tokens_are_allowed(
    token_secret: Callable[[Any], str], authorize: Authorize, token: str
) -> None:
    # Given the rotation shape with the new and the old token / When either is sent
    token_secret({"tokens": [CURRENT, PREVIOUS]})
    # Then it is allowed
    assert _statement(authorize(_bearer(token)))["Effect"] == "Allow"


def test_a_rotated_secret_is_read_again_once_the_cache_expires(
    token_secret: Callable[[Any], str], secrets: Any, authorize: Authorize
) -> None:
    # Given a secret whose old token was allowed, then dropped from the secret
    name = token_secret({"tokens": [CURRENT, PREVIOUS]})
    assert _statement(authorize(_bearer(PREVIOUS)))["Effect"] == "Allow"
    secrets.put_secret_value(SecretId=name, SecretString=json.dumps({"token": CURRENT}))
    # When Powertools' cached copy expires
    parameters.clear_caches()
    # Then the old token is denied and the new one still allowed
    assert _statement(authorize(_bearer(PREVIOUS)))["Effect"] == "Deny"
    assert _statement(authorize(_bearer(CURRENT)))["Effect"] == "Allow"


def test_nothing_secret_reaches_the_logs_or_metrics(
    token_secret: Callable[[Any], str],
    authorize: Authorize,
    authorizer_logs: io.StringIO,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given two valid tokens and an unknown one
    token_secret({"tokens": [CURRENT, PREVIOUS]})
    unknown = "an-unknown-token-0123456789"
    # When requests are allowed and refused, with the logger at DEBUG
    authorize(_bearer(CURRENT))
    authorize(_bearer(unknown))
    authorize({"Authorization": f"Basic {PREVIOUS}"})
    # Then no token, valid or not, is in any log line or metric document
    written = authorizer_logs.getvalue() + capsys.readouterr().out
    assert written
    for secret in (CURRENT, PREVIOUS, unknown):
        assert secret not in written


@pytest.mark.parametrize(
    "value",
    [
        {"token": "too-short"},
        {"tokens": [CURRENT, PREVIOUS, "a-third-token-0123456789"]},
        {"tokens": []},
        {"password": CURRENT},
        "not json at all",
        json.dumps([CURRENT]),
    ],
)
def test_a_misconfigured_secret_denies_and_names_the_setting(
    token_secret: Callable[[Any], str],
    authorize: Authorize,
    authorizer_logs: io.StringIO,
    capsys: pytest.CaptureFixture[str],
    value: Any,
) -> None:
    # Given a token secret of the wrong shape
    token_secret(value)
    # When a request carries a token the secret mentions
    answer = authorize(_bearer(CURRENT))
    # Then it is denied, never allowed; an error names the setting and the misconfiguration
    # is counted, so that it can alarm
    assert _statement(answer)["Effect"] == "Deny"
    errors = [
        json.loads(line)
        for line in authorizer_logs.getvalue().splitlines()
        if json.loads(line)["level"] == "ERROR"
    ]
    assert len(errors) == 1
    assert errors[0]["setting"] == Env.BEARER_SECRET_ID
    assert Env.BEARER_SECRET_ID in errors[0]["message"]
    assert CURRENT not in authorizer_logs.getvalue()
    assert _metrics(capsys.readouterr().out)[Metric.AUTHORIZER_MISCONFIGURED] == [1.0]


def test_a_secret_that_does_not_exist_denies_and_names_the_setting(
    secrets: Any,
    monkeypatch: pytest.MonkeyPatch,
    authorize: Authorize,
    authorizer_logs: io.StringIO,
) -> None:
    # Given a function pointed at a secret that does not exist
    monkeypatch.setenv(Env.BEARER_SECRET_ID, f"bearer-tokens/{uuid.uuid4()}")
    # When a request arrives / Then it is denied, and the error names the setting
    assert _statement(authorize(_bearer(CURRENT)))["Effect"] == "Deny"
    assert Env.BEARER_SECRET_ID in authorizer_logs.getvalue()


def test_a_function_without_its_setting_denies_and_names_it(
    secrets: Any,
    monkeypatch: pytest.MonkeyPatch,
    authorize: Authorize,
    authorizer_logs: io.StringIO,
) -> None:
    # Given a function deployed without the secret's variable
    monkeypatch.delenv(Env.BEARER_SECRET_ID, raising=False)
    # When a request arrives / Then it is denied, and the error names the variable
    assert _statement(authorize(_bearer(CURRENT)))["Effect"] == "Deny"
    assert f"environment variable {Env.BEARER_SECRET_ID}" in authorizer_logs.getvalue()


def test_a_passing_secrets_manager_failure_fails_the_invocation_uncached(
    token_secret: Callable[[Any], str],
    monkeypatch: pytest.MonkeyPatch,
    authorize: Authorize,
    authorizer_logs: io.StringIO,
) -> None:
    # Given Secrets Manager throttles the function's read of the token secret
    from authorizer.handler import SecretUnavailableError

    token_secret({"token": CURRENT})

    def throttled(*_: Any, **__: Any) -> Any:
        error = {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}
        try:
            raise ClientError(error, "GetSecretValue")
        except ClientError as exc:
            raise parameters.exceptions.GetParameterError(str(exc))  # noqa: B904 - as Powertools

    monkeypatch.setattr(parameters, "get_secret", throttled)
    # When a request arrives / Then the invocation fails (API Gateway answers 500 and caches
    # nothing), rather than a Deny that API Gateway would keep for BigPanda's token
    with pytest.raises(SecretUnavailableError):
        authorize(_bearer(CURRENT))
    assert Env.BEARER_SECRET_ID in authorizer_logs.getvalue()
    assert CURRENT not in authorizer_logs.getvalue()
