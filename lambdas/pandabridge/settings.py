"""Function settings, read once from the environment into a validated model.

A missing or malformed setting fails the first invocation with an error that names the
environment variable, instead of a ``KeyError`` deep inside a store.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, Json, ValidationError

from pandabridge.names import BIGPANDA_API_BASE, DEFAULT_LINK_TAG, Env, Limits

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


class IngestSettings(StorageSettings):
    """The ingest function's: the storage, and write-back's ticket-link tag, which the content
    hash leaves out (``pandabridge.own_writes``)."""

    link_tag: str = Field(alias=Env.LINK_TAG, default=DEFAULT_LINK_TAG, min_length=1)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> IngestSettings:
        return _load(cls, environ)


TargetKind = Literal["http", "jira", "servicenow"]


class TicketTargetSettings(BaseModel):
    """Which service desk tickets go to, and how to reach it; how incidents map onto it is in
    the desk configuration file that ``desk_config_file`` names."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    target: TargetKind = Field(alias=Env.TICKET_TARGET)
    base_url: str = Field(alias=Env.TICKET_BASE_URL, pattern=r"^https?://[^\s]+$")
    secret_id: str = Field(alias=Env.TICKET_SECRET_ID, min_length=1)
    timeout_seconds: float = Field(alias=Env.TICKET_TIMEOUT_SECONDS, default=10, gt=0, le=30)
    desk_config_file: str | None = Field(alias=Env.DESK_CONFIG_FILE, default=None, min_length=1)

    @property
    def api_base(self) -> str:
        return self.base_url.rstrip("/")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> TicketTargetSettings:
        return _load(cls, environ)


class TicketSyncSettings(StorageSettings):
    """What the ticket-sync function needs besides the incident storage."""

    tickets_table_name: str = Field(alias=Env.TICKETS_TABLE, min_length=1)
    callback_queue_url: str = Field(alias=Env.CALLBACK_QUEUE_URL, min_length=1)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> TicketSyncSettings:
        return _load(cls, environ)


class BigPandaIntegration(BaseModel):
    """One integration's BigPanda account, as the stack renders ``[integrations.<name>]``:
    its app key, API base URL and the secret NAME with its User API key (default: the
    stack's)."""

    model_config = ConfigDict(frozen=True)

    app_key: str | None = Field(default=None, min_length=1)
    api_base: str = Field(default=BIGPANDA_API_BASE, pattern=r"^https?://[^\s]+$")
    key_secret: str | None = Field(default=None, min_length=1)


class BigPandaApiSettings(BaseModel):
    """BigPanda's API as the functions that call it reach it (the callback, and write-back in
    the ticket-sync function): the API base and the secret holding the User API key."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    api_base: str = Field(
        alias=Env.BIGPANDA_API_BASE, default=BIGPANDA_API_BASE, pattern=r"^https?://[^\s]+$"
    )
    secret_id: str = Field(alias=Env.BIGPANDA_SECRET_ID, min_length=1)
    timeout_seconds: float = Field(
        alias=Env.BIGPANDA_TIMEOUT_SECONDS, default=Limits.BIGPANDA_TIMEOUT_SECONDS, gt=0, le=20
    )
    # Every integration but default; the default's account is the fields above.
    integrations: Json[dict[str, BigPandaIntegration]] = Field(
        alias=Env.BIGPANDA_INTEGRATIONS, default_factory=dict
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> BigPandaApiSettings:
        return _load(cls, environ)


class CallbackSettings(BigPandaApiSettings):
    """What the callback function needs: where to record confirmations, and BigPanda's API.

    The app key may be absent: the stack is deployed once without it, to learn the webhook
    URL that BigPanda's integration (which issues the key) needs. Each callback then waits,
    refused by ``composition.callback.confirmer`` with an error that names the setting.
    """

    tickets_table_name: str = Field(alias=Env.TICKETS_TABLE, min_length=1)
    app_key: str | None = Field(alias=Env.BIGPANDA_APP_KEY, default=None, min_length=1)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> CallbackSettings:
        return _load(cls, environ)


class ControlTableSettings(BaseModel):
    """Where the control table is (``names.CONTROL_TABLE``): read on its own by each function
    that keeps coordination items there (rate-limit windows, desk events, ledgers)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    control_table_name: str = Field(alias=Env.CONTROL_TABLE, min_length=1)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> ControlTableSettings:
        return _load(cls, environ)


class ReconcilerSettings(BigPandaApiSettings):
    """What the reconciler needs besides the incident storage and the control table: the
    configuration file (integrations, environments, share targets, ``[reconciler]``), and the
    stack's BigPanda API for the default integration."""

    desk_config_file: str = Field(alias=Env.DESK_CONFIG_FILE, min_length=1)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> ReconcilerSettings:
        return _load(cls, environ)


class DeskEventSettings(BaseModel):
    """What the desk-events function needs: where events are stored and queued, the tickets
    they are matched with, and the desk configuration naming each target's events secret."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    control_table_name: str = Field(alias=Env.CONTROL_TABLE, min_length=1)
    tickets_table_name: str = Field(alias=Env.TICKETS_TABLE, min_length=1)
    ticket_sync_queue_url: str = Field(alias=Env.TICKET_SYNC_QUEUE_URL, min_length=1)
    desk_config_file: str = Field(alias=Env.DESK_CONFIG_FILE, min_length=1)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> DeskEventSettings:
        return _load(cls, environ)


def dead_letter_queue_url(variable: str, environ: Mapping[str, str] = os.environ) -> str:
    """The URL of a consumer's DLQ, read on its own: a message that can never succeed must
    reach the DLQ even while the settings that the work itself needs are missing or wrong."""
    url = environ.get(variable, "").strip()
    if not url:
        raise ConfigurationError(
            f"invalid function configuration: environment variable {variable}: Field required"
        )
    return url


def _load(model: type[S], environ: Mapping[str, str]) -> S:
    names = {field.alias for field in model.model_fields.values() if field.alias}
    try:
        return model.model_validate({k: v for k, v in environ.items() if k in names})
    except ValidationError as exc:
        problems = "; ".join(
            f"environment variable {'.'.join(map(str, err['loc']))}: {err['msg']}"
            if err["loc"]
            else err["msg"].removeprefix("Value error, ")
            for err in exc.errors()
        )
        raise ConfigurationError(f"invalid function configuration: {problems}") from None


@cache
def storage_settings() -> StorageSettings:
    """The storage settings of this process, read on first use."""
    return StorageSettings.from_env()


@cache
def ingest_settings() -> IngestSettings:
    return IngestSettings.from_env()


@cache
def ticket_sync_settings() -> TicketSyncSettings:
    return TicketSyncSettings.from_env()


@cache
def ticket_target_settings() -> TicketTargetSettings:
    return TicketTargetSettings.from_env()


@cache
def callback_settings() -> CallbackSettings:
    return CallbackSettings.from_env()


@cache
def bigpanda_api_settings() -> BigPandaApiSettings:
    return BigPandaApiSettings.from_env()


@cache
def control_table_settings() -> ControlTableSettings:
    return ControlTableSettings.from_env()


@cache
def reconciler_settings() -> ReconcilerSettings:
    return ReconcilerSettings.from_env()


@cache
def desk_event_settings() -> DeskEventSettings:
    return DeskEventSettings.from_env()
