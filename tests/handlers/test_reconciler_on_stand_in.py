"""The reconciler over real HTTP and real stores: ``HttpBigPandaApi`` against the BigPanda
stand-in's Incidents API v2, the incident store, the archive and the watermarks on the moto
server. The stand-in shares incidents as BigPanda does, drops deliveries on request, answers
500 for an environment with incident tags and 429 when the org's window is full."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

import boto3
import pytest

from local.demo.bigpanda import BigPandaStandIn
from local.fakes.bigpanda_api import DEFAULT_SHARE_TARGET
from local.names import CONTROL_TABLE, INCIDENTS_TABLE, PAYLOAD_BUCKET
from pandabridge.bigpanda_api import HttpBigPandaApi
from pandabridge.http import HttpClient
from pandabridge.names import Limits
from pandabridge.rate_limit import MemoryRateLimiter, org_id
from pandabridge.reconcile import (
    ALL_ENVIRONMENTS,
    ApiReconciler,
    IngestPath,
    ReconcileScope,
    ReconcileSettings,
    RunReport,
)
from pandabridge.stores.incidents import IncidentStore
from pandabridge.stores.watermarks import WatermarkStore
from tests.conftest import BIGPANDA_STAND_IN_KEY
from tests.handlers.conftest import Aws

Payload = dict[str, Any]
PROD = "env-prod-0001"
TAGGED = "env-tagged-0002"


class Reconciling:
    """The reconciler of the integration ``default`` over the stand-in and the moto stores."""

    def __init__(self, stand_in: BigPandaStandIn, environments: tuple[str, ...]) -> None:
        self.stand_in = stand_in
        self.limiter = MemoryRateLimiter()
        self.org = org_id(stand_in.api_base, "stand-in")
        self.api = HttpBigPandaApi(
            stand_in.api_base,
            BIGPANDA_STAND_IN_KEY,
            HttpClient(timeout_seconds=5),
            self.limiter,
            org=self.org,
        )
        dynamodb = boto3.client("dynamodb")
        self.incidents = IncidentStore(
            INCIDENTS_TABLE.local_name, PAYLOAD_BUCKET.local_name, dynamodb, boto3.client("s3")
        )
        self.watermarks = WatermarkStore(CONTROL_TABLE.local_name, dynamodb)
        self.scope = ReconcileScope(
            integration="default",
            environments=environments,
            share_target=DEFAULT_SHARE_TARGET,
            storage_key=lambda incident_id: incident_id,
        )
        self.reconciler = ApiReconciler(
            api=lambda _scope: self.api,
            watermarks=self.watermarks,
            verdicts=self.watermarks,
            incidents=self.incidents,
            ingest_path=IngestPath(self.incidents),
            settings=ReconcileSettings(
                every_minutes=5,
                overlap_seconds=300,
                page_size=Limits.RECONCILE_SEARCH_PAGE_SIZE,
            ),
            clock=time.time,
        )

    def run(self) -> RunReport:
        return self.reconciler.run([self.scope])

    def drop(self, payload: Payload) -> None:
        """BigPanda shares the incident, and its delivery never arrives."""
        self.stand_in.api.drop_next_deliveries(1)
        assert self.stand_in.deliver(payload, lambda _body: pytest.fail("delivered")) is None


@pytest.fixture
def fresh(sample: Payload) -> Callable[..., Payload]:
    """The vendor sample as a new incident changed just now, in environment ``PROD``."""

    def make(incident_id: str, environment: str = PROD) -> Payload:
        payload = copy.deepcopy(sample)
        now = int(time.time())
        incident = payload["incident"]
        incident.update(id=incident_id, startedOn=now - 60, changedOn=now, updatedOn=now)
        payload["metadata"]["environment_id"] = environment
        payload["event_types"] = [{"event": "incident#new", "time": now}]
        return payload

    return make


@pytest.fixture
def reconciling(aws: Aws, bigpanda_stand_in: BigPandaStandIn) -> Callable[..., Reconciling]:
    bigpanda_stand_in.api.add_environment(PROD, "Production")
    bigpanda_stand_in.api.add_environment(TAGGED, "Tagged", uses_incident_tags=True)

    def make(*environments: str) -> Reconciling:
        return Reconciling(bigpanda_stand_in, environments or (PROD,))

    return make


def test_a_dropped_delivery_is_stored_as_recovered_with_its_alerts(
    reconciling: Callable[..., Reconciling], fresh: Callable[..., Payload]
) -> None:
    # Given BigPanda shared a new incident whose delivery was dropped
    bridge = reconciling()
    payload = fresh("missed-1")
    bridge.drop(payload)
    # When the reconciler runs
    report = bridge.run()
    # Then the incident is stored, marked recovered, read from BigPanda's v2 object
    assert report.recovered == ["missed-1"]
    stored = bridge.incidents.get("missed-1")
    assert stored is not None
    assert stored.summary.recovered is True
    assert stored.summary.alert_count == len(payload["incident"]["alerts"])
    assert stored.summary.environment_id == PROD
    assert stored.payload["incident"]["changedOn"] == payload["incident"]["changedOn"]
    assert bridge.watermarks.get("default", PROD) is not None


def test_a_search_500_falls_back_to_the_all_environment(
    reconciling: Callable[..., Reconciling], fresh: Callable[..., Payload]
) -> None:
    # Given the searched environment uses incident tags, so its search answers 500
    bridge = reconciling(TAGGED)
    bridge.drop(fresh("missed-2", environment=TAGGED))
    # When the reconciler runs
    report = bridge.run()
    # Then it searched "All", found by name, and recovered the incident
    assert report.fell_back == [f"default/{TAGGED}"]
    assert report.recovered == ["missed-2"]
    assert report.completed == [f"default/{TAGGED}"]


def test_an_incident_shared_to_another_channel_is_not_stored(
    reconciling: Callable[..., Reconciling], fresh: Callable[..., Payload]
) -> None:
    # Given an incident BigPanda shared to another webhook, in an environment we search
    bridge = reconciling(ALL_ENVIRONMENTS)
    bridge.stand_in.api.share_target = "webhook.someone-else"
    bridge.stand_in.api.share(fresh("theirs-1"))
    # When the reconciler runs
    report = bridge.run()
    # Then nothing is stored
    assert report.not_shared == ["theirs-1"]
    assert bridge.incidents.get("theirs-1") is None


@pytest.mark.parametrize(
    ("status", "failing_calls"),
    # A 5xx of the environment's search falls back to "All": its calls fail too.
    [(429, 1), (503, 3)],
)
def test_bigpanda_failing_a_run_loses_nothing(
    reconciling: Callable[..., Reconciling],
    fresh: Callable[..., Payload],
    status: int,
    failing_calls: int,
) -> None:
    # Given two dropped deliveries, and BigPanda answering the next calls with 429 or 503
    bridge = reconciling()
    bridge.drop(fresh("missed-3"))
    bridge.drop(fresh("missed-4"))
    bridge.stand_in.api.failures.arm(status, failing_calls)
    # When the run meets it, and the next run follows
    stopped = bridge.run()
    watermark_after_stop = bridge.watermarks.get("default", PROD)
    resumed = bridge.run()
    # Then the first stopped without setting a watermark, and the second recovered both
    assert stopped.stopped is not None
    assert (stopped.completed, stopped.recovered) == ([], [])
    assert watermark_after_stop is None
    assert sorted(resumed.recovered) == ["missed-3", "missed-4"]


def test_the_org_rate_limit_stops_a_run_midway_and_the_next_finishes_it(
    reconciling: Callable[..., Reconciling], fresh: Callable[..., Payload]
) -> None:
    # Given two dropped deliveries, and the org's minute window three calls from full
    bridge = reconciling()
    bridge.drop(fresh("missed-5"))
    bridge.drop(fresh("missed-6"))
    unreserved = (
        Limits.BIGPANDA_API_REQUESTS_PER_MINUTE - Limits.BIGPANDA_CALLBACK_RESERVE_PER_MINUTE
    )
    for _ in range(unreserved - 3):
        bridge.limiter.acquire(bridge.org, "api")
    # When a run searches, checks and fetches one incident before the limiter says "wait"
    stopped = bridge.run()
    bridge.limiter = MemoryRateLimiter()  # the next minute
    bridge.api = HttpBigPandaApi(
        bridge.stand_in.api_base,
        BIGPANDA_STAND_IN_KEY,
        HttpClient(timeout_seconds=5),
        bridge.limiter,
        org=bridge.org,
    )
    resumed = bridge.run()
    # Then the first stored one, the second the other: each exactly once
    assert stopped.stopped is not None
    assert stopped.stopped.startswith("rate limit")
    assert len(stopped.recovered) == 1
    assert sorted(stopped.recovered + resumed.recovered) == ["missed-5", "missed-6"]
