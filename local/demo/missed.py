"""``make run ARGS="--drop-delivery N"``: deliveries that BigPanda makes and we never receive.

The BigPanda stand-in shares N new incidents (the vendor sample under new ids, changed now)
and drops their deliveries on purpose, as a deploy, an outage or a throttle would. Nothing
reaches the gateway; the reconciler's next run finds each incident in the stand-in's Incidents
API (shared to our share target, never stored), stores it through ingest's own path, and the
journey shows it recovered, then its ticket and BigPanda's callback, like any delivery.
"""

from __future__ import annotations

import copy
import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any, Final

from local import defaults
from local.demo.console import Console
from local.demo.journey import Journey

# How long, beyond one reconcile period, the demo waits for each recovery's callback.
WAIT_MARGIN_SECONDS: Final = 20.0


def missed_incident(sample: dict[str, Any], now: float) -> dict[str, Any]:
    """The sample as a new incident changed at ``now``: the search window of the next run
    holds it, where the sample's own times are years old."""
    payload = copy.deepcopy(sample)
    moment = int(now)
    incident = payload["incident"]
    incident.update(
        id=f"missed-{uuid.uuid4().hex[:12]}",
        startedOn=moment - 60,
        changedOn=moment,
        updatedOn=moment,
    )
    payload["event_types"] = [{"event": "incident#new", "time": moment}]
    return payload


def play_missed(
    console: Console,
    journey: Journey,
    drop: Callable[[dict[str, Any]], str],
    count: int,
    period_seconds: float,
    stop: threading.Event,
) -> list[str]:
    """Share ``count`` incidents whose deliveries are dropped, then wait (bounded) until the
    reconciler has recovered each and BigPanda has its callback. Returns their ids."""
    sample = json.loads(defaults.SAMPLE_EVENT.read_text(encoding="utf-8"))
    dropped = []
    for _ in range(count):
        incident_id = drop(missed_incident(sample, time.time()))
        dropped.append(incident_id)
        detail = f"shared incident {incident_id}; its delivery dropped on purpose"
        console.warn("bigpanda", detail, "--drop-delivery: the reconciler should find it")
    if period_seconds <= 0:
        console.warn("reconciler", "off (--reconcile-every 0): the dropped stay missing")
        return dropped
    wait = period_seconds + WAIT_MARGIN_SECONDS
    for incident_id in dropped:
        if not journey.wait_for_callback(incident_id, wait, stop) and not stop.is_set():
            detail = f"incident {incident_id} not recovered with its callback after {wait:.0f} s"
            console.warn("reconciler", detail, "see above")
    return dropped
