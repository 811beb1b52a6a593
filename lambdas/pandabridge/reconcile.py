"""Self-healing: find the incident versions BigPanda changed but never delivered to us, and
store them through the normal ingest path.

BigPanda documents no webhook retries, so a delivery lost to a deploy, an outage or a throttle
is otherwise lost for good, with its ticket and callback. The reconciler reads what BigPanda
knows instead, per integration and environment:

1. Search the Incidents API v2 for incidents changed since the environment's watermark minus
   an overlap (BigPanda does not document which timestamp ``from``/``to`` filter on, nor how
   soon a change is searchable, so consecutive windows overlap), paged, sorted by last change.
2. An incident whose ``changed_at`` is newer than the stored ``changedOn`` is fetched in full
   (``expand=alerts``), mapped into the webhook body (``pandabridge.v2_mapping``) and ingested
   with ``recovered`` marked; ticket sync then treats it like any delivered version.
3. An incident never stored is taken only when its activities show an ``incident_shared`` to
   our ``share_target``: otherwise BigPanda never meant to send it to us.
4. An environment whose search answers a server error (BigPanda's search does, for
   environments that use incident tags) is searched through the built-in "All" instead.
5. Only after an environment's whole window was handled does its watermark move, to the end of
   that window. A window spans at most ``Limits.RECONCILE_MAX_WINDOW_SECONDS`` past the
   watermark, so after a pause the runs catch up window by window. A 429 or 5xx (or the
   shared rate limiter saying "wait") stops the run where it is: what was stored stays stored,
   and the next run searches the same window again. Ingest's conditional write makes a second
   pass over a version a no-op, so nothing is lost and nothing is doubled.

Free of AWS: the stores and the HTTP API are passed in as the protocols below.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Final, Protocol, TypeVar

from pandabridge.bigpanda_api import BigPandaApi
from pandabridge.errors import PermanentError, RetryableError, WaitingError
from pandabridge.incidents import IncidentRepository, IngestResult, ingest
from pandabridge.names import Limits
from pandabridge.parsing import InvalidWebhookError, parse_webhook
from pandabridge.v2_mapping import webhook_body
from pandabridge.versioning import Part, Version

# BigPanda's built-in environment of every incident, by name; its search works where another's
# fails. The API takes environment ids, so its id is looked up (``GET /environments``).
ALL_ENVIRONMENTS: Final = "All"
SHARED_ACTIVITY: Final = "incident_shared"
# A throttled search is not a failing environment: "All" would be throttled as well.
TOO_MANY_REQUESTS: Final = 429

T = TypeVar("T")


class Watermarks(Protocol):
    """Per integration and environment: the end of the last window searched in full."""

    def get(self, integration: str, environment: str) -> int | None: ...

    def advance(self, integration: str, environment: str, until: int) -> None:
        """Move the watermark forward to ``until``; never backward."""
        ...


class ShareVerdicts(Protocol):
    """Per integration: the incidents whose activities showed no share to us, and at which
    ``changed_at``. Overlapping windows, and a run that the rate limit stopped and the next
    one repeats, then ask BigPanda once per change: each run gets further than the last."""

    def not_shared_at(self, integration: str, incident_id: str) -> Part: ...

    def remember_not_shared(self, integration: str, incident_id: str, changed_at: Part) -> None: ...


class StoredVersions(Protocol):
    def stored_version(self, storage_key: str) -> Version | None: ...


class RecoveredVersions(Protocol):
    """The ingest path, for a version the reconciler found."""

    def inject(self, integration: str, body: dict[str, Any]) -> IngestResult: ...


@dataclass(frozen=True)
class ReconcileScope:
    """One integration as the reconciler sees it."""

    integration: str
    environments: tuple[str, ...]
    # The ``params.share_target`` of BigPanda's ``incident_shared`` activities that name this
    # integration's webhook. None: incidents never stored are never taken.
    share_target: str | None
    # The storage key of one of this integration's BigPanda incident ids.
    storage_key: Callable[[str], str]


@dataclass(frozen=True)
class ReconcileSettings:
    """``[reconciler]`` of the configuration file, as the domain needs it."""

    every_minutes: int
    overlap_seconds: int
    page_size: int
    max_window_seconds: int = Limits.RECONCILE_MAX_WINDOW_SECONDS

    @property
    def first_window_seconds(self) -> int:
        """How far back an environment without a watermark is searched: one period."""
        return self.every_minutes * 60


@dataclass
class RunReport:
    """What one run did: the handler logs it and turns it into metrics."""

    recovered: list[str] = field(default_factory=list)
    not_shared: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)  # refused by ingest's validation
    up_to_date: int = 0
    api_calls: int = 0
    fell_back: list[str] = field(default_factory=list)  # "integration/environment"
    completed: list[str] = field(default_factory=list)
    stopped: str | None = None  # why the run stopped early, when it did
    setting: str | None = None  # the setting to fix, for a permanent refusal

    def as_json(self) -> dict[str, Any]:
        return {
            "recovered": self.recovered,
            "not_shared": self.not_shared,
            "unreadable": self.unreadable,
            "up_to_date": self.up_to_date,
            "api_calls": self.api_calls,
            "fell_back": self.fell_back,
            "completed": self.completed,
            "stopped": self.stopped,
            "setting": self.setting,
        }


class _RunStoppedError(Exception):
    """The run cannot go on: BigPanda or the rate limiter said so."""


@dataclass
class ApiReconciler:
    api: Callable[[ReconcileScope], BigPandaApi]
    watermarks: Watermarks
    verdicts: ShareVerdicts
    incidents: StoredVersions
    ingest_path: RecoveredVersions
    settings: ReconcileSettings
    clock: Callable[[], float]
    # Per integration, the id of its "All" environment: looked up once per warm function.
    all_environment_ids: dict[str, str] = field(default_factory=dict)

    def run(self, scopes: Sequence[ReconcileScope]) -> RunReport:
        """Reconcile every integration; stop at the first failure that stops all calls."""
        report = RunReport()
        now = int(self.clock())
        try:
            for scope in scopes:
                _Run(self, scope, self.api_of(scope, report), report, now).all_environments()
        except _RunStoppedError:
            pass
        return report

    def api_of(self, scope: ReconcileScope, report: RunReport) -> BigPandaApi:
        """The integration's API; a key that cannot be read stops the run naming it."""
        try:
            return self.api(scope)
        except PermanentError as refused:
            report.stopped = refused.reason
            report.setting = refused.setting
            raise _RunStoppedError from None


