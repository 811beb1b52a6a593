"""Ticket-sync queue consumer: each message nudges one incident's ticket into step, or
mirrors one desk event to BigPanda.

The queue carries both directions in each incident's FIFO group, so they never race: a
``SyncNudge`` (BigPanda's incident changed) is ``pandabridge.sync``'s work, a ``DeskEventNudge``
(the desk changed the ticket) is ``pandabridge.write_back``'s. The failure policy (backoff, DLQ
for permanent failures, waiting on a full rate limit, FIFO partial batches) is
``pandabridge.consumer``'s.
"""

from __future__ import annotations

from functools import partial
from typing import Any

# First, before anything imports pydantic: Powertools' batch utility then skips building its
# parser models (SQS, Kinesis, DynamoDB, Kafka), tens of milliseconds of cold start that only
# a batch given a pydantic model uses, and this consumer gives none.
import aws_lambda_powertools.utilities.batch  # noqa: F401
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from pandabridge.aws_clients import TRACED_MODULES
from pandabridge.composition.queues import queue_control
from pandabridge.composition.ticket_sync import desk_events, desk_mirror, reconciler
from pandabridge.consumer import QueueWorker, read_message
from pandabridge.errors import WaitingError
from pandabridge.messages import TICKET_SYNC_MESSAGE, DeskEventNudge, SyncNudge
from pandabridge.names import Env, Metric
from pandabridge.settings import dead_letter_queue_url
from pandabridge.sync import Action, SyncReport
from pandabridge.write_back import MirrorReport

logger = Logger()
metrics = Metrics()
tracer = Tracer(patch_modules=TRACED_MODULES)
worker = QueueWorker(
    logger=logger,
    metrics=metrics,
    tracer=tracer,
    queue_control=queue_control,
    dlq_url=partial(dead_letter_queue_url, Env.TICKET_SYNC_DLQ_URL),
    retried_metric=Metric.TICKET_SYNC_RETRIED,
    failed_metric=Metric.TICKET_SYNC_FAILED,
)

ACTION_METRICS = {
    Action.CREATED: Metric.TICKET_CREATED,
    Action.UPDATED: Metric.TICKET_UPDATED,
    Action.RESOLVED: Metric.TICKET_RESOLVED,
    Action.REOPENED: Metric.TICKET_REOPENED,
}


def sync_record(record: SQSRecord) -> None:
    logger.remove_keys(["incident_id"])
    with worker.failure_policy(record, name="sync_record"):
        message = read_message(record, TICKET_SYNC_MESSAGE, queue="ticket-sync")
        logger.append_keys(incident_id=message.incident_id)
        if isinstance(message, DeskEventNudge):
            mirror_desk_event(message)
        else:
            sync_incident(message)


def sync_incident(nudge: SyncNudge) -> None:
    report = reconciler(nudge.incident_id).sync(nudge)
    for action in report.actions:
        if action in ACTION_METRICS:
            metrics.add_metric(ACTION_METRICS[action], MetricUnit.Count, 1)
    ticket = (report.ticket.key or report.ticket.id) if report.ticket else None
    logger.info("ticket in step", extra={"ticket": ticket, "actions": list(report.actions)})
    report_failed_steps(report, ticket)


def mirror_desk_event(nudge: DeskEventNudge) -> None:
    """Apply one stored desk event to BigPanda; an event no longer stored, or a target without
    ``two_way``, is logged and done."""
    event = desk_events().get(nudge.target, nudge.event_id)
    mirror = desk_mirror(nudge.target)
    if event is None or mirror is None:
        reason = "no longer stored" if event is None else "two_way is not configured"
        logger.warning(
            f"desk event not mirrored: {reason}",
            extra={"target": nudge.target, "event_id": nudge.event_id},
        )
        return
    report_mirrored(mirror.apply(event), event_id=nudge.event_id)


def report_mirrored(report: MirrorReport, *, event_id: str) -> None:
    """One count and one line per desk event; an ERROR while its incident's loop breaker is
    open, which ``SyncLoopSuspected`` alarms on."""
    details = {"event_id": event_id, "kind": report.kind, "outcome": report.outcome.value}
    if report.outcome.loop_suspected:
        metrics.add_metric(Metric.SYNC_LOOP_SUSPECTED, MetricUnit.Count, 1)
        logger.error(
            "sync loop suspected: mirroring of this incident to BigPanda is stopped; "
            "pandabridge-ops inspect shows since when",
            extra={**details, "detail": report.detail},
        )
        return
    metric = Metric.DESK_EVENT_MIRRORED if report.outcome.mirrored else Metric.DESK_EVENT_DROPPED
    metrics.add_metric(metric, MetricUnit.Count, 1)
    logger.info(
        "desk event mirrored" if report.outcome.mirrored else "desk event dropped",
        extra={**details, "detail": report.detail},
    )


def report_failed_steps(report: SyncReport, ticket: str | None) -> None:
    """One WARNING naming the setting to fix, and one count, per step the desk refused; then
    postpone the nudge if a refused step is to be tried again soon."""
    for failure in report.failed_steps:
        metrics.add_metric(Metric.TICKET_STEP_FAILED, MetricUnit.Count, 1)
        logger.warning(
            f"the desk refused the step {failure.step}; the other steps went on. "
            f"Check {failure.setting}",
            extra={
                "ticket": ticket,
                "step": failure.step,
                "setting": failure.setting,
                "reason": failure.reason,
                "status": failure.status,
                "attempts": failure.attempts,
            },
        )
    if report.retry_after is not None:
        steps = ", ".join(failure.step for failure in report.failed_steps)
        raise WaitingError(f"refused step(s) {steps} to be tried again", report.retry_after)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return worker.run(event, context, sync_record)
