"""The API functions' JSON answers: one shape for every function behind the REST API."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types


def json_response(status: HTTPStatus, body: dict[str, Any]) -> Response:
    """``body`` as JSON with ``status``; refusals carry ``{"message", "errors"}``."""
    return Response(
        status_code=status.value, content_type=content_types.APPLICATION_JSON, body=body
    )


def error_response(status: HTTPStatus, message: str) -> Response:
    """A refusal or a failure, in the shape API Gateway's own errors take."""
    return json_response(status, {"message": message, "errors": []})
