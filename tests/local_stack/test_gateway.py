"""The local gateway over real HTTP, in front of a recording function: API Gateway's rules.

The function here records what it receives, so that these tests see the proxy event and the
gateway's own answers without AWS behind it; the stack tests cover the real handler.
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import time
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import pytest

from local import defaults
from local.client import authorization
from local.functions import invoke
from local.gateway import LocalGateway, Route
from pandabridge.auth import DENIED_MESSAGE, UNAUTHORIZED_MESSAGE
from pandabridge.names import AUTHORIZATION_HEADER, WEBHOOK_PATH, Limits
from tests.local_stack.harness import HttpAnswer, http_request

KEY = "gateway-test-key"
# Two valid tokens, as the secret holds them during a rotation.
TOKEN = "gateway-test-token-9b27e4c1d5"
PREVIOUS_TOKEN = "gateway-test-token-previous-0f3a"
BEARER = authorization(TOKEN)
# The headers of a request that passes both checks.
CREDENTIALS = {defaults.API_KEY_HEADER: KEY, AUTHORIZATION_HEADER: BEARER}
OK_RESPONSE = {
    "statusCode": 200,
    "headers": {"Content-Type": "application/json"},
    "body": json.dumps({"ok": True}),
    "isBase64Encoded": False,
}
MIB = 1024 * 1024


class Recorder:
    """A handler that records its calls and answers what the test sets."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict[str, Any], Any]] = []
        self.respond: Callable[[dict[str, Any]], Any] = lambda _event: OK_RESPONSE

    def reset(self) -> None:
        self.calls.clear()
        self.respond = lambda _event: OK_RESPONSE

    def __call__(self, event: dict[str, Any], context: Any) -> Any:
        self.calls.append((event, context))
        return self.respond(event)

    @property
    def event(self) -> dict[str, Any]:
        assert len(self.calls) == 1, f"{len(self.calls)} calls"
        return self.calls[0][0]


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[LocalGateway, Recorder]]:
    recorder = Recorder()
    route = Route("POST", WEBHOOK_PATH, partial(invoke, recorder, function_name="recorder"))
    gateway = LocalGateway([route], KEY, bearer_tokens=[TOKEN, PREVIOUS_TOKEN]).start()
    yield gateway, recorder
    gateway.stop()


@pytest.fixture
def gateway(served: tuple[LocalGateway, Recorder]) -> LocalGateway:
    return served[0]


@pytest.fixture
def recorder(served: tuple[LocalGateway, Recorder]) -> Recorder:
    recorder = served[1]
    recorder.reset()
    return recorder


def post(
    gateway: LocalGateway, body: bytes = b"{}", path: str = WEBHOOK_PATH, **headers: str
) -> HttpAnswer:
    sent = {"Content-Type": "application/json", **CREDENTIALS, **headers}
    return http_request("POST", gateway.url(path), body, sent)


def post_without(gateway: LocalGateway, *names: str, **headers: str) -> HttpAnswer:
    """POST ``{}`` with the credentials but those named, and with ``headers`` added."""
    kept = {name: value for name, value in CREDENTIALS.items() if name not in names}
    sent = {"Content-Type": "application/json", **kept, **headers}
    return http_request("POST", gateway.url(WEBHOOK_PATH), b"{}", sent)


def streamed(size: int) -> Iterator[bytes]:
    while size > 0:
        chunk = b" " * min(size, MIB)
        size -= len(chunk)
        yield chunk


