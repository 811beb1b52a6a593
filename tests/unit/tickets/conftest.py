"""Fixtures for the ticket adapters: the sample as a draft, settings, credentials and a client
that talks to pytest-httpserver over real HTTP."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3
from pytest_httpserver import HTTPServer
from ticket_support import CREDENTIALS, TIMEOUT_SECONDS, TargetFactory, make

from pandabridge.http import HttpClient
from pandabridge.models import WebhookPayload
from pandabridge.tickets.mapping import draft_for
from pandabridge.tickets.model import Assignee, TicketDraft, TicketTarget


@pytest.fixture
def payload(sample: dict[str, Any]) -> WebhookPayload:
    return WebhookPayload.model_validate(sample)


@pytest.fixture
def draft(payload: WebhookPayload) -> TicketDraft:
    return draft_for(payload, priority_tag=None)


@pytest.fixture
def assignee() -> Assignee:
    return Assignee(user_id="bp-user-1", email="Din.Djarin@example.com", name="Din Djarin")


@pytest.fixture
def http_client() -> Iterator[HttpClient]:
    """A client on its own pool, so that no kept-alive connection crosses tests."""
    pool = urllib3.PoolManager(retries=False)
    yield HttpClient(timeout_seconds=TIMEOUT_SECONDS, pool=pool)
    pool.clear()


@pytest.fixture
def base_url(httpserver: HTTPServer) -> str:
    return httpserver.url_for("").rstrip("/")


@pytest.fixture
def closed_port_url() -> str:
    """A local URL where nothing listens: connecting is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def make_target(base_url: str, http_client: HttpClient) -> TargetFactory:
    """``make_target(kind)`` builds the adapter through the factory, against the test server
    unless ``url`` says otherwise."""

    def build(
        kind: str,
        *,
        url: str | None = None,
        credentials: dict[str, str] | None = None,
        client: HttpClient | None = None,
    ) -> TicketTarget:
        return make(kind, url or base_url, credentials or CREDENTIALS[kind], client or http_client)

    return build


@pytest.fixture(autouse=True)
def _server_saw_only_expected_requests(httpserver: HTTPServer) -> Iterator[None]:
    """Fails a test whose code sent a request that no handler expected."""
    yield
    httpserver.check_assertions()
