"""API Gateway REST proxy integration: the event it hands a function and the answer it expects.

The event carries every field that API Gateway fills for a REST API with an API key, so
a handler sees locally what it sees behind the real gateway. A function answer that the real
gateway would refuse as a malformed proxy response is refused here as well.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl

from moto.core import DEFAULT_ACCOUNT_ID

# Identifiers that a deployed API has; fixed so that local events are stable and readable.
LOCAL_API_ID = "localapigw"
LOCAL_RESOURCE_ID = "webhook"
LOCAL_DEPLOYMENT_ID = "localdeploy"

_PROXY_RESPONSE_KEYS = frozenset(
    {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}
)


@dataclass(frozen=True)
class IncomingRequest:
    """What the gateway received, before it becomes a proxy event."""

    method: str
    resource: str
    path: str
    query: str
    headers: Sequence[tuple[str, str]]
    body: bytes
    source_ip: str
    port: int
    api_key: str | None = None
    api_key_id: str | None = None
    path_parameters: Mapping[str, str] | None = None


@dataclass(frozen=True)
class HttpResponse:
    """What the gateway writes back to the client."""

    status: int
    headers: Sequence[tuple[str, str]]
    body: bytes


class MalformedResponseError(ValueError):
    """The function's answer is not a valid proxy response (API Gateway answers 502)."""


def gateway_error(
    status: HTTPStatus,
    message: str,
    error_type: str | None = None,
    headers: Sequence[tuple[str, str]] = (),
) -> HttpResponse:
    """An answer produced by API Gateway itself, in its JSON shape and headers; ``headers``
    are those a gateway response of the stack adds (the bearer challenge of a 401)."""
    sent = [("Content-Type", "application/json")]
    if error_type:
        sent.append(("x-amzn-ErrorType", error_type))
    sent += headers
    return HttpResponse(int(status), sent, json.dumps({"message": message}).encode())


def _trace_id(received_at: float) -> str:
    """An X-Ray trace header in the format that API Gateway adds."""
    return f"Root=1-{int(received_at):08x}-{secrets.token_hex(12)}"


def _first(pairs: Sequence[tuple[str, str]], name: str) -> str | None:
    return next((value for key, value in pairs if key.lower() == name), None)


def _body_fields(body: bytes) -> tuple[str | None, bool]:
    """Text bodies go as they are; bytes that are not UTF-8 go base64-encoded and flagged."""
    if not body:
        return None, False
    try:
        return body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), True


def _single_and_multi(
    pairs: Sequence[tuple[str, str]],
) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    """API Gateway's two views of repeated names: the last value, and every value in order."""
    if not pairs:
        return None, None
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in pairs:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi


def build_event(
    request: IncomingRequest, *, stage: str, request_id: str, received_at: float
) -> dict[str, Any]:
    """The REST proxy event for ``request``, field for field as API Gateway builds it."""
    headers_in = [*request.headers]
    # A regional endpoint adds these before calling the integration.
    headers_in += [
        ("X-Amzn-Trace-Id", _trace_id(received_at)),
        ("X-Forwarded-For", request.source_ip),
        ("X-Forwarded-Port", str(request.port)),
        ("X-Forwarded-Proto", "http"),
    ]
    headers, multi_headers = _single_and_multi(headers_in)
    query, multi_query = _single_and_multi(parse_qsl(request.query, keep_blank_values=True))
    host = _first(headers_in, "host") or ""
    body, is_base64 = _body_fields(request.body)
    return {
        "resource": request.resource,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": dict(request.path_parameters) if request.path_parameters else None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": LOCAL_RESOURCE_ID,
            "resourcePath": request.resource,
            "httpMethod": request.method,
            "extendedRequestId": request_id,
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(received_at)),
            "path": f"/{stage}{request.path}",
            "accountId": DEFAULT_ACCOUNT_ID,
            "protocol": "HTTP/1.1",
            "stage": stage,
            "domainPrefix": host.split(".", 1)[0],
            "requestTimeEpoch": int(received_at * 1000),
            "requestId": request_id,
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": request.source_ip,
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": _first(headers_in, "user-agent"),
                "user": None,
                "apiKey": request.api_key,
                "apiKeyId": request.api_key_id,
            },
            "domainName": host,
            "deploymentId": LOCAL_DEPLOYMENT_ID,
            "apiId": LOCAL_API_ID,
        },
        "body": body,
        "isBase64Encoded": is_base64,
    }


def _header_value(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise MalformedResponseError(f"header value {value!r} is not a string or number")
    return str(value)


def _merged_headers(result: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``headers`` and ``multiValueHeaders`` merged; a name in both keeps the multi values."""
    single = result.get("headers") or {}
    multi = result.get("multiValueHeaders") or {}
    if not isinstance(single, Mapping) or not isinstance(multi, Mapping):
        raise MalformedResponseError("headers and multiValueHeaders must be objects")
    merged: list[tuple[str, str]] = []
    multi_names = {str(name).lower() for name in multi}
    for name, values in multi.items():
        if not isinstance(values, list):
            raise MalformedResponseError(f"multiValueHeaders[{name!r}] is not a list")
        merged += [(str(name), _header_value(value)) for value in values]
    merged += [
        (str(name), _header_value(value))
        for name, value in single.items()
        if str(name).lower() not in multi_names
    ]
    return merged


def _status(value: object) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 100 <= value <= 599:
        raise MalformedResponseError(f"statusCode {value!r} is not an HTTP status code")
    return value


def to_http_response(result: object) -> HttpResponse:
    """The HTTP answer for a function's proxy response, or ``MalformedResponseError``."""
    if not isinstance(result, Mapping):
        raise MalformedResponseError("the function did not return an object")
    unknown = set(result) - _PROXY_RESPONSE_KEYS
    if unknown:
        raise MalformedResponseError(f"unexpected fields {sorted(unknown)}")
    status = _status(result.get("statusCode"))
    headers = _merged_headers(result)
    body = result.get("body")
    if body is not None and not isinstance(body, str):
        raise MalformedResponseError("body must be a string")
    raw = (body or "").encode("utf-8")
    if result.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(raw, validate=True)
        except ValueError as exc:
            raise MalformedResponseError("isBase64Encoded is set but body is not base64") from exc
    if not any(name.lower() == "content-type" for name, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return HttpResponse(status, headers, raw)