def test_function_gets_a_rest_proxy_event(gateway: LocalGateway, recorder: Recorder) -> None:
    # Given a request with a query string and a repeated header
    connection = http.client.HTTPConnection(defaults.HOST, gateway.port, timeout=10)
    connection.putrequest("POST", f"{WEBHOOK_PATH}?a=1&a=2&b=")
    connection.putheader(defaults.API_KEY_HEADER, KEY)
    connection.putheader(AUTHORIZATION_HEADER, BEARER)
    connection.putheader("X-Tag", "first")
    connection.putheader("X-Tag", "second")
    connection.putheader("Content-Length", "2")
    connection.endheaders(b"{}")
    # When the gateway calls the function
    response = connection.getresponse()
    response.read()
    connection.close()
    # Then the event has every field API Gateway fills, in its shapes
    event = recorder.event
    assert response.status == 200
    assert event["resource"] == event["path"] == WEBHOOK_PATH
    assert event["httpMethod"] == "POST"
    assert event["headers"]["X-Tag"] == "second"
    assert event["multiValueHeaders"]["X-Tag"] == ["first", "second"]
    assert event["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert event["headers"][AUTHORIZATION_HEADER] == BEARER
    assert event["queryStringParameters"] == {"a": "2", "b": ""}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": [""]}
    assert event["pathParameters"] is None
    assert event["stageVariables"] is None
    assert event["body"] == "{}"
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["requestId"] == response.headers["x-amzn-RequestId"]
    assert context["stage"] == defaults.STAGE
    assert context["resourcePath"] == WEBHOOK_PATH
    assert context["httpMethod"] == "POST"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["apiKey"] == KEY
    assert context["identity"]["apiKeyId"]
    assert abs(context["requestTimeEpoch"] / 1000 - time.time()) < 60


def test_function_gets_a_lambda_context(gateway: LocalGateway, recorder: Recorder) -> None:
    # When a request reaches the function
    post(gateway)
    # Then the context has what Powertools reads
    context = recorder.calls[0][1]
    assert context.function_name == "recorder"
    assert context.invoked_function_arn.endswith(":function:recorder")
    assert context.aws_request_id
    assert context.memory_limit_in_mb > 0
    assert context.get_remaining_time_in_millis() > 0


def test_api_key_header_name_is_case_insensitive(gateway: LocalGateway, recorder: Recorder) -> None:
    # When the key comes in a header spelled in capitals
    answer = post_without(gateway, defaults.API_KEY_HEADER, **{"X-API-KEY": KEY})
    # Then it is accepted
    assert answer.status == 200
    assert len(recorder.calls) == 1


def test_request_without_authorization_gets_401_with_the_bearer_challenge(
    gateway: LocalGateway, recorder: Recorder
) -> None:
    # When a request carries the API key but no Authorization header
    answer = post_without(gateway, AUTHORIZATION_HEADER)
    # Then API Gateway's 401 comes back, naming the scheme, and the function is not called
    assert answer.status == 401
    assert answer.json() == {"message": UNAUTHORIZED_MESSAGE}
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert answer.headers["x-amzn-ErrorType"] == "UnauthorizedException"
    assert recorder.calls == []


@pytest.mark.parametrize("value", ["", "   "], ids=["empty", "blank"])
def test_an_empty_authorization_header_counts_as_missing(
    gateway: LocalGateway, recorder: Recorder, value: str
) -> None:
    # When the Authorization header is there but empty
    answer = post(gateway, **{AUTHORIZATION_HEADER: value})
    # Then it is a 401, as API Gateway answers an empty identity source without the authorizer
    assert answer.status == 401
    assert answer.headers["WWW-Authenticate"] == "Bearer"
    assert recorder.calls == []


@pytest.mark.parametrize(
    "value",
    [
        "Bearer wrong-token-000000000000",
        f"Basic {TOKEN}",
        TOKEN,
        "Bearer",
        f"Bearer {TOKEN} {TOKEN}",
        f"Bearer {TOKEN}x",
    ],
    ids=["unknown token", "other scheme", "no scheme", "no token", "two tokens", "longer token"],
)
def test_a_refused_authorization_header_gets_the_authorizers_deny(
    gateway: LocalGateway, recorder: Recorder, value: str
) -> None:
    # When the Authorization header carries no valid bearer token
    answer = post(gateway, **{AUTHORIZATION_HEADER: value})
    # Then API Gateway's answer to the authorizer's Deny comes back, without a challenge
    assert answer.status == 403
    assert answer.json() == {"message": DENIED_MESSAGE}
    assert answer.headers["x-amzn-ErrorType"] == "AccessDeniedException"
    assert "WWW-Authenticate" not in answer.headers
    assert recorder.calls == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        (AUTHORIZATION_HEADER, f"bearer {TOKEN}"),
        (AUTHORIZATION_HEADER, f"BEARER {TOKEN}"),
        (AUTHORIZATION_HEADER, f"Bearer   {TOKEN}  "),
        ("authorization", BEARER),
        (AUTHORIZATION_HEADER, authorization(PREVIOUS_TOKEN)),
    ],
    ids=["scheme lower case", "scheme upper case", "extra spaces", "name lower case", "2nd token"],
)
def test_bearer_tokens_are_read_as_the_authorizer_reads_them(
    gateway: LocalGateway, recorder: Recorder, name: str, value: str
) -> None:
    # When a valid token comes in another spelling, or is the secret's second token
    answer = post_without(gateway, AUTHORIZATION_HEADER, **{name: value})
    # Then it is allowed
    assert answer.status == 200
    assert len(recorder.calls) == 1


