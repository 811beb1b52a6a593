"""The factory builds the target the settings name, and says which credential key is missing."""

from __future__ import annotations

import pytest
from ticket_support import CREDENTIALS, make, target_settings

from pandabridge.errors import PermanentError
from pandabridge.names import Env
from pandabridge.tickets.factory import build_target
from pandabridge.tickets.generic import GenericTarget
from pandabridge.tickets.jira import JiraTarget
from pandabridge.tickets.servicenow import ServiceNowTarget

BASE = "https://desk.example.com"


@pytest.mark.parametrize(
    ("kind", "adapter"),
    [("http", GenericTarget), ("jira", JiraTarget), ("servicenow", ServiceNowTarget)],
)
def test_settings_choose_the_adapter(kind: str, adapter: type) -> None:
    target = make(kind, BASE, CREDENTIALS[kind])
    assert isinstance(target, adapter)
    assert target.name == kind


def test_servicenow_accepts_a_token_instead_of_a_password() -> None:
    target = build_target(target_settings("servicenow", BASE), {"token": "t0ken-value"})
    assert isinstance(target, ServiceNowTarget)


@pytest.mark.parametrize(
    ("kind", "missing"),
    [("http", "hmac_secret"), ("jira", "api_token"), ("jira", "email"), ("servicenow", "password")],
)
def test_missing_credential_names_the_secret_and_the_key(kind: str, missing: str) -> None:
    # Given credentials without one key the target needs
    credentials = {k: v for k, v in CREDENTIALS[kind].items() if k != missing}
    # When the target is built, Then the error names the secret's variable and the key only
    with pytest.raises(PermanentError) as caught:
        make(kind, BASE, credentials)
    assert caught.value.setting == Env.TICKET_SECRET_ID
    assert f"'{missing}'" in caught.value.reason
    assert not [value for value in credentials.values() if value in str(caught.value)]


def test_empty_credential_counts_as_missing() -> None:
    with pytest.raises(PermanentError, match="'hmac_secret'"):
        build_target(target_settings("http", BASE), {"hmac_secret": " "})


def test_servicenow_without_any_credentials_mentions_both_ways() -> None:
    with pytest.raises(PermanentError, match=r"'username', 'password' \(or 'token'\)"):
        build_target(target_settings("servicenow", BASE), {})
