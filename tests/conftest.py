"""Fixtures shared by every test layer: the vendor sample and API Gateway events around it, and
the BigPanda stand-in (callbacks and the Incidents API v2) with a client of its API."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from local.demo.bigpanda import BigPandaStandIn
    from pandabridge.bigpanda_api import HttpBigPandaApi

EVENTS = Path(__file__).resolve().parents[1] / "events"

Payload = dict[str, Any]
EventFactory = Callable[..., dict[str, Any]]


class StoppedClock:
    """An epoch clock that moves only when a test moves it (``clock.now += 50``); it starts
    10.25 s into a minute (and 0.25 s into a second), so fixed windows are deterministic."""

    def __init__(self, now: float = 1_699_999_990.25) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# The User API key the BigPanda stand-in of ``bigpanda_stand_in`` accepts.
BIGPANDA_STAND_IN_KEY = "stand-in-user-api-key-7d4c1e92"


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


@pytest.fixture
def bigpanda_stand_in() -> Iterator[BigPandaStandIn]:
    """BigPanda's API on a loopback port (``local.demo.bigpanda``), fresh for the test: the
    callback service and the Incidents API v2 with its rate limits, knobs (``.api``) and the
    writes it accepted. It accepts ``BIGPANDA_STAND_IN_KEY``; share incidents with
    ``.api.share(payload)``."""
    from local.demo.bigpanda import BigPandaStandIn

    stand_in = BigPandaStandIn(BIGPANDA_STAND_IN_KEY).start()
    yield stand_in
    stand_in.stop()


@pytest.fixture
def bigpanda_api(bigpanda_stand_in: BigPandaStandIn) -> HttpBigPandaApi:
    """``HttpBigPandaApi`` on the stand-in, limited by an in-memory limiter on the same
    windows as the stand-in's, so it never meets a 429 it did not ask for."""
    from pandabridge.bigpanda_api import HttpBigPandaApi
    from pandabridge.http import HttpClient
    from pandabridge.rate_limit import MemoryRateLimiter, org_id

    return HttpBigPandaApi(
        bigpanda_stand_in.api_base,
        BIGPANDA_STAND_IN_KEY,
        HttpClient(timeout_seconds=5),
        MemoryRateLimiter(),
        org=org_id(bigpanda_stand_in.api_base, "stand-in"),
    )


def pytest_report_header() -> str:
    """Which interpreter the Lambda-set test runs the handlers on (tests/lambda_set)."""
    from lambda_set.interpreter import find

    return f"lambda set: handlers run isolated on {find().describe()}"
