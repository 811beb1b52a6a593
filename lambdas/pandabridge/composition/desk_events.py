"""The desk-events function's collaborators: the desk configuration, each target's events
secret, the ticket directory, the event store and the ticket-sync queue."""

from __future__ import annotations

from functools import cache

from pandabridge.aws_clients import client
from pandabridge.composition.secrets import read_secret
from pandabridge.desk_config import DeskConfig, TargetConfig, load_config
from pandabridge.desk_event_auth import EventsSecretError, events_secret
from pandabridge.desk_event_intake import DeskEventIntake
from pandabridge.errors import PermanentError
from pandabridge.settings import desk_event_settings
from pandabridge.stores.desk_events import DeskEventStore
from pandabridge.stores.queues import DeskEventQueue
from pandabridge.stores.ticket_directory import TicketDirectoryStore


@cache
def desk_config() -> DeskConfig:
    """The desk configuration, read and validated once per process."""
    return load_config(desk_event_settings().desk_config_file)


def two_way_target(name: str) -> TargetConfig | None:
    """The target called ``name`` if it takes desk events (has ``two_way``), else None."""
    target = desk_config().targets.get(name)
    return target if target is not None and target.two_way is not None else None


def target_secret(name: str, target: TargetConfig) -> str:
    """The target's events secret (cached by Parameters for a few minutes), never logged."""
    assert target.two_way is not None  # noqa: S101 - two_way_target chose it
    setting = f"targets.{name}.two_way.events_secret"
    value = read_secret(
        target.two_way.events_secret, what="desk events", setting=setting, transform="json"
    )
    try:
        return events_secret(value)
    except EventsSecretError as error:
        raise PermanentError(str(error), setting=setting) from None


@cache
def desk_event_store() -> DeskEventStore:
    return DeskEventStore(desk_event_settings().control_table_name, client("dynamodb"))


@cache
def intake() -> DeskEventIntake:
    settings = desk_event_settings()
    return DeskEventIntake(
        directory=TicketDirectoryStore(settings.tickets_table_name, client("dynamodb")),
        repository=desk_event_store(),
        sender=DeskEventQueue(settings.ticket_sync_queue_url, client("sqs")),
    )