@pytest.mark.parametrize(
    ("value", "status", "message"),
    [
        (None, 401, UNAUTHORIZED_MESSAGE),
        ("Bearer wrong-token-000000000000", 403, DENIED_MESSAGE),
        (BEARER, 403, "Forbidden"),
    ],
    ids=["no token", "wrong token", "valid token"],
)
def test_the_bearer_token_is_checked_before_the_api_key(
    gateway: LocalGateway, recorder: Recorder, value: str | None, status: int, message: str
) -> None:
    # Given a request without the API key
    headers = {} if value is None else {AUTHORIZATION_HEADER: value}
    # When it is posted
    answer = post_without(gateway, defaults.API_KEY_HEADER, AUTHORIZATION_HEADER, **headers)
    # Then the authorizer's answer comes first; only an allowed request meets the key check
    assert answer.status == status
    assert answer.json() == {"message": message}
    assert recorder.calls == []


def test_request_without_authorization_is_refused_before_its_body_is_sent(
    gateway: LocalGateway, recorder: Recorder
) -> None:
    # Given a client that waits for 100-continue before sending its body, and no token
    head = (
        f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: local\r\n{defaults.API_KEY_HEADER}: {KEY}\r\n"
        "Content-Length: 2\r\nExpect: 100-continue\r\n\r\n"
    )
    # When it sends only the headers
    with socket.create_connection((defaults.HOST, gateway.port), timeout=5) as client:
        client.sendall(head.encode())
        reply = b""
        while chunk := client.recv(65536):
            reply += chunk
    # Then the 401 comes back at once, with its challenge
    head_lines, _, body = reply.partition(b"\r\n\r\n")
    assert head_lines.startswith(b"HTTP/1.1 401 Unauthorized\r\n")
    assert b"\r\nWWW-Authenticate: Bearer\r\n" in head_lines
    assert json.loads(body) == {"message": UNAUTHORIZED_MESSAGE}
    assert recorder.calls == []


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/other"), ("GET", WEBHOOK_PATH), ("DELETE", WEBHOOK_PATH), ("POST", "/")],
)
def test_other_resources_and_methods_answer_missing_authentication_token(
    gateway: LocalGateway, recorder: Recorder, method: str, path: str
) -> None:
    # When a resource or method that the API does not have is asked for
    answer = http_request(method, gateway.url(path), None, CREDENTIALS)
    # Then API Gateway's answer comes back and the function is not called
    assert answer.status == 403
    assert answer.json() == {"message": "Missing Authentication Token"}
    assert recorder.calls == []


def test_body_that_is_not_utf8_arrives_base64_encoded(
    gateway: LocalGateway, recorder: Recorder
) -> None:
    # Given bytes that are not UTF-8
    raw = b'{"a": "\xff\xfe"}'
    # When they are posted
    post(gateway, raw)
    # Then the function gets them intact, base64-encoded and flagged
    assert recorder.event["isBase64Encoded"] is True
    assert base64.b64decode(recorder.event["body"]) == raw


def test_empty_body_arrives_as_none(gateway: LocalGateway, recorder: Recorder) -> None:
    # When a request has no body
    post(gateway, b"")
    # Then the event's body is null, as API Gateway sends it
    assert recorder.event["body"] is None
    assert recorder.event["isBase64Encoded"] is False


def test_oversized_body_is_refused_before_it_is_sent(
    gateway: LocalGateway, recorder: Recorder
) -> None:
    # Given a client that announces a body over the limit and waits for 100-continue, as curl
    head = (
        f"POST {WEBHOOK_PATH} HTTP/1.1\r\nHost: local\r\n{defaults.API_KEY_HEADER}: {KEY}\r\n"
        f"{AUTHORIZATION_HEADER}: {BEARER}\r\n"
        f"Content-Length: {Limits.API_GATEWAY_MAX_BODY_BYTES + 1}\r\n"
        "Expect: 100-continue\r\n\r\n"
    )
    # When it sends only the headers
    with socket.create_connection((defaults.HOST, gateway.port), timeout=5) as client:
        client.sendall(head.encode())
        reply = b""
        while chunk := client.recv(65536):
            reply += chunk
    # Then 413 comes back at once, and the connection is closed
    status_line, _, rest = reply.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 413 Request Entity Too Large"
    assert json.loads(rest.split(b"\r\n\r\n", 1)[1]) == {"message": "Request Too Long"}
    assert recorder.calls == []


