"""Incident identity: the storage key of the default integration is BigPanda's id as it is;
any other integration's is scoped, and reads back as the same key."""

from __future__ import annotations

import pytest

from pandabridge.identity import IncidentKey, is_integration_name

INTEGRATIONS = ("ops", "billing")


def test_the_default_integrations_storage_key_is_bigpandas_id() -> None:
    assert IncidentKey("default", "abc").storage_key == "abc"


def test_another_integrations_storage_key_is_scoped() -> None:
    assert IncidentKey("ops", "abc").storage_key == "ops#abc"


@pytest.mark.parametrize(
    "key",
    [
        IncidentKey("ops", "abc"),
        IncidentKey("ops", "a#b"),
        IncidentKey("default", "abc"),
        IncidentKey("default", "nobody#abc"),
    ],
)
def test_a_storage_key_parses_back_to_its_incident_key(key: IncidentKey) -> None:
    assert IncidentKey.parse(key.storage_key, INTEGRATIONS) == key


def test_a_default_id_shaped_like_an_integrations_key_collides_only_while_it_exists() -> None:
    key = IncidentKey("default", "ops#abc")
    assert key.collides(INTEGRATIONS)
    assert not key.collides(("billing",))


def test_a_scoped_key_never_collides() -> None:
    assert not IncidentKey("ops", "billing#abc").collides(INTEGRATIONS)


@pytest.mark.parametrize("name", ["ops", "team-db2", "a" * 32])
def test_valid_integration_names(name: str) -> None:
    assert is_integration_name(name)


@pytest.mark.parametrize("name", ["", "Ops", "1ops", "ops#x", "ops_db", "a" * 33, "ops/x"])
def test_invalid_integration_names(name: str) -> None:
    assert not is_integration_name(name)
