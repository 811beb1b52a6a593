"""The failure policy both queue consumers (ticket sync, callback) share.

- A ``RetryableError`` fails the record; after the batch, each failed record (and the records
  of its message group held back behind it) is postponed by a backoff, or by the other side's
  ``Retry-After`` when that is longer, instead of the queue's 6x-timeout visibility.
- A ``PermanentError`` sends the record straight to the DLQ with the reason, logs the setting
  to fix, and reports the record processed: retrying would only repeat the refusal. Should the
  DLQ refuse the copy, the record fails instead, to be retried and redriven by the queue.
- A ``WaitingError`` (nothing failed: the message waits for time to pass) is postponed by its
  backoff like a retryable one, logged at INFO and not counted as a failure. Waiting must never
  use up the queue's receive count, so once a waiting record's receive count is within
  ``RESEND_MARGIN`` of the queue's ``maxReceiveCount``, a fresh copy is sent to the end of its
  group (its count starts again) and the record is reported processed.
- A ``NotConfiguredError`` (a setting the stack deploys without) fails the record and is
  postponed like a retryable one, logged at ERROR with the setting and counted apart.
- Anything else (a bug, a ``ConfigurationError``, an AWS outage) is logged at ERROR with its
  traceback, counted as retried, and postponed like a retryable one.

A record that keeps failing ends in the DLQ after ``maxReceiveCount`` deliveries, by the
queue's redrive policy. Each failed record is logged once, at WARNING (it will be retried) or
ERROR (it needs an operator), through the function's own logger; the record's trace subsegment
is opened here rather than by ``Tracer.capture_method``, which would log every exception a
second time.

Batches are FIFO with partial failures: a failed record holds back only the later records of
its own message group (its incident), never other incidents.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, TypeAdapter, ValidationError

from pandabridge.errors import NotConfiguredError, PermanentError, RetryableError, WaitingError
from pandabridge.retry import backoff_seconds
from pandabridge.stores.queues import QueueControl

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

# A waiting record this close to the queue's maxReceiveCount is sent on as a fresh copy: one
# receive to spare in case the copy cannot be sent this time.
RESEND_MARGIN = 2


def read_message(record: SQSRecord, model: type[M] | TypeAdapter[T], *, queue: str) -> M | T:
    """The record's body as ``model`` (a model, or an adapter of a union of models); a body
    that is not one can never succeed, so it is a ``PermanentError`` (the DLQ), naming the
    queue whose producer sent it."""
    try:
        if isinstance(model, TypeAdapter):
            return model.validate_json(record.body)
        return model.model_validate_json(record.body)
    except ValidationError:
        name = f"{queue} message" if isinstance(model, TypeAdapter) else model.__name__
        raise PermanentError(
            f"the message is not a {name}", setting=f"the {queue} queue's producer"
        ) from None


class QueueWorker:
    """One consumer's batch run and failure policy.

    ``retried_metric`` counts the records that failed and will be retried, whatever the reason;
    ``failed_metric`` those sent to the DLQ; ``not_configured_metric``, when given, those that
    wait for a missing setting (otherwise they count as retried). An unexpected failure is
    counted as retried, not under a metric of its own: it is retried like the others, its
    ERROR line and traceback tell it apart, and every metric name is billed each month.
    """

    def __init__(
        self,
        *,
        logger: Logger,
        metrics: Metrics,
        tracer: Tracer,
        queue_control: Callable[[], QueueControl],
        dlq_url: Callable[[], str],
        retried_metric: str,
        failed_metric: str,
        not_configured_metric: str | None = None,
    ) -> None:
        self._logger = logger
        self._metrics = metrics
        self._tracer = tracer
        self._queue_control = queue_control
        self._dlq_url = dlq_url
        self._retried_metric = retried_metric
        self._failed_metric = failed_metric
        self._not_configured_metric = not_configured_metric or retried_metric
        self._processor = SqsFifoPartialProcessor(skip_group_on_error=True)
        # Report a batch whose every record failed as partial failures too, so those failures
        # are postponed by their backoff instead of the invocation failing. The FIFO processor
        # does not pass the base class's ``raise_on_entire_batch_failure`` on (Powertools 3.37;
        # aws-powertools/powertools-lambda-python#7596 asks for it), and a subclass could only
        # set the same attribute after the same constructor: pass it there once it exists.
        self._processor.raise_on_entire_batch_failure = False
        self._retry_after: dict[str, float | None] = {}

    def run(
        self,
        event: dict[str, Any],
        context: LambdaContext,
        record_handler: Callable[[SQSRecord], None],
    ) -> dict[str, Any]:
        """Process a batch and return Lambda's partial batch response."""
        self._retry_after.clear()
        response: dict[str, Any] = dict(
            process_partial_response(
                event=event,
                record_handler=record_handler,
                processor=self._processor,
                context=context,
            )
        )
        self._postpone_failures(event, response)
        return response

    @contextmanager
    def failure_policy(self, record: SQSRecord, *, name: str) -> Iterator[None]:
        """Wrap one record's work, traced as the subsegment ``## {name}``, in the policy of
        the module docstring."""
        try:
            with self._tracer.provider.in_subsegment(name=f"## {name}"):
                yield
        except PermanentError as error:
            self._dead_letter(record, error)
        except WaitingError as error:
            if self._sent_again(record):
                self._logger.info(
                    "still waiting; sent on as a fresh message so that waiting uses up no "
                    "receive count",
                    extra={"reason": str(error)},
                )
                return
            self._retry_after[record.message_id] = error.retry_after
            self._logger.info(
                "waits", extra={"reason": str(error), "retry_after": error.retry_after}
            )
            raise
        except RetryableError as error:
            self._retry_after[record.message_id] = error.retry_after
            self._metrics.add_metric(self._retried_metric, MetricUnit.Count, 1)
            self._logger.warning("will be retried", extra={"reason": str(error)})
            raise
        except NotConfiguredError as error:
            self._metrics.add_metric(self._not_configured_metric, MetricUnit.Count, 1)
            self._logger.error(
                "not configured; the message waits and will be retried",
                extra={"reason": str(error), "setting": error.setting, "variable": error.variable},
            )
            raise
        except Exception as error:
            self._metrics.add_metric(self._retried_metric, MetricUnit.Count, 1)
            self._logger.exception(
                "failed unexpectedly; will be retried",
                extra={"reason": f"{type(error).__name__}: {error}"},
            )
            raise

    def _sent_again(self, record: SQSRecord) -> bool:
        """Whether the record was near its queue's maxReceiveCount, and a fresh copy is sent."""
        control = self._queue_control()
        limit = control.max_receive_count(record.event_source_arn)
        received = int(record.attributes.approximate_receive_count)
        if limit is None or received < limit - RESEND_MARGIN:
            return False
        try:
            control.send_again(record.event_source_arn, record.raw_event)
        except Exception:
            self._logger.exception("could not send a waiting message on; it waits in place")
            return False
        return True

    def _dead_letter(self, record: SQSRecord, error: PermanentError) -> None:
        """Copy the record to the DLQ, and say so only once the DLQ has taken it."""
        details = {"reason": str(error), "setting": error.setting, "status": error.status}
        try:
            self._queue_control().dead_letter(self._dlq_url(), record.raw_event, str(error))
        except Exception:
            self._metrics.add_metric(self._retried_metric, MetricUnit.Count, 1)
            self._logger.exception(
                "failed for good, but could not be sent to the DLQ; will be retried",
                extra=details,
            )
            raise
        self._metrics.add_metric(self._failed_metric, MetricUnit.Count, 1)
        self._logger.error("failed for good; message sent to the DLQ", extra=details)

    def _postpone_failures(self, event: dict[str, Any], response: dict[str, Any]) -> None:
        """Give each failed message its backoff, and the held-back messages of its group the
        same, so the group resumes together as soon as the failed one is due."""
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
                retry_after = self._retry_after.get(record["messageId"])
                delay_of_group[group] = backoff_seconds(count, retry_after)
            delays.append((record["receiptHandle"], delay_of_group[group]))
        try:
            self._queue_control().postpone(records[0]["eventSourceARN"], delays)
        except Exception:  # the messages then return after the queue's own visibility timeout
            self._logger.exception("could not postpone the failed messages")
