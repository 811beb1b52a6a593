"""The work queues between the functions: ticket sync and callback (both FIFO), with DLQs.

A message that keeps failing is moved to its queue's dead-letter queue after a configured
number of deliveries, where it waits (longer than any message waits in its source queue) for an
operator to inspect and redrive it; an alarm on each dead-letter queue says that one is
waiting. Every queue is encrypted with SQS-managed keys (SSE-SQS): the messages are nudges and
ticket references, not secrets, and SSE-SQS leaves no key policy to manage nor KMS permissions
to grant the pipe and the functions. Every queue refuses requests that do not use TLS.
"""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from stacks.checks import acknowledge
from stacks.config import StackSettings
from stacks.limits import StackLimits

# SQS's default. A message older than this is lost, so a dead-letter queue keeps its messages
# for SQS's maximum instead: a failure found after a long weekend can still be redriven.
SOURCE_RETENTION = Duration.days(4)
DLQ_RETENTION = Duration.days(14)

# AWS asks for a visibility timeout of at least six times the consumer's function timeout, so
# that Lambda can retry a throttled batch before its messages reappear to another poller.
VISIBILITY_TO_TIMEOUT_RATIO = 6

# SQS publishes queue metrics every minute; one message in a dead-letter queue is already a
# delivery that failed for good, so the alarm fires on the first one.
DEAD_LETTER_ALARM_PERIOD = Duration.minutes(1)
DEAD_LETTER_ALARM_THRESHOLD = 1


class VisibilityTimeoutError(ValueError):
    """A queue's visibility timeout is too short for the function that consumes it."""


def check_visibility(visibility_seconds: int, consumer_timeout_seconds: int, queue: str) -> None:
    """Refuse a visibility timeout below six times its consumer's function timeout."""
    minimum = VISIBILITY_TO_TIMEOUT_RATIO * consumer_timeout_seconds
    if visibility_seconds < minimum:
        raise VisibilityTimeoutError(
            f"the {queue} queue's visibility timeout ({visibility_seconds} s) must be at least "
            f"{VISIBILITY_TO_TIMEOUT_RATIO}x its consumer's timeout ({consumer_timeout_seconds} s)"
        )


