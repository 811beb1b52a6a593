"""Callback queue consumer: confirm each newly created ticket to BigPanda, once.

The failure policy (backoff honouring Retry-After, DLQ for permanent refusals, FIFO partial
batches) is ``pandabridge.consumer``'s; the work is ``pandabridge.callbacks``'s.
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
from pandabridge.composition.callback import confirmer
from pandabridge.composition.queues import queue_control
from pandabridge.consumer import QueueWorker, read_message
from pandabridge.messages import CallbackRequest
from pandabridge.names import Env, Metric
from pandabridge.settings import dead_letter_queue_url

logger = Logger()
metrics = Metrics()
tracer = Tracer(patch_modules=TRACED_MODULES)
worker = QueueWorker(
    logger=logger,
    metrics=metrics,
    tracer=tracer,
    queue_control=queue_control,
    dlq_url=partial(dead_letter_queue_url, Env.CALLBACK_DLQ_URL),
    retried_metric=Metric.CALLBACK_RETRIED,
    failed_metric=Metric.CALLBACK_FAILED,
    not_configured_metric=Metric.CALLBACK_NOT_CONFIGURED,
)


def confirm_record(record: SQSRecord) -> None:
    logger.remove_keys(["incident_id"])
    with worker.failure_policy(record, name="confirm_record"):
        request = read_message(record, CallbackRequest, queue="callback")
        logger.append_keys(incident_id=request.incident_id)
        outcome = confirmer(request.incident_id).confirm(request)
        if not outcome.sent:
            logger.info("callback already confirmed; nothing sent")
            return
        metrics.add_metric(Metric.CALLBACK_CONFIRMED, MetricUnit.Count, 1)
        latency_ms = outcome.latency.total_seconds() * 1000 if outcome.latency else None
        if latency_ms is not None:
            metrics.add_metric(Metric.CALLBACK_LATENCY, MetricUnit.Milliseconds, latency_ms)
        logger.info(
            "callback confirmed",
            extra={"ticket": request.ticket_ref, "webhook_to_callback_ms": latency_ms},
        )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return worker.run(event, context, confirm_record)
