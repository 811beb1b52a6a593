"""The local stack's desk configuration: the file it starts from, pointed at the local desk,
written as TOML that the function reads back unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

from local.defaults import DESK_EVENTS_SECRET_NAME
from local.desk_config import LOCAL_TARGET, local_desk_config, write_local_config
from pandabridge.desk_config import DeskConfigurationError, load_config

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
LOCAL_URL = "http://127.0.0.1:8090/"


def test_a_file_of_the_desks_kind_keeps_every_key_but_the_address(tmp_path: Path) -> None:
    # Given the Jira example and a local Jira desk
    source = load_config(EXAMPLES / "jira.toml")
    # When it is pointed at the local desk and written, then read back as the function does
    path, written = write_local_config(EXAMPLES / "jira.toml", "jira", LOCAL_URL, tmp_path)
    # Then only the address and the events secret (the local stack's) differ, and the TOML
    # holds exactly that
    assert source.selected.two_way is not None
    two_way = source.selected.two_way.model_copy(update={"events_secret": DESK_EVENTS_SECRET_NAME})
    expected = source.selected.model_copy(update={"base_url": LOCAL_URL, "two_way": two_way})
    assert written.selected == expected
    assert load_config(path).selected == expected


def test_a_file_of_another_kind_keeps_its_shared_keys_for_a_fake(tmp_path: Path) -> None:
    # Given the Jira example and the local ServiceNow fake
    source = load_config(EXAMPLES / "jira.toml")
    # When it is pointed at the fake
    target = local_desk_config(source, "servicenow", LOCAL_URL).selected
    # Then the templates, priority tag and update policy stay; the Jira sections go
    assert (target.kind, target.fields.summary, target.priority_tag) == (
        "servicenow",
        source.selected.fields.summary,
        "priority",
    )
    assert target.update == source.selected.update
    assert (target.jira, target.workflow) == (None, None)


def test_a_real_jira_desk_needs_a_jira_file() -> None:
    # Given the ServiceNow example and a real Jira desk (--ticket-url)
    source = load_config(EXAMPLES / "servicenow.toml")
    # When it is pointed at that desk / Then no project is made up: the key is named
    with pytest.raises(DeskConfigurationError, match=r"targets\.local\.jira\.project: required"):
        local_desk_config(source, "jira", "https://acme.atlassian.net", fake=False)


def test_a_file_with_integrations_keeps_them_and_points_each_routed_target_at_its_desk() -> None:
    # Given the worked example of two integrations routed to an http desk and a Jira project
    source = load_config(EXAMPLES / "integrations.toml")
    # When it is pointed at the local desk, with a demo desk for the other routed target
    config = local_desk_config(source, "http", LOCAL_URL, routed={"db-jira": "http://127.0.0.1:9/"})
    # Then the chosen target is the local desk under its local name, the routes and targets
    # naming it are renamed with it, and the Jira one is a demo desk keeping its secret's name
    assert config.target_name == LOCAL_TARGET
    assert config.targets[LOCAL_TARGET].base_url == LOCAL_URL
    assert config.targets["db-jira"].kind == "http"
    assert config.targets["db-jira"].secret == "pandabridge/db-jira"
    payments = config.integrations["payments"]
    assert payments.target == LOCAL_TARGET
    assert [route.target for route in payments.routes] == ["db-jira"]
    assert payments.token_secret == source.integrations["payments"].token_secret
