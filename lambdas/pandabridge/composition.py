"""Builds each function's collaborators from its settings: the one place that wires AWS
clients, stores and the ticket target together, so handlers stay thin and tests can build the
same objects against moto."""

from __future__ import annotations

from functools import cache
from typing import Any, Final

import boto3
from aws_lambda_powertools.utilities import parameters

from pandabridge.bigpanda import BigPandaClient
from pandabridge.callbacks import Confirmer
from pandabridge.errors import PermanentError
from pandabridge.http import HttpClient
from pandabridge.names import Env
from pandabridge.settings import (
    CallbackSettings,
    TicketTargetSettings,
    callback_settings,
    ticket_sync_settings,
    ticket_target_settings,
)
from pandabridge.stores.incidents import AWS_CLIENT_CONFIG, default_store
from pandabridge.stores.queues import CallbackQueue, QueueControl
from pandabridge.stores.tickets import CallbackLedger, TicketStateStore
from pandabridge.sync import Reconciler
from pandabridge.tickets.factory import build_target
from pandabridge.tickets.model import TicketTarget

# Credentials are re-read at most this often, so a rotated secret is picked up within minutes
# without a call to Secrets Manager on every message.
SECRET_MAX_AGE_SECONDS: Final = 300


@cache
def _client(service: str) -> Any:
    return boto3.client(service, config=AWS_CLIENT_CONFIG)  # type: ignore[call-overload]


@cache
def queue_control() -> QueueControl:
    return QueueControl(_client("sqs"))


@cache
def _ticket_states() -> TicketStateStore:
    return TicketStateStore(ticket_sync_settings().tickets_table_name, _client("dynamodb"))


@cache
def _callback_ledger() -> CallbackLedger:
    return CallbackLedger(callback_settings().tickets_table_name, _client("dynamodb"))


def bigpanda_api_key(settings: CallbackSettings) -> str:
    """BigPanda's User API key from Secrets Manager (cached), never logged."""
    try:
        value = parameters.get_secret(settings.secret_id, max_age=SECRET_MAX_AGE_SECONDS)
    except parameters.exceptions.GetParameterError:
        raise PermanentError(
            "the BigPanda API key secret cannot be read", setting=Env.BIGPANDA_SECRET_ID
        ) from None
    if not isinstance(value, str) or not value.strip():
        raise PermanentError(
            "the BigPanda API key secret holds no key (a plain string is expected)",
            setting=Env.BIGPANDA_SECRET_ID,
        )
    return value.strip()


def confirmer() -> Confirmer:
    """A confirmer for this invocation: the ledger is reused, the API key re-checked."""
    settings = callback_settings()
    client = BigPandaClient(
        api_base=settings.api_base,
        api_key=bigpanda_api_key(settings),
        app_key=settings.app_key,
        http=HttpClient(timeout_seconds=settings.timeout_seconds),
    )
    return Confirmer(ledger=_callback_ledger(), bigpanda=client)


def ticket_credentials(settings: TicketTargetSettings) -> dict[str, Any]:
    """The target's credentials from Secrets Manager (cached), never logged."""
    try:
        value = parameters.get_secret(
            settings.secret_id, transform="json", max_age=SECRET_MAX_AGE_SECONDS
        )
    except parameters.exceptions.TransformParameterError:
        raise PermanentError(
            "the ticket credentials secret is not a JSON object", setting=Env.TICKET_SECRET_ID
        ) from None
    except parameters.exceptions.GetParameterError:
        raise PermanentError(
            "the ticket credentials secret cannot be read", setting=Env.TICKET_SECRET_ID
        ) from None
    if not isinstance(value, dict):
        raise PermanentError(
            "the ticket credentials secret is not a JSON object", setting=Env.TICKET_SECRET_ID
        )
    return value


def ticket_target() -> TicketTarget:
    settings = ticket_target_settings()
    return build_target(settings, ticket_credentials(settings))


def reconciler() -> Reconciler:
    """A reconciler for this invocation: the stores are reused, the credentials re-checked."""
    settings = ticket_sync_settings()
    return Reconciler(
        incidents=default_store(),
        states=_ticket_states(),
        target=ticket_target(),
        callbacks=CallbackQueue(settings.callback_queue_url, _client("sqs")),
        priority_tag=ticket_target_settings().priority_tag,
    )
