"""In-memory stand-ins for the reconciler's collaborators: BigPanda's Incidents API v2 and the
watermark store.

``MemoryBigPanda`` keeps the rules of BigPanda's API the reconciler depends on, and nothing
else: search filters on ``changed_at`` within ``from``/``to``, sorted by last change, paged,
and answers a server error for an environment that uses incident tags (while "All" works);
get answers None for an unknown id; activities are newest first. An incident may be changed
after it was searched, and searchable only some seconds after its change (``lag``), as a
search index behind its writes is. Calls can be told to fail (``calls.fail``) and are counted.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pandabridge.bigpanda_api import SearchPage
from pandabridge.errors import RetryableError
from pandabridge.reconcile import SHARED_ACTIVITY
from tests.unit.core.fakes import Calls

OUR_SHARE_TARGET = "webhook.pandabridge"
OTHER_SHARE_TARGET = "webhook.someone-else"
# BigPanda's built-in environment "All", as the API names it: by an id.
ALL_ID = "env-all"


def v2_incident(incident_id: str, changed_at: int, **fields: Any) -> dict[str, Any]:
    """A v2 incident as BigPanda's API answers it with ``expand=alerts``."""
    return {
        "id": incident_id,
        "status": "critical",
        "severity": "critical",
        "active": True,
        "start": changed_at - 60,
        "changed_at": changed_at,
        "updated_at": changed_at,
        "end": None,
        "snooze": {"snoozed": False, "end_time": None, "cancel_on_incident_updates": False},
        "alerts": [
            {
                "id": f"{incident_id}-a1",
                "status": "critical",
                "start": changed_at - 60,
                "changed_at": changed_at,
                "updated_at": changed_at,
                "primary_property": "host",
                "source_system": "nagios",
                "description": "CPU is 98%",
                "tags": {"host": "db-1"},
            }
        ],
        **fields,
    }


@dataclass
class MemoryBigPanda:
    clock: Callable[[], float]
    incidents: dict[str, dict[str, Any]] = field(default_factory=dict)
    environment_of: dict[str, str] = field(default_factory=dict)
    activity_log: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # Environments whose search answers 500 (BigPanda's, for environments with incident tags).
    tag_environments: set[str] = field(default_factory=set)
    # Seconds after its change before an incident shows in search.
    lag: int = 0
    calls: Calls = field(default_factory=Calls)
    # (environment, from, to) of each search of a first page.
    windows: list[tuple[str, int, int]] = field(default_factory=list)

    def change(
        self,
        incident_id: str,
        *,
        environment: str = "prod",
        shared_to: str | None = OUR_SHARE_TARGET,
        **fields: Any,
    ) -> dict[str, Any]:
        """BigPanda changes an incident now and shares the change to ``shared_to``."""
        now = int(self.clock())
        incident = v2_incident(incident_id, now, **fields)
        if incident_id in self.incidents:
            incident["start"] = self.incidents[incident_id]["start"]
        self.incidents[incident_id] = incident
        self.environment_of[incident_id] = environment
        if shared_to is not None:
            activity = {
                "id": f"act-{len(self.activity_log.get(incident_id, ())) + 1}",
                "type": SHARED_ACTIVITY,
                "timestamp": now,
                "created_by": "system",
                "params": {"share_target": shared_to},
            }
            self.activity_log.setdefault(incident_id, []).insert(0, activity)
        return copy.deepcopy(incident)

    def search_incidents(
        self,
        env: str,
        *,
        since: int,
        until: int,
        page: int,
        page_size: int,
        expand_alerts: bool = False,
    ) -> SearchPage:
        def effect() -> SearchPage:
            if page == 1:
                self.windows.append((env, since, until))
            if env in self.tag_environments:
                raise RetryableError(f"GET /environments/{env}/incidents answered 500")
            matching = sorted(
                (
                    incident
                    for incident_id, incident in self.incidents.items()
                    if env in (ALL_ID, self.environment_of[incident_id])
                    and since <= incident["changed_at"] <= until
                    and incident["changed_at"] + self.lag <= self.clock()
                ),
                key=lambda incident: incident["changed_at"],
            )
            start = (page - 1) * page_size
            items = [
                {k: v for k, v in i.items() if k != "alerts" or expand_alerts}
                for i in matching[start : start + page_size]
            ]
            return SearchPage(total=len(matching), items=copy.deepcopy(items))

        result: SearchPage = self.calls.run("search_incidents", env, page, effect=effect)
        return result

    def get_incident(
        self, env: str, incident_id: str, *, expand_alerts: bool = False
    ) -> dict[str, Any] | None:
        def effect() -> dict[str, Any] | None:
            incident = self.incidents.get(incident_id)
            visible = incident is not None and env in (ALL_ID, self.environment_of[incident_id])
            if not visible:
                return None
            shown = copy.deepcopy(incident)
            return shown if expand_alerts else {k: v for k, v in shown.items() if k != "alerts"}

        return self.calls.run("get_incident", env, incident_id, effect=effect)  # type: ignore[no-any-return]

    def activities(
        self, incident_id: str, *, page: int = 1, per_page: int = 50, types: Sequence[str] = ()
    ) -> list[dict[str, Any]]:
        def effect() -> list[dict[str, Any]]:
            found = [
                a for a in self.activity_log.get(incident_id, []) if not types or a["type"] in types
            ]
            return copy.deepcopy(found[(page - 1) * per_page : page * per_page])

        return self.calls.run("activities", incident_id, effect=effect)  # type: ignore[no-any-return]

    def environments(self) -> list[dict[str, Any]]:
        def effect() -> list[dict[str, Any]]:
            named = {"prod": "Production", "stage": "Staging"}
            return [{"id": ALL_ID, "name": "All"}] + [
                {"id": env, "name": named.get(env, env)} for env in sorted(named)
            ]

        return self.calls.run("environments", effect=effect)  # type: ignore[no-any-return]

    @property
    def api_calls(self) -> int:
        return len(self.calls.log)


@dataclass
class MemoryWatermarks:
    """The control table's ``watermark#<integration>`` items: watermarks, forward only, and
    the share verdicts."""

    marks: dict[tuple[str, str], int] = field(default_factory=dict)
    not_shared: dict[tuple[str, str], Any] = field(default_factory=dict)

    def not_shared_at(self, integration: str, incident_id: str) -> Any:
        return self.not_shared.get((integration, incident_id))

    def remember_not_shared(self, integration: str, incident_id: str, changed_at: Any) -> None:
        self.not_shared[(integration, incident_id)] = changed_at

    def get(self, integration: str, environment: str) -> int | None:
        return self.marks.get((integration, environment))

    def advance(self, integration: str, environment: str, until: int) -> None:
        key = (integration, environment)
        self.marks[key] = max(until, self.marks.get(key, until))