def test_chunked_body_over_the_limit_gets_413(gateway: LocalGateway, recorder: Recorder) -> None:
    # Given a chunked body that turns out longer than the limit
    connection = http.client.HTTPConnection(defaults.HOST, gateway.port, timeout=30)
    headers = {**CREDENTIALS, "Transfer-Encoding": "chunked"}
    # When it is streamed
    connection.request(
        "POST",
        WEBHOOK_PATH,
        body=streamed(Limits.API_GATEWAY_MAX_BODY_BYTES + 1),
        headers=headers,
        encode_chunked=True,
    )
    response = connection.getresponse()
    body = response.read()
    connection.close()
    # Then it is refused without reaching the function
    assert response.status == 413
    assert json.loads(body) == {"message": "Request Too Long"}
    assert recorder.calls == []


def test_event_over_lambdas_payload_limit_gets_413(
    gateway: LocalGateway, recorder: Recorder
) -> None:
    # Given a body under API Gateway's limit whose event is over Lambda's
    body = b"x" * Limits.LAMBDA_SYNC_MAX_PAYLOAD_BYTES
    # When it is posted
    answer = post(gateway, body)
    # Then API Gateway's answer to Lambda's refusal comes back
    assert answer.status == 413
    assert answer.json() == {"message": "Request Too Long"}
    assert recorder.calls == []


def test_function_that_raises_gives_502(gateway: LocalGateway, recorder: Recorder) -> None:
    # Given a function that fails
    def fail(_event: dict[str, Any]) -> Any:
        raise RuntimeError("boom")

    recorder.respond = fail
    # When it is called
    answer = post(gateway)
    # Then the client gets API Gateway's 502, not the error
    assert answer.status == 502
    assert answer.json() == {"message": "Internal server error"}


@pytest.mark.parametrize(
    "response",
    [
        {"statusCode": 200, "body": "{}", "unexpected": 1},
        {"statusCode": "abc", "body": "{}"},
        {"statusCode": 200, "body": {"not": "a string"}},
        ["not", "an", "object"],
    ],
    ids=["unknown field", "bad status", "body not a string", "not an object"],
)
def test_malformed_proxy_response_gives_502(
    gateway: LocalGateway, recorder: Recorder, response: Any
) -> None:
    # Given a function whose answer is not a valid proxy response
    recorder.respond = lambda _event: response
    # When it is called
    answer = post(gateway)
    # Then API Gateway answers 502
    assert answer.status == 502
    assert answer.json() == {"message": "Internal server error"}


def test_base64_response_body_is_decoded(gateway: LocalGateway, recorder: Recorder) -> None:
    # Given a function that answers a base64-encoded body
    recorder.respond = lambda _event: {
        "statusCode": 200,
        "headers": {"Content-Type": "application/octet-stream"},
        "body": base64.b64encode(b"\x00\x01binary").decode(),
        "isBase64Encoded": True,
    }
    # When it is called
    answer = post(gateway)
    # Then the client gets the decoded bytes
    assert answer.body == b"\x00\x01binary"


def test_response_headers_and_multi_value_headers_are_merged(
    gateway: LocalGateway, recorder: Recorder
) -> None:
    # Given a function that answers both header maps
    recorder.respond = lambda _event: {
        "statusCode": 201,
        "headers": {"X-Single": "one", "X-Both": "from-headers"},
        "multiValueHeaders": {"X-Multi": ["a", "b"], "X-Both": ["from-multi"]},
        "body": "{}",
    }
    # When it is called
    answer = post(gateway)
    # Then both reach the client, the multi-value map winning for a name in both
    assert answer.status == 201
    assert answer.headers.get_all("X-Multi") == ["a", "b"]
    assert answer.headers["X-Single"] == "one"
    assert answer.headers.get_all("X-Both") == ["from-multi"]
    assert answer.headers["Content-Type"] == "application/json"