class WorkQueues(Construct):
    """The ticket-sync and callback FIFO queues and their dead-letter queues.

    The grants are methods here, so callers get exactly one kind of access to one queue.
    """

    def __init__(self, scope: Construct, construct_id: str, *, settings: StackSettings) -> None:
        super().__init__(scope, construct_id)
        check_visibility(
            StackLimits.TICKET_SYNC_VISIBILITY_SECONDS,
            StackLimits.TICKET_SYNC_TIMEOUT_SECONDS,
            "ticket-sync",
        )
        check_visibility(
            StackLimits.CALLBACK_VISIBILITY_SECONDS,
            StackLimits.CALLBACK_TIMEOUT_SECONDS,
            "callback",
        )
        # One message group per incident: one worker at a time per incident, in stream order.
        self.ticket_sync_dlq = dead_letter_queue(self, "TicketSyncDlq", fifo=True)
        self.ticket_sync_queue = self._fifo_queue(
            "TicketSyncQueue",
            visibility_seconds=StackLimits.TICKET_SYNC_VISIBILITY_SECONDS,
            dlq=self.ticket_sync_dlq,
            max_receive_count=settings.ticket_sync_max_receive_count,
        )
        # FIFO too, deduplicated per incident: two syncs that both saw a callback owed (a retry
        # after a crash, or a redrive racing the original) enqueue one message, not two.
        self.callback_dlq = dead_letter_queue(self, "CallbackDlq", fifo=True)
        self.callback_queue = self._fifo_queue(
            "CallbackQueue",
            visibility_seconds=StackLimits.CALLBACK_VISIBILITY_SECONDS,
            dlq=self.callback_dlq,
            max_receive_count=settings.callback_max_receive_count,
        )
        self.ticket_sync_dlq_alarm = dead_letter_alarm(
            self,
            "TicketSyncDlqAlarm",
            self.ticket_sync_dlq,
            "Ticket-sync nudges failed for good: these incidents' tickets are not in sync. "
            "Inspect the messages in the ticket-sync DLQ and redrive them once the cause is fixed.",
        )
        self.callback_dlq_alarm = dead_letter_alarm(
            self,
            "CallbackDlqAlarm",
            self.callback_dlq,
            "Callbacks failed for good: BigPanda was not told of these tickets and released "
            "their incidents' shares after 5 minutes. Inspect the messages in the callback DLQ.",
        )

    def _fifo_queue(
        self, construct_id: str, *, visibility_seconds: int, dlq: sqs.IQueue, max_receive_count: int
    ) -> sqs.Queue:
        """A FIFO queue grouped and deduplicated per incident, encrypted, TLS-only, with a DLQ.

        Deduplication is per message group (the incident), so a deduplication id only needs to
        be unique within an incident; high throughput mode scales per group.
        """
        return sqs.Queue(
            self,
            construct_id,
            fifo=True,
            content_based_deduplication=False,
            deduplication_scope=sqs.DeduplicationScope.MESSAGE_GROUP,
            fifo_throughput_limit=sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
            visibility_timeout=Duration.seconds(visibility_seconds),
            retention_period=SOURCE_RETENTION,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
            dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=max_receive_count),
        )

    def grant_enqueue_sync(self, grantee: iam.IGrantable) -> iam.Grant:
        """Sending nudges to the ticket-sync queue (the pipe's only write)."""
        return self._grant_send(grantee, self.ticket_sync_queue)

    def grant_dead_letter_sync(self, grantee: iam.IGrantable) -> iam.Grant:
        """Sending a message straight to the ticket-sync DLQ: a failure that no retry fixes
        (e.g. the ticket system refuses the ticket) is parked at once instead of retried."""
        return self._grant_send(grantee, self.ticket_sync_dlq)

    def grant_send_sync_again(self, grantee: iam.IGrantable) -> iam.Grant:
        """Sending a waiting nudge back onto the ticket-sync queue as a fresh message, so that
        waiting (a lagging search, a refused step's backoff) never uses up its receive count
        and reaches the DLQ (``pandabridge.consumer``)."""
        return self._grant_send(grantee, self.ticket_sync_queue)

    def grant_request_callback(self, grantee: iam.IGrantable) -> iam.Grant:
        """Sending callback requests; reading them is the callback function's alone."""
        return self._grant_send(grantee, self.callback_queue)

    def grant_dead_letter_callback(self, grantee: iam.IGrantable) -> iam.Grant:
        """Sending a message straight to the callback DLQ: a callback that BigPanda refuses
        for good (e.g. an unknown incident or a bad app key) is parked at once, not retried."""
        return self._grant_send(grantee, self.callback_dlq)

    def consume_ticket_sync(
        self, function: lambda_.IFunction, *, max_concurrency: int | None
    ) -> event_sources.SqsEventSource:
        """Feed the ticket-sync queue to ``function``, reporting failures per message.

        The event source grants the function what Lambda's poller calls on its behalf
        (receive, delete, get attributes) and what the function calls itself to back off a
        failed message before its retry (``sqs:GetQueueUrl`` for the URL of the queue named
        by the event's ARN, ``sqs:ChangeMessageVisibility``), on this queue only.
        """
        return self._consume(
            self.ticket_sync_queue,
            function,
            batch_size=StackLimits.TICKET_SYNC_BATCH_SIZE,
            max_concurrency=max_concurrency,
            dead_letter_queue="ticket-sync DLQ",
        )

    def consume_callback(
        self, function: lambda_.IFunction, *, max_concurrency: int
    ) -> event_sources.SqsEventSource:
        """Feed the callback queue to ``function``, reporting failures per message.

        The same access as ``consume_ticket_sync`` (the poller's calls, and the function's own
        visibility changes for backoff), on the callback queue only. ``max_concurrency`` caps
        the invocations at once, and so the calls to BigPanda at once.
        """
        return self._consume(
            self.callback_queue,
            function,
            batch_size=StackLimits.CALLBACK_BATCH_SIZE,
            max_concurrency=max_concurrency,
            dead_letter_queue="callback DLQ",
        )

    @staticmethod
    def _consume(
        queue: sqs.IQueue,
        function: lambda_.IFunction,
        *,
        batch_size: int,
        max_concurrency: int | None,
        dead_letter_queue: str,
    ) -> event_sources.SqsEventSource:
        source = event_sources.SqsEventSource(
            queue,
            batch_size=batch_size,
            report_batch_item_failures=True,
            max_concurrency=max_concurrency,
        )
        function.add_event_source(source)
        acknowledge(
            function,
            "Serverless-LambdaEventSourceMappingDestination",
            "Lambda supports no on-failure destination for SQS event sources; a message that "
            f"keeps failing is moved to the {dead_letter_queue} by the queue's redrive policy.",
        )
        return source

    @staticmethod
    def _grant_send(grantee: iam.IGrantable, queue: sqs.IQueue) -> iam.Grant:
        return iam.Grant.add_to_principal(
            grantee=grantee, actions=["sqs:SendMessage"], resource_arns=[queue.queue_arn]
        )


def dead_letter_queue(scope: Construct, construct_id: str, *, fifo: bool = False) -> sqs.Queue:
    """A DLQ with the hygiene of the work queues and the longest retention SQS allows.

    A FIFO queue's DLQ must be FIFO too. The FIFO DLQ has no content-based deduplication:
    whoever sends to it directly gives a deduplication id, as on the ticket-sync queue.
    """
    queue = sqs.Queue(
        scope,
        construct_id,
        fifo=fifo or None,
        retention_period=DLQ_RETENTION,
        encryption=sqs.QueueEncryption.SQS_MANAGED,
        enforce_ssl=True,
    )
    acknowledge(
        queue,
        "Serverless-SQSRedrivePolicy",
        "This queue is a dead-letter queue, the end of the line for failed messages: nothing "
        "consumes it, so nothing could fail to process a message and need its own DLQ.",
    )
    return queue


def dead_letter_alarm(
    scope: Construct, construct_id: str, queue: sqs.IQueue, description: str
) -> cloudwatch.Alarm:
    """An alarm while ``queue`` (a dead-letter queue) holds any message, with no action yet.

    It fires on the first message, within a minute, and stays in alarm until the queue is
    emptied (redriven or purged). No data counts as no message: SQS may stop publishing the
    metrics of a queue that sits empty and idle. The alarm is the queue's sibling, not its
    child, so that the queue's acknowledged findings do not spread to it; whoever adds
    notifications (a topic's action) adds them to the alarm that the queue's owner exposes.
    """
    metric = queue.metric_approximate_number_of_messages_visible(
        period=DEAD_LETTER_ALARM_PERIOD, statistic=cloudwatch.Stats.MAXIMUM
    )
    return cloudwatch.Alarm(
        scope,
        construct_id,
        metric=metric,
        alarm_description=description,
        threshold=DEAD_LETTER_ALARM_THRESHOLD,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluation_periods=1,
        datapoints_to_alarm=1,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
