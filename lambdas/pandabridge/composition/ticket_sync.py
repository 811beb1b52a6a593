"""The ticket-sync function's collaborators: the reconciler and what it works with."""

from __future__ import annotations

from functools import cache
from typing import Any, Final

from pandabridge.aws_clients import client
from pandabridge.composition.ingest import incident_store
from pandabridge.composition.secrets import read_secret
from pandabridge.composition.write_back import desk_events, echo_ledger, mirror
from pandabridge.desk_config import DeskConfig, load_config, single_target
from pandabridge.errors import PermanentError
from pandabridge.names import Env
from pandabridge.settings import (
    TicketTargetSettings,
    ticket_sync_settings,
    ticket_target_settings,
)
from pandabridge.stores.queues import CallbackQueue
from pandabridge.stores.tickets import TicketStateStore
from pandabridge.sync import Reconciler, UpdatePolicy
from pandabridge.tickets.factory import build_target
from pandabridge.tickets.model import TicketTarget
from pandabridge.write_back import Mirror

__all__ = ["desk_events", "desk_mirror", "reconciler"]


@cache
def ticket_states() -> TicketStateStore:
    return TicketStateStore(ticket_sync_settings().tickets_table_name, client("dynamodb"))


def ticket_credentials(settings: TicketTargetSettings) -> dict[str, Any]:
    """The target's credentials from Secrets Manager (cached), never logged."""
    value = read_secret(
        settings.secret_id,
        what="ticket credentials",
        setting=Env.TICKET_SECRET_ID,
        transform="json",
    )
    if not isinstance(value, dict):
        raise PermanentError(
            "the ticket credentials secret is not a JSON object", setting=Env.TICKET_SECRET_ID
        )
    return value


@cache
def desk_config() -> DeskConfig:
    """The desk configuration, read and validated once per process (at the first message).

    A bad file raises ``DeskConfigurationError`` (a ``ConfigurationError``) naming each key
    path; it is not cached, so every message fails with it, logged at ERROR, until the stack
    ships a good file. Without ``DESK_CONFIG_FILE`` every key keeps its default.
    """
    settings = ticket_target_settings()
    if settings.desk_config_file:
        return load_config(settings.desk_config_file)
    return single_target(settings.target, settings.base_url)


def ticket_target() -> TicketTarget:
    settings = ticket_target_settings()
    return build_target(settings, ticket_credentials(settings), desk=desk_config())


def desk_mirror() -> Mirror | None:
    """Write-back of desk events, when the target is two-way."""
    return mirror(desk_config(), ticket_states())


def reconciler() -> Reconciler:
    """A reconciler for this invocation: the stores are reused, the credentials re-checked.

    With ``two_way``, it records its desk writes in the echo ledger and writes the ticket link
    to BigPanda once after the create."""
    settings = ticket_sync_settings()
    desk = desk_config()
    links = desk_mirror()
    two_way = (
        {"ledger": echo_ledger(), "links": links, "link_tag": links.settings.link_tag}
        if links is not None
        else {}
    )
    return Reconciler(
        incidents=incident_store(),
        states=ticket_states(),
        target=ticket_target(),
        callbacks=CallbackQueue(settings.callback_queue_url, client("sqs")),
        **reconciler_options(desk),
        **two_way,
    )


def reconciler_options(desk: DeskConfig) -> dict[str, Any]:
    """What the desk configuration sets on the reconciler: the draft's templates and priority
    tag, the update policy, and how long an unseen create is waited out."""
    target = desk.selected
    return {
        "mapping": target.draft_mapping,
        "update_policy": update_policy(desk),
        "create_outcome_window_seconds": target.create_outcome_window_seconds,
    }


# The file's words for the update policy, and the draft's names of the fields.
_POLICY: Final = {"sync": "sync", "create": "create_only"}
_DRAFT_FIELD: Final = {"summary": "title"}


def update_policy(desk: DeskConfig) -> UpdatePolicy:
    """The reconciler's update policy from ``targets.<name>.update``."""
    return UpdatePolicy(
        **{_DRAFT_FIELD.get(key, key): _POLICY[mode] for key, mode in desk.update_policy.items()}
    )
