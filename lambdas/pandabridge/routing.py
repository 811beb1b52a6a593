"""Routing: which target an incident's ticket goes to, by the integration's ordered routes.

The first route whose conditions all hold wins; none matching, the integration's ``target``
(else the file's). The choice is made once, when the incident's ticket state is first written,
and kept there (sticky): ticket sync never asks again for that incident, so a later version
that would match another route stays on the desk its ticket lives in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from pandabridge.desk_config import DeskConfig, RouteConfig
from pandabridge.incidents import StoredIncident
from pandabridge.models import Alert, WebhookPayload
from pandabridge.tickets.state import TicketState


def choose_target(config: DeskConfig, integration: str, payload: WebhookPayload) -> str:
    """The target for a new incident of ``integration``."""
    settings = config.integration_settings.get(integration)
    if settings is None:
        return config.target_name
    for route in settings.routes:
        if matches(route, payload):
            return route.target
    return settings.target or config.target_name


def matches(route: RouteConfig, payload: WebhookPayload) -> bool:
    """Whether every condition the route gives holds for the incident."""
    metadata = payload.metadata
    if route.environments is not None:
        environments = {metadata.environment_id, metadata.environment} if metadata else set()
        if not environments & set(route.environments):
            return False
    if route.severities is not None:
        severity = (payload.incident.severity or "").lower()
        if severity not in {wanted.lower() for wanted in route.severities}:
            return False
    if route.tags is not None and not all(
        _holds(payload.incident_tag(name), wanted) for name, wanted in route.tags.items()
    ):
        return False
    if route.alert_properties is not None:
        wanted = route.alert_properties
        return any(_alert_carries(alert, wanted) for alert in payload.incident.alerts or ())
    return True


def _alert_carries(alert: Alert, wanted: dict[str, str]) -> bool:
    """All the properties on one alert: its tags, or its own fields (``primaryProperty``)."""
    return all(_holds(_alert_value(alert, name), value) for name, value in wanted.items())


def _alert_value(alert: Alert, name: str) -> Any:
    value = alert.tag(name)
    return value if value is not None else getattr(alert, name, None)


def _holds(value: Any, wanted: str) -> bool:
    """A value equals ``wanted`` as text; a list holds it when one of its items does."""
    if isinstance(value, list):
        return any(_holds(item, wanted) for item in value)
    return value is not None and str(value) == wanted


class TargetReader(Protocol):
    def get(self, incident_id: str) -> StoredIncident | None: ...


class StateReader(Protocol):
    def get(self, incident_id: str) -> TicketState | None: ...


@dataclass(frozen=True)
class StickyRouter:
    """The target an incident's nudge is synced in: the one its ticket state names, once it
    has one; else the routes' choice for its stored version (recorded by the first save of
    its state, and kept from then on)."""

    config: DeskConfig
    incidents: TargetReader
    states: StateReader

    def target_for(self, storage_key: str) -> str:
        state = self.states.get(storage_key)
        if state is not None:
            # A state saved before routing names the adapter's kind, not a target: its ticket
            # was made in the one target the deployment had, the file's default.
            return state.target if state.target in self.config.targets else self.config.target_name
        incident = self.incidents.get(storage_key)
        if incident is None:
            return self.config.target_name
        payload = WebhookPayload.model_validate(incident.payload)
        return choose_target(self.config, incident.summary.integration, payload)
