"""The desk configuration file at synth: a mistake in it stops the synth naming its key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from stacks.application import build_app
from stacks.config import ConfigurationError


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    return tmp_path / "desk.toml"


def _build_with(config_file: Path, text: str) -> None:
    config_file.write_text(text, encoding="utf-8")
    build_app(context={"config_file": str(config_file)})


def test_a_bad_value_stops_the_synth_naming_its_key_path(config_file: Path) -> None:
    # Given a Jira target whose priority map gives P2 neither a name nor an id
    text = """
[targets.ops-jira]
kind = "jira"
base_url = "https://acme.atlassian.net"
[targets.ops-jira.jira]
project = "OPS"
[targets.ops-jira.fields]
priority_map = { P1 = "Highest", P2 = { label = "High" }, P3 = "Medium", P4 = "Low", P5 = "Lowest" }
"""
    # When the app is built / Then the synth stops naming the file's key path
    with pytest.raises(ConfigurationError, match=r"targets\.ops-jira\.fields\.priority_map\.P2"):
        _build_with(config_file, text)


def test_an_unknown_placeholder_stops_the_synth(config_file: Path) -> None:
    # Given a summary template with a placeholder that does not exist
    text = """
[targets.desk]
kind = "http"
base_url = "https://desk.example.com"
[targets.desk.fields]
summary = "{priority} {hostname}"
"""
    # When the app is built / Then the synth stops naming the key and the placeholder
    with pytest.raises(ConfigurationError, match=r"targets\.desk\.fields\.summary: .*\{hostname\}"):
        _build_with(config_file, text)


def test_a_plain_http_address_stops_the_synth(config_file: Path) -> None:
    # Given a deployed target on http://, which would send credentials in the clear
    text = '[targets.desk]\nkind = "servicenow"\nbase_url = "http://acme.service-now.com"\n'
    # When the app is built / Then the synth stops naming the key
    with pytest.raises(ConfigurationError, match=r"targets\.desk\.base_url: .*https://"):
        _build_with(config_file, text)


def test_a_missing_file_stops_the_synth_naming_the_setting(tmp_path: Path) -> None:
    # Given a config_file that does not exist / When the app is built
    # Then the synth stops naming the setting and the file
    missing = tmp_path / "absent.toml"
    with pytest.raises(ConfigurationError, match=r"context key 'config_file'.*absent\.toml"):
        build_app(context={"config_file": str(missing)})
