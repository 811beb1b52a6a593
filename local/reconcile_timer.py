"""EventBridge Scheduler's part, played locally: invoke the reconciler every few seconds.

The deployed schedule runs the function every ``[reconciler] every_minutes``; locally the
period is ``make run``'s ``--reconcile-every`` (seconds), short, so that a dropped delivery
(``--drop-delivery``) shows the reconciler finding it within a minute. Runs never overlap: one
timer is one execution environment, as the function's one invocation at a time.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from local.functions import FunctionError, LocalFunction

logger = logging.getLogger(__name__)

# The event EventBridge Scheduler sends a Lambda target by default: the run reads nothing of it.
SCHEDULED_EVENT: dict[str, Any] = {}

OnRun = Callable[[dict[str, Any]], None]


class ReconcileTimer:
    """Runs ``function`` now and every ``period_seconds`` until stopped."""

    def __init__(
        self, function: LocalFunction, period_seconds: float, on_run: OnRun | None = None
    ) -> None:
        if period_seconds <= 0:
            raise ValueError(f"the reconcile period must be positive, not {period_seconds}")
        self.function = function
        self.period_seconds = period_seconds
        self.on_run = on_run
        self.runs = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="reconciler", daemon=True)

    def start(self) -> ReconcileTimer:
        self._thread.start()
        return self

    def run_once(self) -> dict[str, Any] | None:
        """One scheduled invocation; its report, or None when the function failed (logged)."""
        try:
            report: dict[str, Any] = self.function.invoke(SCHEDULED_EVENT)
        except FunctionError:
            return None  # logged by the invocation, as Lambda's logs would show it
        finally:
            self.runs += 1
        if self.on_run is not None:
            self.on_run(report)
        return report

    def _loop(self) -> None:
        while not self._stop.wait(self.period_seconds):
            self.run_once()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self.function.timeout_seconds)
