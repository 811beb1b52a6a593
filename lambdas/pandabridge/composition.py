"""Builds each function's collaborators from its settings: the one place that wires AWS
clients, stores and the ticket target together, so handlers stay thin and tests can build the
same objects against moto.

Both queue consumers import this module, but each needs only its own half: the ticket-sync
stack (the incident store, the reconciler and the service-desk adapters) is imported where it
is built, so that the callback function never pays for it; the ticket-sync handler imports it
during its own init.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any, Final

from aws_lambda_powertools.utilities import parameters

from pandabridge.aws_clients import client, secrets_provider
from pandabridge.bigpanda import BigPandaClient
from pandabridge.callbacks import Confirmer
from pandabridge.errors import NotConfiguredError, PermanentError
from pandabridge.http import HttpClient
from pandabridge.names import BIGPANDA_APP_KEY_SETTING, Env
from pandabridge.settings import (
    CallbackSettings,
    TicketTargetSettings,
    callback_settings,
    ticket_sync_settings,
    ticket_target_settings,
)
from pandabridge.stores.queues import CallbackQueue, QueueControl
from pandabridge.stores.tickets import CallbackLedger, TicketStateStore

if TYPE_CHECKING:
    from pandabridge.sync import Reconciler
    from pandabridge.tickets.model import TicketTarget

# Credentials are re-read at most this often, so a rotated secret is picked up within minutes
# without a call to Secrets Manager on every message.
SECRET_MAX_AGE_SECONDS: Final = 300


@cache
def queue_control() -> QueueControl:
    return QueueControl(client("sqs"))


@cache
def ticket_states() -> TicketStateStore:
    return TicketStateStore(ticket_sync_settings().tickets_table_name, client("dynamodb"))


# The name the ticket-sync tests reach the store by.
_ticket_states = ticket_states


@cache
def callback_ledger() -> CallbackLedger:
    return CallbackLedger(callback_settings().tickets_table_name, client("dynamodb"))


def bigpanda_api_key(settings: CallbackSettings) -> str:
    """BigPanda's User API key from Secrets Manager (cached), never logged."""
    secrets_provider()  # get_secret then reads through this process's session
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
    """A confirmer for this invocation: the ledger is reused, the API key re-checked.

    Without an app key no callback can succeed, so none is attempted (``NotConfiguredError``).
    """
    settings = callback_settings()
    if settings.app_key is None:
        raise NotConfiguredError(
            "the BigPanda app key is not set, so no callback can be sent",
            setting=BIGPANDA_APP_KEY_SETTING,
            variable=Env.BIGPANDA_APP_KEY,
        )
    bigpanda = BigPandaClient(
        api_base=settings.api_base,
        api_key=bigpanda_api_key(settings),
        app_key=settings.app_key,
        http=HttpClient(timeout_seconds=settings.timeout_seconds),
    )
    return Confirmer(ledger=callback_ledger(), bigpanda=bigpanda)


def ticket_credentials(settings: TicketTargetSettings) -> dict[str, Any]:
    """The target's credentials from Secrets Manager (cached), never logged."""
    secrets_provider()
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
    from pandabridge.tickets.factory import build_target  # ticket sync's own (module docstring)

    settings = ticket_target_settings()
    return build_target(settings, ticket_credentials(settings))


def reconciler() -> Reconciler:
    """A reconciler for this invocation: the stores are reused, the credentials re-checked."""
    from pandabridge.stores.incidents import default_store  # ticket sync's own (see above)
    from pandabridge.sync import Reconciler

    settings = ticket_sync_settings()
    return Reconciler(
        incidents=default_store(),
        states=ticket_states(),
        target=ticket_target(),
        callbacks=CallbackQueue(settings.callback_queue_url, client("sqs")),
        priority_tag=ticket_target_settings().priority_tag,
    )
