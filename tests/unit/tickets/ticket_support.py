"""Constants and helpers shared by the ticket adapter tests (fixtures are in conftest.py)."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from pytest_httpserver import RequestHandler

from pandabridge.desk_config import DeskConfig, single_target
from pandabridge.http import HttpClient
from pandabridge.names import Env
from pandabridge.settings import TicketTargetSettings
from pandabridge.tickets.factory import build_target
from pandabridge.tickets.model import TicketTarget

# ``make_target(kind, url=..., credentials=..., client=...)`` (the conftest fixture).
TargetFactory = Callable[..., TicketTarget]
# ``expect(method, path, **matchers)``: registers an ordered request with the target's auth.
Expect = Callable[..., RequestHandler]

INCIDENT_ID = "5555370aabc20a001145d6g9"
# Generous for a local server, so that only the timeout test ever times out.
TIMEOUT_SECONDS = 2.0

CREDENTIALS: dict[str, dict[str, str]] = {
    "http": {"hmac_secret": "demo-hmac-secret-0123456789"},
    "jira": {"email": "bot@example.com", "api_token": "jira-api-token-0123456789"},
    "servicenow": {"username": "pandabridge", "password": "snow-password-0123456789"},
}
# The credential values that must never appear in a message (user names and e-mails may).
SECRETS: dict[str, list[str]] = {
    "http": [CREDENTIALS["http"]["hmac_secret"]],
    "jira": [CREDENTIALS["jira"]["api_token"]],
    "servicenow": [CREDENTIALS["servicenow"]["password"]],
}
# The desk configuration of each kind's target besides its kind and URL.
DESK_OPTIONS: dict[str, dict[str, Any]] = {
    "http": {},
    "jira": {"jira": {"project": "OPS", "issue_type": "Incident"}},
    "servicenow": {},
}


def basic(user: str, password: str) -> str:
    """The Basic header a server expects, computed apart from the code under test."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def target_settings(kind: str, base_url: str, **overrides: Any) -> TicketTargetSettings:
    values = {
        Env.TICKET_TARGET: kind,
        Env.TICKET_BASE_URL: base_url,
        Env.TICKET_SECRET_ID: "pandabridge/ticket-credentials",
        **overrides,
    }
    return TicketTargetSettings.model_validate(values)


def target_desk(kind: str, base_url: str, **options: Any) -> DeskConfig:
    """A desk configuration of one target of ``kind``: ``DESK_OPTIONS`` and ``options``."""
    return single_target(kind, base_url, **{**DESK_OPTIONS[kind], **options})  # type: ignore[arg-type]


def make(
    kind: str, base_url: str, credentials: dict[str, str], client: HttpClient | None = None
) -> TicketTarget:
    """The adapter as the factory builds it from the settings and the desk configuration."""
    desk = target_desk(kind, base_url)
    return build_target(target_settings(kind, base_url), credentials, client, desk=desk)
