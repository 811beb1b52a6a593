"""Scheduled run of the reconciler: recover BigPanda deliveries that never arrived.

The work is ``pandabridge.reconcile``'s; the collaborators are built by
``pandabridge.composition.reconciler``. A run that BigPanda stopped (429, 5xx, a refused key)
is not an error of the invocation: it is counted (``ReconcilerFailures``, alarmed) and logged
with the setting to fix, and the next run searches the same window again.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from pandabridge.aws_clients import TRACED_MODULES
from pandabridge.composition.reconciler import api_reconciler, reconcile_scopes
from pandabridge.names import Metric

logger = Logger()
metrics = Metrics()
tracer = Tracer(patch_modules=TRACED_MODULES)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:  # noqa: ARG001
    """The schedule's event says nothing the run needs: it reads its own watermarks."""
    try:
        report = api_reconciler().run(reconcile_scopes())
    except Exception:
        metrics.add_metric(Metric.RECONCILER_FAILURES, MetricUnit.Count, 1)
        logger.exception("reconciler run failed")
        raise
    metrics.add_metric(Metric.RECONCILED_INCIDENTS, MetricUnit.Count, len(report.recovered))
    metrics.add_metric(Metric.RECONCILER_API_CALLS, MetricUnit.Count, report.api_calls)
    if report.stopped is not None:
        metrics.add_metric(Metric.RECONCILER_FAILURES, MetricUnit.Count, 1)
        logger.warning("reconciler run stopped; the next run resumes", extra=report.as_json())
    elif report.recovered:
        logger.warning("missed deliveries recovered", extra=report.as_json())
    else:
        logger.info("reconciler run complete", extra=report.as_json())
    return report.as_json()
