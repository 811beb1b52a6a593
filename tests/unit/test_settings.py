"""A misconfigured function says which environment variable to fix."""

from __future__ import annotations

import pytest

from pandabridge.names import Env, Limits
from pandabridge.settings import ConfigurationError, StorageSettings

COMPLETE = {Env.INCIDENTS_TABLE: "incidents", Env.PAYLOAD_BUCKET: "payloads"}


def test_settings_are_read_from_the_environment() -> None:
    settings = StorageSettings.from_env(COMPLETE)
    assert settings.incidents_table_name == "incidents"
    assert settings.payload_bucket_name == "payloads"
    assert settings.inline_payload_max_bytes == Limits.INLINE_PAYLOAD_MAX_BYTES


@pytest.mark.parametrize("missing", [Env.INCIDENTS_TABLE, Env.PAYLOAD_BUCKET])
def test_missing_setting_names_the_variable(missing: str) -> None:
    environ = {k: v for k, v in COMPLETE.items() if k != missing}
    with pytest.raises(ConfigurationError, match=f"environment variable {missing}"):
        StorageSettings.from_env(environ)


def test_malformed_setting_names_the_variable() -> None:
    environ = COMPLETE | {Env.INLINE_PAYLOAD_MAX_BYTES: "lots"}
    with pytest.raises(ConfigurationError, match=Env.INLINE_PAYLOAD_MAX_BYTES):
        StorageSettings.from_env(environ)
