"""Fixtures of the desk stand-ins' own tests: each fake started on a loopback port, and a
plain urllib3 client that speaks to it over real HTTP."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest
import urllib3
from adapter_support import CLIENT_TIMEOUT_SECONDS
from fakes_support import (
    DESK_SECRET,
    SNOW_PASSWORD,
    SNOW_TOKEN,
    SNOW_USER,
    DeskCall,
    SnowCall,
)

from local.demo.service_desk import DemoDesk
from local.fakes.jira import JiraFake
from local.fakes.servicenow import ServiceNowFake
from pandabridge.http import HttpClient
from pandabridge.tickets.generic import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, sign


@pytest.fixture
def pool() -> Iterator[urllib3.PoolManager]:
    pool = urllib3.PoolManager(retries=False)
    yield pool
    pool.clear()


@pytest.fixture
def client() -> Iterator[HttpClient]:
    """The adapters' client, on its own pool, with a timeout that a late answer exceeds."""
    pool = urllib3.PoolManager(retries=False)
    yield HttpClient(timeout_seconds=CLIENT_TIMEOUT_SECONDS, pool=pool)
    pool.clear()


@pytest.fixture
def jira() -> Iterator[JiraFake]:
    """A Jira Cloud fake with the default project OPS, stopped after the test."""
    fake = JiraFake().start()
    yield fake
    fake.stop()


@pytest.fixture
def snow_fake() -> Iterator[ServiceNowFake]:
    fake = ServiceNowFake(username=SNOW_USER, password=SNOW_PASSWORD, token=SNOW_TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture
def snow(snow_fake: ServiceNowFake, pool: urllib3.PoolManager) -> SnowCall:
    """Calls the fake's Table API with Basic authentication (``auth=False``: none)."""
    basic = "Basic " + base64.b64encode(f"{SNOW_USER}:{SNOW_PASSWORD}".encode()).decode()

    def call(
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        timeout: float = 2.0,
        auth: bool = True,
        headers: dict[str, str] | None = None,
        **query: str,
    ) -> urllib3.BaseHTTPResponse:
        sent = {"Accept": "application/json", **({"Authorization": basic} if auth else {})}
        if body is not None:
            sent["Content-Type"] = "application/json"
        url = snow_fake.url.rstrip("/") + path + (f"?{urlencode(query)}" if query else "")
        return pool.request(
            method,
            url,
            body=json.dumps(body).encode() if body is not None else None,
            headers={**sent, **(headers or {})},
            timeout=timeout,
        )

    return call


@pytest.fixture
def incident(snow: SnowCall) -> dict[str, str]:
    """A new incident, as the fake answered its create."""
    answer = snow("POST", "/api/now/table/incident", {"short_description": "Disk full"})
    return answer.json()["result"]


@pytest.fixture
def desk() -> Iterator[DemoDesk]:
    """The generic ``http`` contract's stand-in: the demo desk, with its fault knobs."""
    running = DemoDesk(DESK_SECRET).start()
    yield running
    running.stop()


@pytest.fixture
def desk_call(desk: DemoDesk, pool: urllib3.PoolManager) -> DeskCall:
    """Sends one contract request, signed with the desk's secret."""

    def call(
        method: str,
        path: str,
        document: object = None,
        *,
        timeout: float = 2.0,
        headers: dict[str, str] | None = None,
    ) -> urllib3.BaseHTTPResponse:
        body = json.dumps(document).encode() if document is not None else b""
        sent = {"Content-Type": "application/json", SIGNATURE_HEADER: sign(body, DESK_SECRET)}
        return pool.request(
            method,
            desk.url.rstrip("/") + path,
            body=body if document is not None else None,
            headers={**sent, **(headers or {})},
            timeout=timeout,
        )

    return call


@pytest.fixture
def ticket(desk_call: DeskCall) -> dict[str, str]:
    """A ticket on the desk, as its create answered."""
    document = {
        "incident_id": "incident-1",
        "title": "Disk full",
        "description": "",
        "priority": "P2",
        "status": "open",
        "incident_url": None,
        "labels": [],
    }
    return desk_call(
        "POST", "/tickets", document, headers={IDEMPOTENCY_HEADER: "incident-1"}
    ).json()
