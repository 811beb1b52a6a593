"""A v2 API incident (``GET /resources/v2.0/environments/{env}/incidents/{id}?expand=alerts``)
as the Notifications Webhook body that ingest stores.

BigPanda's v2 incident object differs from the webhook's: times are ``start``, ``changed_at``,
``updated_at`` and ``end`` instead of ``startedOn``/``changedOn``/``updatedOn``/``endedOn``;
the snooze says ``cancel_on_incident_updates`` instead of ``autoCancel``; alert fields are
snake_case and alert tags may come as an object; incident tags are ``incident_tags``. A
recovered version must read exactly like a delivered one to ticket sync, to the ticket mapping
and to versioning, so each field is mapped here by name, and nothing is guessed from shape.

The body carries no ``event_types``: BigPanda did not send this version, so there is no trigger
to name. That also orders it: a recovered version (updated, changed, none) sorts just below the
webhook's delivery of the same incident state (updated, changed, event time), so a webhook that
arrives after the reconciler replaces the recovered version, and a recovered version that
arrives after the webhook is stale and stored nowhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

# v2 name -> webhook name, for the incident and for each alert.
INCIDENT_TIMES: Final = {
    "start": "startedOn",
    "changed_at": "changedOn",
    "updated_at": "updatedOn",
    "end": "endedOn",
}
ALERT_FIELDS: Final = INCIDENT_TIMES | {
    "primary_property": "primaryProperty",
    "secondary_property": "secondaryProperty",
    "source_system": "sourceSystem",
}
# The incident fields both objects name alike.
INCIDENT_SAME: Final = ("id", "status", "severity", "active", "flapping", "resolved")
# v2 fields with no place in the webhook's incident: the stored body would otherwise carry
# both the v2 and the webhook spelling of one fact.
INCIDENT_DROPPED: Final = frozenset(
    {*INCIDENT_TIMES, "snooze", "alerts", "incident_tags", "environments", "links"}
)


def webhook_body(incident: Mapping[str, Any], *, environment_id: str | None) -> dict[str, Any]:
    """The webhook body of one v2 incident, fetched through ``environment_id``."""
    mapped: dict[str, Any] = {name: incident[name] for name in INCIDENT_SAME if name in incident}
    for v2_name, webhook_name in INCIDENT_TIMES.items():
        if v2_name in incident:
            mapped[webhook_name] = incident[v2_name]
    if incident.get("resolved") is None and "active" in incident:
        mapped["resolved"] = incident["active"] is False
    if isinstance(incident.get("snooze"), Mapping):
        mapped["snooze"] = webhook_snooze(incident["snooze"])
    if isinstance(incident.get("alerts"), list):
        mapped["alerts"] = [webhook_alert(a) for a in incident["alerts"] if isinstance(a, Mapping)]
    for name, value in incident.items():
        if name not in mapped and name not in INCIDENT_DROPPED:
            mapped[name] = value  # e.g. shared, maintenance: kept, as the webhook model keeps
    body: dict[str, Any] = {"incident": mapped}
    tags = incident.get("incident_tags")
    if isinstance(tags, list):
        body["incidentTags"] = [webhook_incident_tag(t) for t in tags if isinstance(t, Mapping)]
    links = incident.get("links")
    if isinstance(links, Mapping | str):
        body["links"] = links
    if environment_id is not None:
        body["metadata"] = {"environment_id": environment_id}
    return body


def webhook_snooze(snooze: Mapping[str, Any]) -> dict[str, Any]:
    """``{snoozed, end_time, cancel_on_incident_updates}`` -> ``{snoozed, end_time,
    autoCancel}``, the field table's shape."""
    mapped = {name: snooze[name] for name in ("snoozed", "end_time") if name in snooze}
    if "cancel_on_incident_updates" in snooze:
        mapped["autoCancel"] = snooze["cancel_on_incident_updates"]
    return mapped


def webhook_alert(alert: Mapping[str, Any]) -> dict[str, Any]:
    """A v2 alert as the webhook's: camelCase names, tags as a list of ``{name, value}``."""
    mapped: dict[str, Any] = {}
    for name, value in alert.items():
        if name == "tags":
            mapped["tags"] = webhook_alert_tags(value)
        else:
            mapped[ALERT_FIELDS.get(name, name)] = value
    return mapped


def webhook_alert_tags(tags: Any) -> Any:
    """An object of tag name -> value becomes ``[{name, value}]``; a list is already that."""
    if isinstance(tags, Mapping):
        return [{"name": name, "value": value} for name, value in tags.items()]
    return tags


def webhook_incident_tag(tag: Mapping[str, Any]) -> dict[str, Any]:
    """``{tag_id, tag_value}`` (v2) -> ``{id, value}`` (webhook); either spelling is read."""
    return {
        "id": tag.get("tag_id", tag.get("id")),
        "value": tag.get("tag_value", tag.get("value")),
    }