@dataclass
class _Run:
    """One integration's part of a run."""

    owner: ApiReconciler
    scope: ReconcileScope
    api: BigPandaApi
    report: RunReport
    now: int
    # (incident id, changed_at) already handled in this run: environments overlap, and "All"
    # holds every one of them.
    handled: set[tuple[str, Part]] = field(default_factory=set)

    def all_environments(self) -> None:
        for environment in self.scope.environments:
            self.environment(environment)

    def environment(self, environment: str) -> None:
        integration = self.scope.integration
        watermark = self.owner.watermarks.get(integration, environment)
        start = watermark if watermark is not None else self.now - self.first_window
        since = max(0, start - self.owner.settings.overlap_seconds)
        # After a pause, one bounded window a run: the next run goes on from its end.
        until = min(self.now, start + self.owner.settings.max_window_seconds)
        own = environment != ALL_ENVIRONMENTS
        try:
            self.window(
                self.environment_id(environment), since, until, first_page_may_fall_back=own
            )
        except _SearchFailedError:
            self.report.fell_back.append(f"{integration}/{environment}")
            self.window(
                self.environment_id(ALL_ENVIRONMENTS), since, until, first_page_may_fall_back=False
            )
        self.owner.watermarks.advance(integration, environment, until)
        self.report.completed.append(f"{integration}/{environment}")

    def environment_id(self, environment: str) -> str:
        """The id the API takes: a configured id as it is, "All" looked up once per run."""
        if environment != ALL_ENVIRONMENTS:
            return environment
        known = self.owner.all_environment_ids
        if self.scope.integration not in known:
            found = self.call(self.api.environments)
            known[self.scope.integration] = next(
                (
                    str(e["id"])
                    for e in found
                    if isinstance(e, Mapping)
                    and str(e.get("name", "")).casefold() == ALL_ENVIRONMENTS.casefold()
                    and e.get("id")
                ),
                ALL_ENVIRONMENTS,
            )
        return known[self.scope.integration]

    @property
    def first_window(self) -> int:
        return self.owner.settings.first_window_seconds

    def window(
        self, environment: str, since: int, until: int, *, first_page_may_fall_back: bool
    ) -> None:
        page_size = self.owner.settings.page_size
        page = 1
        while True:
            search = partial(
                self.api.search_incidents,
                environment,
                since=since,
                until=until,
                page=page,
                page_size=page_size,
            )
            found = self.call(search, fall_back=first_page_may_fall_back and page == 1)
            for item in found.items:
                self.consider(environment, item)
            if not found.items or page * page_size >= found.total:
                return
            page += 1

    def consider(self, environment: str, item: Mapping[str, Any]) -> None:
        incident_id = item.get("id")
        changed_at = item.get("changed_at")
        if not isinstance(incident_id, str) or not incident_id:
            return
        if (incident_id, changed_at) in self.handled:
            return
        self.handled.add((incident_id, changed_at))
        key = self.scope.storage_key(incident_id)
        stored = self.owner.incidents.stored_version(key)
        if stored is not None and not is_newer(changed_at, stored):
            self.report.up_to_date += 1
            return
        if stored is None and not self.shared_with_us(incident_id, changed_at):
            self.report.not_shared.append(key)
            return
        full = self.call(
            lambda: self.api.get_incident(environment, incident_id, expand_alerts=True)
        )
        if full is None:
            return  # gone since the search: nothing to recover
        body = webhook_body(full, environment_id=environment)
        try:
            result = self.owner.ingest_path.inject(self.scope.integration, body)
        except InvalidWebhookError as invalid:
            # Ingest would refuse this body from the webhook too; the other incidents go on.
            self.report.unreadable.append(f"{key}: {invalid}")
            return
        if result.stored:
            self.report.recovered.append(key)

    def shared_with_us(self, incident_id: str, changed_at: Part) -> bool:
        target = self.scope.share_target
        if target is None:
            return False
        verdicts, integration = self.owner.verdicts, self.scope.integration
        known = verdicts.not_shared_at(integration, incident_id)
        if known is not None and changed_at is not None and known >= changed_at:
            return False
        activities = self.call(lambda: self.api.activities(incident_id, types=(SHARED_ACTIVITY,)))
        shared = any(is_share_to(activity, target) for activity in activities)
        if not shared and changed_at is not None:
            verdicts.remember_not_shared(integration, incident_id, changed_at)
        return shared

    def call(self, request: Callable[[], T], *, fall_back: bool = False) -> T:
        """One API call, counted; a failure either falls back to "All" or stops the run."""
        self.report.api_calls += 1
        try:
            return request()
        except WaitingError as waiting:
            self.report.stopped = f"rate limit: {waiting}"
            raise _RunStoppedError from None
        except RetryableError as error:
            if fall_back and getattr(error, "status", None) != TOO_MANY_REQUESTS:
                raise _SearchFailedError from None
            self.report.stopped = str(error)
            raise _RunStoppedError from None
        except PermanentError as refused:
            self.report.stopped = refused.reason
            self.report.setting = refused.setting
            raise _RunStoppedError from None


