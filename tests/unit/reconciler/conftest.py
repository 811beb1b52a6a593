"""The API reconciler wired to in-memory fakes: BigPanda's API, the watermarks, and the core
specs' incident book, ticket sync and callbacks (``tests.unit.core.world``), so a spec can
follow a recovered version to its ticket and callback. Nothing opens a socket."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from pandabridge.messages import SyncNudge
from pandabridge.reconcile import (
    ApiReconciler,
    IngestPath,
    ReconcileScope,
    ReconcileSettings,
    RunReport,
)
from pandabridge.sync import SyncReport
from tests.unit.core.world import World
from tests.unit.reconciler.memory_bigpanda import (
    OUR_SHARE_TARGET,
    MemoryBigPanda,
    MemoryWatermarks,
)

Payload = dict[str, Any]
PERIOD_MINUTES = 5
OVERLAP_SECONDS = 300
PAGE_SIZE = 3  # small, so that specs page without hundreds of incidents


@dataclass
class RecoveryWorld:
    """One pipeline of fakes plus BigPanda's API and the reconciler over it."""

    world: World = field(default_factory=World)
    environments: tuple[str, ...] = ("prod",)
    share_target: str | None = OUR_SHARE_TARGET
    page_size: int = PAGE_SIZE

    def __post_init__(self) -> None:
        self.bigpanda = MemoryBigPanda(clock=self.epoch)
        self.watermarks = MemoryWatermarks()
        self.settings = ReconcileSettings(
            every_minutes=PERIOD_MINUTES,
            overlap_seconds=OVERLAP_SECONDS,
            page_size=self.page_size,
        )
        self.reconciler = ApiReconciler(
            api=lambda _scope: self.bigpanda,
            watermarks=self.watermarks,
            verdicts=self.watermarks,
            incidents=self.world.book,
            ingest_path=IngestPath(self.world.book),
            settings=self.settings,
            clock=self.epoch,
        )

    @property
    def scope(self) -> ReconcileScope:
        return ReconcileScope(
            integration="default",
            environments=self.environments,
            share_target=self.share_target,
            storage_key=lambda incident_id: incident_id,
        )

    def epoch(self) -> float:
        return self.world.clock().timestamp()

    def wait(self, seconds: float) -> None:
        self.world.clock.advance(seconds)

    def reconcile(self) -> RunReport:
        """One scheduled run; each recovered version then goes through ticket sync, as the
        incidents stream and the pipe would send it."""
        report = self.reconciler.run([self.scope])
        for key in report.recovered:
            self.sync_stored(key)
        return report

    def deliver(self, v2: Payload, event: str = "incident#new") -> SyncReport:
        """The webhook delivers the version BigPanda holds as ``v2``, and ticket sync runs."""
        return self.world.sync(webhook_of(v2, event))

    def sync_stored(self, incident_id: str) -> SyncReport:
        summary = self.world.book.latest[incident_id].summary
        nudge = SyncNudge(
            incident_id=incident_id, version=summary.version.key, sha256=summary.content_hash
        )
        return self.world.reconciler.sync(nudge)

    @property
    def tickets_created(self) -> int:
        return self.world.target.calls.done["create"]

    @property
    def callbacks_queued(self) -> int:
        return len(self.world.outbox.queued)


def webhook_of(v2: Payload, event: str = "incident#new") -> Payload:
    """The Notifications Webhook body BigPanda sends for the incident state ``v2``."""
    incident = copy.deepcopy(v2)
    return {
        "incident": {
            "id": incident["id"],
            "status": incident["status"],
            "severity": incident["severity"],
            "active": incident["active"],
            "startedOn": incident["start"],
            "changedOn": incident["changed_at"],
            "updatedOn": incident["updated_at"],
            "endedOn": incident["end"],
            "alerts": [
                {
                    "id": a["id"],
                    "status": a["status"],
                    "startedOn": a["start"],
                    "primaryProperty": a["primary_property"],
                    "sourceSystem": a["source_system"],
                    "description": a["description"],
                    "tags": [{"name": k, "value": v} for k, v in a["tags"].items()],
                }
                for a in incident["alerts"]
            ],
        },
        "metadata": {"environment_id": "prod"},
        "event_types": [{"event": event, "time": incident["changed_at"]}],
    }


@pytest.fixture
def recovery() -> RecoveryWorld:
    return RecoveryWorld()


@pytest.fixture
def make_recovery() -> Callable[..., RecoveryWorld]:
    return RecoveryWorld
