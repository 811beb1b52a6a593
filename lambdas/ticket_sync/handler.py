"""Ticket-sync queue consumer: each message nudges one incident's ticket into step.

FIFO batches with partial failures: a failed message holds back the later messages of its
incident (message group) only. Failures are postponed by a backoff instead of the queue's long
visibility timeout; a failure that retrying cannot fix goes to the DLQ at once.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from pandabridge import composition
from pandabridge.errors import PermanentError, RetryableError
from pandabridge.messages import SyncNudge
from pandabridge.names import Metric
from pandabridge.retry import backoff_seconds
from pandabridge.settings import ticket_sync_settings
from pandabridge.sync import Action

logger = Logger()
metrics = Metrics()
tracer = Tracer()
processor = SqsFifoPartialProcessor(skip_group_on_error=True)
# Report a batch whose every record failed as partial failures too (the FIFO processor has no
# constructor flag for it): each failure is then postponed by its backoff, instead of the
# invocation failing and every message waiting out the queue's 6x-timeout visibility.
processor.raise_on_entire_batch_failure = False

ACTION_METRICS = {
    Action.CREATED: Metric.TICKET_CREATED,
    Action.UPDATED: Metric.TICKET_UPDATED,
    Action.RESOLVED: Metric.TICKET_RESOLVED,
    Action.REOPENED: Metric.TICKET_REOPENED,
    Action.COMMENTED: Metric.TICKET_COMMENTED,
}

# Retry-After asked for by the target, per failed message of the current batch.
_retry_after: dict[str, float | None] = {}


@tracer.capture_method
def sync_record(record: SQSRecord) -> None:
    logger.remove_keys(["incident_id"])
    try:
        nudge = _nudge(record)
        logger.append_keys(incident_id=nudge.incident_id)
        report = composition.reconciler().sync(nudge)
    except PermanentError as error:
        logger.error(
            "ticket sync failed permanently; message sent to the DLQ",
            extra={"reason": str(error), "setting": error.setting, "status": error.status},
        )
        composition.queue_control().dead_letter(
            ticket_sync_settings().ticket_sync_dlq_url, record.raw_event, str(error)
        )
        metrics.add_metric(Metric.TICKET_SYNC_FAILED, MetricUnit.Count, 1)
        return
    except RetryableError as error:
        _retry_after[record.message_id] = error.retry_after
        metrics.add_metric(Metric.TICKET_SYNC_RETRIED, MetricUnit.Count, 1)
        logger.warning("ticket sync will be retried", extra={"reason": str(error)})
        raise
    for action in report.actions:
        if action in ACTION_METRICS:
            metrics.add_metric(ACTION_METRICS[action], MetricUnit.Count, 1)
    ticket = report.ticket.key or report.ticket.id if report.ticket else None
    logger.info("ticket in step", extra={"ticket": ticket, "actions": list(report.actions)})


def _nudge(record: SQSRecord) -> SyncNudge:
    try:
        return SyncNudge.model_validate_json(record.body)
    except ValidationError:
        raise PermanentError(
            "the message is not a ticket-sync nudge", setting="the ticket-sync queue's producer"
        ) from None


def _postpone_failures(event: dict[str, Any], response: dict[str, Any]) -> None:
    """Give each failed message its backoff, and the held-back messages of its group the same,
    so the group resumes together as soon as the failed one is due."""
    failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
    records = [r for r in event.get("Records", []) if r["messageId"] in failed]
    if not records:
        return
    delay_of_group: dict[str, int] = {}
    delays: list[tuple[str, int]] = []
    for record in records:
        attributes = record.get("attributes", {})
        group = attributes.get("MessageGroupId", record["messageId"])
        if group not in delay_of_group:
            count = int(attributes.get("ApproximateReceiveCount", "1"))
            delay_of_group[group] = backoff_seconds(count, _retry_after.get(record["messageId"]))
        delays.append((record["receiptHandle"], delay_of_group[group]))
    try:
        composition.queue_control().postpone(records[0]["eventSourceARN"], delays)
    except Exception:  # the messages then return after the queue's own visibility timeout
        logger.exception("could not postpone the failed messages")


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _retry_after.clear()
    response = process_partial_response(
        event=event, record_handler=sync_record, processor=processor, context=context
    )
    _postpone_failures(event, response)
    return response