class _SearchFailedError(Exception):
    """The environment's own search failed: search "All" for the same window."""


def is_newer(changed_at: Any, stored: Version) -> bool:
    """Whether BigPanda's ``changed_at`` is later than the stored version's change time (its
    ``changedOn``, else its ``updatedOn`` for a body that carried no ``changedOn``). Without a
    ``changed_at`` nothing says the incident changed, so it is not fetched."""
    if not isinstance(changed_at, int | float) or isinstance(changed_at, bool):
        return False
    known = stored.changed_on if stored.changed_on is not None else stored.updated_on
    return known is None or changed_at > known


def is_share_to(activity: Mapping[str, Any], share_target: str) -> bool:
    """An ``incident_shared`` activity whose ``params.share_target`` is ours."""
    params = activity.get("params")
    return (
        activity.get("type") == SHARED_ACTIVITY
        and isinstance(params, Mapping)
        and params.get("share_target") == share_target
    )


@dataclass(frozen=True)
class IngestPath:
    """The webhook's own path for a recovered body: the same parser, validation, versioning,
    archive and conditional write, with ``recovered`` marked on the stored item."""

    repository: IncidentRepository

    def inject(self, integration: str, body: dict[str, Any]) -> IngestResult:
        webhook = parse_webhook(json.dumps(body, ensure_ascii=False, allow_nan=False))
        return ingest(webhook, self.repository, integration=integration, recovered=True).result
