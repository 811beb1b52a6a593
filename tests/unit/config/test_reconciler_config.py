"""The reconciler's keys of the configuration file: ``[reconciler]`` and each integration's
``environments`` and ``share_target``; their defaults, and mistakes named by key path."""

from __future__ import annotations

from typing import Any

import pytest

from pandabridge.desk_config import DeskConfigurationError, parse_config

TARGETS: dict[str, Any] = {"desk": {"kind": "http", "base_url": "https://desk.example.com"}}


def test_without_the_keys_every_integration_searches_all_and_takes_no_unseen_incident() -> None:
    # Given a file with no reconciler keys / When it is parsed
    config = parse_config({"targets": TARGETS})
    # Then the reconciler runs every 5 minutes with a 300 s overlap, searching "All", and
    # without a share target it never takes an incident it has not stored
    assert config.reconciler.model_dump() == {
        "enabled": True,
        "every_minutes": 5,
        "overlap_seconds": 300,
    }
    [default] = config.integration_settings.values()
    assert (default.environments, default.share_target) == (["All"], None)


def test_an_integration_names_its_environments_and_share_target() -> None:
    # Given an integration with its own environments and share target / When parsed
    section = {"environments": ["env-1", "env-2"], "share_target": "webhook.ops"}
    config = parse_config({"targets": TARGETS, "integrations": {"default": section}})
    # Then the reconciler reads them
    default = config.integration_settings["default"]
    assert (default.environments, default.share_target) == (["env-1", "env-2"], "webhook.ops")


@pytest.mark.parametrize(
    ("document", "key_path"),
    [
        ({"reconciler": {"every_minutes": 0}}, "reconciler.every_minutes"),
        ({"reconciler": {"overlap_seconds": -1}}, "reconciler.overlap_seconds"),
        ({"reconciler": {"every_minute": 5}}, "reconciler.every_minute"),
        ({"integrations": {"default": {"environments": []}}}, "integrations.default.environments"),
        ({"integrations": {"default": {"share_target": ""}}}, "integrations.default.share_target"),
    ],
    ids=["period-zero", "negative-overlap", "misspelt-key", "no-environment", "empty-target"],
)
def test_a_mistake_is_named_by_its_key_path(document: dict[str, Any], key_path: str) -> None:
    # Given a file with one mistake in the reconciler's keys
    # When it is parsed / Then the error names the key path
    with pytest.raises(DeskConfigurationError) as refused:
        parse_config({"targets": TARGETS} | document)
    assert [p.split(":")[0] for p in refused.value.problems] == [key_path]
