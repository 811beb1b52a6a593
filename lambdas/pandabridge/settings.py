"""Function settings, read once from the environment into a validated model.

A missing or malformed setting fails the first invocation with an error that names the
environment variable, instead of a ``KeyError`` deep inside a store.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pandabridge.names import Env, Limits

S = TypeVar("S", bound=BaseModel)


class ConfigurationError(RuntimeError):
    """A setting is missing or malformed; the message names the environment variable."""


class StorageSettings(BaseModel):
    """Where incidents and their raw payloads are stored (the ingest function and its readers)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    incidents_table_name: str = Field(alias=Env.INCIDENTS_TABLE, min_length=1)
    payload_bucket_name: str = Field(alias=Env.PAYLOAD_BUCKET, min_length=1)
    inline_payload_max_bytes: int = Field(
        alias=Env.INLINE_PAYLOAD_MAX_BYTES,
        default=Limits.INLINE_PAYLOAD_MAX_BYTES,
        gt=0,
        le=300_000,
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> StorageSettings:
        return _load(cls, environ)


def _load(model: type[S], environ: Mapping[str, str]) -> S:
    names = {field.alias for field in model.model_fields.values() if field.alias}
    try:
        return model.model_validate({k: v for k, v in environ.items() if k in names})
    except ValidationError as exc:
        problems = "; ".join(
            f"environment variable {'.'.join(map(str, err['loc']))}: {err['msg']}"
            for err in exc.errors()
        )
        raise ConfigurationError(f"invalid function configuration: {problems}") from None


@cache
def storage_settings() -> StorageSettings:
    """The storage settings of this process, read on first use."""
    return StorageSettings.from_env()
