"""Fixtures shared by every test layer: the vendor sample and API Gateway events around it."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

EVENTS = Path(__file__).resolve().parents[1] / "events"

Payload = dict[str, Any]
EventFactory = Callable[..., dict[str, Any]]


@pytest.fixture(scope="session")
def sample_text() -> str:
    """BigPanda's documented sample payload, as the vendor publishes it."""
    return (EVENTS / "sample.json").read_text()


@pytest.fixture
def sample(sample_text: str) -> Payload:
    """A fresh copy of the sample, free to mutate."""
    return json.loads(sample_text)


@pytest.fixture(scope="session")
def console_event() -> dict[str, Any]:
    return json.loads((EVENTS / "apigateway" / "test-console-sample.json").read_text())


@pytest.fixture
def api_event(console_event: dict[str, Any]) -> EventFactory:
    """Builds the proxy event that the API Gateway test console sends for a body.

    ``api_event(payload)`` serializes a dict; ``api_event(text=...)`` sends text as is;
    ``base64=True`` encodes the body as API Gateway does for binary media types.
    """

    def build(
        payload: Payload | None = None,
        *,
        text: str | None = None,
        raw: bytes | None = None,
        base64_encoded: bool = False,
    ) -> dict[str, Any]:
        event = copy.deepcopy(console_event)
        body: bytes | str | None = raw if raw is not None else text
        if payload is not None:
            body = json.dumps(payload)
        if base64_encoded:
            data = body.encode() if isinstance(body, str) else (body or b"")
            body = base64.b64encode(data).decode("ascii")
        event["body"] = body
        event["isBase64Encoded"] = base64_encoded
        return event

    return build


def pytest_report_header() -> str:
    """Which interpreter the Lambda-set test runs the handlers on (tests/lambda_set)."""
    from lambda_set.interpreter import find

    return f"lambda set: handlers run isolated on {find().describe()}"
