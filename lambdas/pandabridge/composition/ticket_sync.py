"""The ticket-sync function's collaborators: the reconciler and what it works with.

With routes, one function serves several targets: each incident's nudge is synced by the
reconciler of the target its ticket state names (``pandabridge.routing.StickyRouter``), built
from that target's section of the desk configuration and its own credentials secret
(``targets.<name>.secret``, else the stack's ticket secret).
"""

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
from pandabridge.routing import StickyRouter
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


def ticket_credentials(
    settings: TicketTargetSettings, setting: str = Env.TICKET_SECRET_ID
) -> dict[str, Any]:
    """The target's credentials from Secrets Manager (cached), never logged; ``setting`` is
    what an error names to fix."""
    value = read_secret(
        settings.secret_id, what="ticket credentials", setting=setting, transform="json"
    )
    if not isinstance(value, dict):
        raise PermanentError("the ticket credentials secret is not a JSON object", setting=setting)
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


def routed_desk(name: str | None = None) -> DeskConfig:
    """The desk configuration as seen by the target ``name`` (the file's default when none):
    its ``selected`` target and key paths are that target's."""
    desk = desk_config()
    if name is None or name == desk.target_name:
        return desk
    return desk.model_copy(update={"target": name})


def target_settings(desk: DeskConfig) -> tuple[TicketTargetSettings, str]:
    """How to reach ``desk``'s selected target, and the setting that names its secret."""
    stack = ticket_target_settings()
    config = desk.selected
    if config.secret is None:
        secret, setting = stack.secret_id, Env.TICKET_SECRET_ID
    else:
        secret, setting = config.secret, desk.key("secret")
    settings = TicketTargetSettings(
        target=config.kind,
        base_url=config.base_url,
        secret_id=secret,
        timeout_seconds=config.timeout_seconds,
        desk_config_file=stack.desk_config_file,
    )
    return settings, setting


def ticket_target(name: str | None = None) -> TicketTarget:
    """The adapter of the target ``name`` (the file's default when none)."""
    desk = routed_desk(name)
    if desk.target_name == desk_config().target_name and desk.selected.secret is None:
        # The default target: the stack's own variables, as before routes.
        settings = ticket_target_settings()
        return build_target(settings, ticket_credentials(settings), desk=desk)
    settings, setting = target_settings(desk)
    return build_target(settings, ticket_credentials(settings, setting), desk=desk)


def router() -> StickyRouter:
    return StickyRouter(desk_config(), incident_store(), ticket_states())


def desk_mirror(target: str | None = None) -> Mirror | None:
    """Write-back of the desk events of ``target`` (the file's default when none), when that
    target is two-way."""
    return mirror(routed_desk(target), ticket_states())


def reconciler(incident_id: str | None = None) -> Reconciler:
    """A reconciler for this invocation, in the target the incident is routed to (sticky; the
    file's default without an incident): the stores are reused, the credentials re-checked.

    With ``two_way``, it records its desk writes in the echo ledger and writes the ticket link
    to BigPanda once after the create."""
    settings = ticket_sync_settings()
    name = router().target_for(incident_id) if incident_id is not None else None
    desk = routed_desk(name)
    links = mirror(desk, ticket_states())
    two_way = (
        {"ledger": echo_ledger(), "links": links, "link_tag": links.settings.link_tag}
        if links is not None
        else {}
    )
    return Reconciler(
        incidents=incident_store(),
        states=ticket_states(),
        target=ticket_target(name),
        callbacks=CallbackQueue(settings.callback_queue_url, client("sqs")),
        target_name=desk.target_name,
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
