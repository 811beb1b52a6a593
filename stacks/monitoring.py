"""Monitoring: one CloudWatch dashboard, and alarms that notify an SNS topic.

Built on CDK's own ``aws_cloudwatch`` constructs rather than cdk-monitoring-constructs: the
dashboard repeats a dozen kinds of graph over resources this stack already holds, which the L2
metric methods (``metric_errors``, ``metric_approximate_age_of_oldest_message``, ...) describe
in a line each. The higher-level library would add a dependency, with its own jsii package and
release cadence pinned against ``aws-cdk-lib``, for widgets we would then have to trim back.

Every alarm, including the dead-letter alarms that the queues' owners expose, notifies one
topic when it fires and when it clears, so an operator subscribed by e-mail learns both. Silence
is normal for every metric watched here (an idle API, an empty queue, no callbacks due), so no
data never counts as breaching.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

from aws_cdk import ArnFormat, Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from pandabridge.names import BIGPANDA_APP_KEY_SETTING, METRICS_NAMESPACE, SERVICE_NAME, Metric
from stacks.callback import Callback
from stacks.checks import acknowledge
from stacks.config import StackSettings
from stacks.desk_events import DeskEvents
from stacks.ingest_api import IngestApi
from stacks.limits import StackLimits
from stacks.queues import WorkQueues
from stacks.reconciler import Reconciler
from stacks.storage import IncidentStorage
from stacks.stream_handoff import StreamHandoff
from stacks.ticket_sync import TicketSync

# Powertools Metrics adds this dimension to every metric, valued POWERTOOLS_SERVICE_NAME.
SERVICE_DIMENSION: Final = "service"

# The window of every graph and of the alarms that count events: long enough that a single
# failure shows as a point, short enough that an alarm fires within minutes of it.
PERIOD: Final = Duration.minutes(5)
# SQS publishes queue metrics every minute; a backlog is worth knowing about at once.
QUEUE_AGE_PERIOD: Final = Duration.minutes(1)
DASHBOARD_INTERVAL: Final = Duration.hours(6)

# The DynamoDB calls made on each table (the functions' grants in ``stacks/storage.py``, and
# the pipe's stream reads): ThrottledRequests and SystemErrors are published per operation.
INCIDENT_TABLE_OPERATIONS: Final = (
    dynamodb.Operation.PUT_ITEM,
    dynamodb.Operation.GET_ITEM,
    dynamodb.Operation.GET_RECORDS,
)
TICKET_TABLE_OPERATIONS: Final = (
    dynamodb.Operation.GET_ITEM,
    dynamodb.Operation.PUT_ITEM,
    dynamodb.Operation.UPDATE_ITEM,
)
CONTROL_TABLE_OPERATIONS: Final = (
    dynamodb.Operation.GET_ITEM,
    dynamodb.Operation.PUT_ITEM,
    dynamodb.Operation.UPDATE_ITEM,
    dynamodb.Operation.QUERY,
)

# Dashboard grid: 24 units wide; each graph is 6 units high.
FULL_WIDTH: Final = 24
GRAPH_HEIGHT: Final = 6

CLOUDWATCH_SERVICE: Final = "cloudwatch.amazonaws.com"


_Resource = TypeVar("_Resource")


@dataclass(frozen=True)
class Watched(Generic[_Resource]):
    """A resource shown on the dashboard, with the name its graphs and alarms carry.

    ``key`` is a construct-id fragment (``TicketSync``), ``title`` the words on the dashboard.
    """

    key: str
    title: str
    resource: _Resource


@dataclass(frozen=True)
class WatchedTable:
    """A table, and the operations made on it: DynamoDB reports errors per operation."""

    title: str
    table: dynamodb.ITable
    operations: tuple[dynamodb.Operation, ...]


def business_metric(
    name: str, *, statistic: str = cloudwatch.Stats.SUM, label: str | None = None
) -> cloudwatch.Metric:
    """A metric the functions emit with Powertools (EMF), under the service's dimension."""
    return cloudwatch.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={SERVICE_DIMENSION: SERVICE_NAME},
        statistic=statistic,
        label=label,
        period=PERIOD,
    )


class Monitoring(Construct):
    """The dashboard, the alarm topic (with its key and optional e-mail subscription), and
    the alarms on the API, the functions, the queues and the callback latency.

    When the API has a bearer-token authorizer, its function gets its own row of graphs and an
    error alarm like every function, and its rejections and misconfiguration get alarms.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: StackSettings,
        ingest_api: IngestApi,
        storage: IncidentStorage,
        queues: WorkQueues,
        handoff: StreamHandoff,
        ticket_sync: TicketSync,
        callback: Callback,
        reconciler: Reconciler,
        desk_events: DeskEvents | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.settings = settings
        self.stage = ingest_api.api.deployment_stage
        self.functions = [
            Watched("Ingest", "ingest", ingest_api.ingest.function),
            Watched("TicketSync", "ticket sync", ticket_sync.worker.function),
            Watched("Callback", "callback", callback.confirmer.function),
            Watched("Reconciler", "reconciler", reconciler.worker.function),
        ]
        if desk_events is not None:
            self.functions.append(
                Watched("DeskEvents", "desk events", desk_events.receiver.function)
            )
        bearer_auth = ingest_api.bearer_auth
        if bearer_auth is not None:
            self.functions.append(Watched("Authorizer", "authorizer", bearer_auth.checker.function))
        self.work_queues = [
            Watched("TicketSync", "ticket-sync queue", queues.ticket_sync_queue),
            Watched("Callback", "callback queue", queues.callback_queue),
        ]
        self.dead_letter_queues = [
            Watched("TicketSyncDlq", "ticket-sync DLQ", queues.ticket_sync_dlq),
            Watched("CallbackDlq", "callback DLQ", queues.callback_dlq),
            Watched("PipeDlq", "pipe DLQ", handoff.dead_letter_queue),
        ]
        self.tables = [
            WatchedTable("incidents table", storage.table, INCIDENT_TABLE_OPERATIONS),
            WatchedTable("tickets table", storage.tickets_table, TICKET_TABLE_OPERATIONS),
            WatchedTable("control table", storage.control_table, CONTROL_TABLE_OPERATIONS),
        ]

        self.topic = self._alarm_topic()
        self.action = cloudwatch_actions.SnsAction(self.topic)

        # The queues' owners create the dead-letter alarms; notifications are added here.
        self.dead_letter_alarms = [
            queues.ticket_sync_dlq_alarm,
            queues.callback_dlq_alarm,
            handoff.dead_letter_alarm,
        ]
        for alarm in self.dead_letter_alarms:
            self._notify(alarm)
        self.ticket_sync_age_alarm = self._ticket_sync_age_alarm(queues.ticket_sync_queue)
        self.callback_latency_alarm = self._callback_latency_alarm()
        self.function_error_alarms = {
            watched.key: self._function_error_alarm(watched) for watched in self.functions
        }
        self.api_server_error_alarm = self._api_server_error_alarm()
        self.authorizer_alarms = self._authorizer_alarms() if bearer_auth is not None else []
        self.ticket_step_failed_alarm = self._ticket_step_failed_alarm()
        self.reconciler_alarms = self._reconciler_alarms()
        self.sync_loop_alarm = self._sync_loop_alarm()
        self.desk_event_alarms = [self._desk_event_failed_alarm()] if desk_events else []
        self.callback_not_configured_alarms = (
            [self._callback_not_configured_alarm()] if settings.lacks_bigpanda_app_key else []
        )

        self.dashboard = self._dashboard()
        self.dashboard_url = (
            f"https://console.aws.amazon.com/cloudwatch/home?region={Aws.REGION}"
            f"#dashboards:name={self.dashboard.dashboard_name}"
        )

    @property
    def alarms(self) -> list[cloudwatch.Alarm]:
        """Every alarm that notifies the topic."""
        return [
            *self.dead_letter_alarms,
            self.ticket_sync_age_alarm,
            self.callback_latency_alarm,
            *self.function_error_alarms.values(),
            self.api_server_error_alarm,
            *self.authorizer_alarms,
            self.ticket_step_failed_alarm,
            *self.reconciler_alarms,
            self.sync_loop_alarm,
            *self.callback_not_configured_alarms,
            *self.desk_event_alarms,
        ]

    # --- the topic ------------------------------------------------------------------------

    def _alarm_topic(self) -> sns.Topic:
        """A topic encrypted with its own key, TLS-only, published to by this account's alarms.

        Not the AWS-managed ``alias/aws/sns`` key: its policy cannot be changed, so CloudWatch
        could not use it and every notification would be dropped without an error. The key
        protects nothing but notifications in transit, so it goes with the stack whatever
        ``removal_policy`` says. Enforcing TLS replaces the topic's default policy, which is
        what let the account's alarms publish; the policy therefore allows them explicitly.
        """
        key = kms.Key(
            self,
            "AlarmTopicKey",
            description="Encrypts the notifications of the BigPanda webhook stack's alarms",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,
            pending_window=Duration.days(7),
        )
        # As AWS documents for CloudWatch and encrypted topics, and like the topic's policy
        # only on behalf of this account's alarms: another account's alarm cannot make
        # CloudWatch use this key (the confused deputy). This key encrypts nothing else.
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToUseTheKey",
                principals=[iam.ServicePrincipal(CLOUDWATCH_SERVICE)],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions=self._for_this_accounts_alarms(),
            )
        )
        topic = sns.Topic(
            self,
            "AlarmTopic",
            display_name=f"{Stack.of(self).stack_name} alarms",
            master_key=key,
            enforce_ssl=True,
        )
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowAlarmsOfThisAccount",
                principals=[iam.ServicePrincipal(CLOUDWATCH_SERVICE)],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions=self._for_this_accounts_alarms(),
            )
        )
        if self.settings.alarm_email is not None:
            subscription = topic.add_subscription(
                subscriptions.EmailSubscription(self.settings.alarm_email)
            )
            acknowledge(
                subscription,
                "Serverless-SNSRedrivePolicy",
                "A notification that cannot be e-mailed is a bounce from the operator's "
                "mailbox; a dead-letter queue of them would need an alarm of its own, which "
                "could only notify this same topic. Every alarm's state stays on the dashboard "
                "and in CloudWatch's alarm history.",
            )
        return topic

    def _for_this_accounts_alarms(self) -> dict[str, dict[str, str]]:
        """The conditions under which CloudWatch acts for an alarm of this account and region."""
        return {
            "ArnLike": {"aws:SourceArn": self._alarm_arn_pattern()},
            "StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID},
        }

    def _alarm_arn_pattern(self) -> str:
        """Every alarm of this account and region (``...:<region>:<account>:alarm:*``)."""
        return Stack.of(self).format_arn(
            service="cloudwatch",
            resource="alarm",
            resource_name="*",
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )

    # --- the alarms -----------------------------------------------------------------------

    def _notify(self, alarm: cloudwatch.Alarm) -> cloudwatch.Alarm:
        alarm.add_alarm_action(self.action)
        alarm.add_ok_action(self.action)
        return alarm

    def _alarm(
        self,
        construct_id: str,
        *,
        metric: cloudwatch.IMetric,
        threshold: float,
        description: str,
    ) -> cloudwatch.Alarm:
        """An alarm on one period above ``threshold``; no data is no trouble."""
        return self._notify(
            cloudwatch.Alarm(
                self,
                construct_id,
                metric=metric,
                threshold=threshold,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=1,
                datapoints_to_alarm=1,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=description,
            )
        )

    def _ticket_sync_age_alarm(self, queue: sqs.IQueue) -> cloudwatch.Alarm:
        return self._alarm(
            "TicketSyncAgeAlarm",
            metric=queue.metric_approximate_age_of_oldest_message(
                period=QUEUE_AGE_PERIOD, statistic=cloudwatch.Stats.MAXIMUM
            ),
            threshold=self.settings.ticket_sync_age_alarm_seconds,
            description=(
                "Ticket sync is behind: the oldest ticket-sync message has waited longer than "
                f"{self.settings.ticket_sync_age_alarm_seconds} s, so incidents wait for their "
                "tickets. Check the ticket-sync function's errors and logs (is the service "
                "desk down, slow or refusing?) and its throttles."
            ),
        )

    def _callback_latency_alarm(self) -> cloudwatch.Alarm:
        seconds = self.settings.callback_latency_alarm_seconds
        return self._alarm(
            "CallbackLatencyAlarm",
            # The callback function reports the latency in milliseconds.
            metric=business_metric(Metric.CALLBACK_LATENCY, statistic=cloudwatch.Stats.p(99)),
            threshold=seconds * 1000,
            description=(
                f"BigPanda got its callbacks late: p99 from delivery to confirmed callback is "
                f"above {seconds} s, and BigPanda holds an incident's updates until then. "
                "Check the ticket-sync queue's age, then the callback function's retries and "
                "BigPanda's answers (429s) in its logs."
            ),
        )

    def _function_error_alarm(self, watched: Watched[lambda_.IFunction]) -> cloudwatch.Alarm:
        threshold = self.settings.function_error_alarm_threshold
        return self._alarm(
            f"{watched.key}ErrorsAlarm",
            metric=watched.resource.metric_errors(period=PERIOD, statistic=cloudwatch.Stats.SUM),
            threshold=threshold,
            description=(
                f"The {watched.title} function failed more than {threshold} invocation(s) in "
                "5 minutes (an unhandled exception or a timeout, not a handled failure). "
                "Check its log group for the error and its X-Ray traces."
            ),
        )

    def _api_server_error_alarm(self) -> cloudwatch.Alarm:
        threshold = self.settings.api_server_error_alarm_threshold
        return self._alarm(
            "ApiServerErrorsAlarm",
            metric=self.stage.metric_server_error(period=PERIOD, statistic=cloudwatch.Stats.SUM),
            threshold=threshold,
            description=(
                f"The webhook answered more than {threshold} 5xx in 5 minutes: BigPanda does "
                "not retry, so those deliveries may be lost. Check the ingest function's "
                "errors and the API's access log (integrationStatus, errorMessage)."
            ),
        )

    def _authorizer_alarms(self) -> list[cloudwatch.Alarm]:
        """Rejected requests above a threshold, and any refusal for want of valid tokens.

        A misconfigured token secret refuses every request, BigPanda's included; with little
        traffic that stays below the rejection threshold, so it has an alarm of its own.
        """
        threshold = self.settings.authorizer_rejection_alarm_threshold
        return [
            self._alarm(
                "AuthorizerRejectionsAlarm",
                metric=business_metric(Metric.AUTHORIZER_REJECTED),
                threshold=threshold,
                description=(
                    f"The authorizer rejected more than {threshold} requests in 5 minutes: a "
                    "token in BigPanda's webhook settings that no longer matches, or someone "
                    "probing the webhook. Check the API's access log for the source addresses."
                ),
            ),
            self._alarm(
                "AuthorizerMisconfiguredAlarm",
                metric=business_metric(Metric.AUTHORIZER_MISCONFIGURED),
                threshold=0,
                description=(
                    "The authorizer cannot read valid bearer tokens, so it refuses every "
                    "delivery, BigPanda's included. Check the token secret's value (JSON, "
                    "tokens long enough) and the authorizer's logs."
                ),
            ),
        ]

    def _ticket_step_failed_alarm(self) -> cloudwatch.Alarm:
        """Any step of a sync that the desk refused as configured: the incident went on
        syncing, but a ticket is missing a field, a status, a comment or an assignee until a
        setting is fixed."""
        return self._alarm(
            "TicketStepFailedAlarm",
            metric=business_metric(Metric.TICKET_STEP_FAILED),
            threshold=0,
            description=(
                "The service desk refused a step of a ticket sync as configured (a transition, "
                "a field value, an assignee, a comment); the incident's other steps and later "
                "versions still sync. The ticket-sync function's WARNING line names the step "
                "and the setting to fix; .venv/bin/pandabridge-ops inspect <incident id> shows "
                "the steps that need attention."
            ),
        )

    def _reconciler_alarms(self) -> list[cloudwatch.Alarm]:
        """Runs BigPanda stopped (a throttle or an outage of one run is normal: the next run
        searches the same window, so only several in a row alarm), and deliveries the webhook
        missed, which the reconciler found: each is a ticket that came late."""
        runs = StackLimits.RECONCILER_FAILED_RUNS_ALARM
        failures = self._notify(
            cloudwatch.Alarm(
                self,
                "ReconcilerFailuresAlarm",
                metric=business_metric(Metric.RECONCILER_FAILURES),
                threshold=0,
                comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                evaluation_periods=runs,
                datapoints_to_alarm=runs,
                treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
                alarm_description=(
                    f"The reconciler's runs stopped in {runs} periods of 5 minutes in a row: "
                    "BigPanda refused or throttled its Incidents API calls, so missed "
                    "deliveries are not being recovered (none is lost: each run searches from "
                    "the last window it completed). Its WARNING line names the reason and the "
                    "setting (an integration's key_secret, environments)."
                ),
            )
        )
        missed = self._alarm(
            "MissedDeliveriesAlarm",
            metric=business_metric(Metric.RECONCILED_INCIDENTS),
            threshold=0,
            description=(
                "The reconciler found incident versions BigPanda shared but the webhook never "
                "stored, and stored them (their tickets came one reconcile period late). Check "
                "the API's 4xx/5xx and the ingest function's errors around that time; "
                ".venv/bin/pandabridge-ops inspect <incident id> shows 'recovered'."
            ),
        )
        return [failures, missed]

    def _sync_loop_alarm(self) -> cloudwatch.Alarm:
        """Write-back's circuit breaker stopped mirroring an incident: our own writes seem to
        come back as new changes, which no echo guard recognised."""
        return self._alarm(
            "SyncLoopSuspected",
            metric=business_metric(Metric.SYNC_LOOP_SUSPECTED),
            threshold=0,
            description=(
                "A sync loop is suspected: more than targets.<name>.two_way.loop_limit desk "
                "changes of one incident were mirrored to BigPanda within 10 minutes, so its "
                "mirroring stopped for a day. The ticket-sync function's ERROR line names the "
                "incident; .venv/bin/pandabridge-ops inspect <incident id> shows since when. "
                "Check two_way.integration_user and the desk's automation rules."
            ),
        )

    def _callback_not_configured_alarm(self) -> cloudwatch.Alarm:
        """Callbacks refused for want of the app key, which the stack deploys without.

        Created only while ``bigpanda_app_key`` is unset: the deployment that sets it removes
        the cause and the alarm together.
        """
        return self._alarm(
            "CallbackNotConfiguredAlarm",
            metric=business_metric(Metric.CALLBACK_NOT_CONFIGURED),
            threshold=0,
            description=(
                f"No callback can be sent to BigPanda: the stack was deployed without "
                f"{BIGPANDA_APP_KEY_SETTING}, and BigPanda holds each new incident's updates "
                "for 5 minutes. The callbacks wait in the callback queue, then the callback "
                f"DLQ. Set {BIGPANDA_APP_KEY_SETTING} to the BigPanda integration's app key, "
                "redeploy, then run .venv/bin/pandabridge-ops redrive callback."
            ),
        )

    def _desk_event_failed_alarm(self) -> cloudwatch.Alarm:
        return self._alarm(
            "DeskEventFailedAlarm",
            metric=business_metric(Metric.DESK_EVENT_FAILED),
            threshold=0,
            description=(
                "A verified desk event was not stored or queued (answered 5xx; the desk "
                "retries it). Check the desk-events function's ERROR lines: an unreadable "
                "events secret names its setting (targets.<name>.two_way.events_secret)."
            ),
        )

    # --- the dashboard --------------------------------------------------------------------

    def _dashboard(self) -> cloudwatch.Dashboard:
        """One dashboard, named after the stack and its region.

        Dashboard names are unique per account, not per region, so the region keeps two
        deployments of one stack name apart.
        """
        stack = Stack.of(self)
        rows: list[list[cloudwatch.IWidget]] = [
            [
                cloudwatch.AlarmStatusWidget(
                    title="Alarms", alarms=self.alarms, width=FULL_WIDTH, height=4
                )
            ],
            *self._section("API", [self._api_widgets()]),
            *self._section("Functions", [self._function_widgets(f) for f in self.functions]),
            *self._section(
                "Queues",
                [
                    [self._queue_widget(q, width=12) for q in self.work_queues],
                    [self._queue_widget(q, width=8) for q in self.dead_letter_queues],
                ],
            ),
            *self._section("Tables", [self._table_widgets(t) for t in self.tables]),
            *self._section("Deliveries, tickets and callbacks", [self._business_widgets()]),
            *(
                self._section("Desk events", [self._desk_event_widgets()])
                if self.desk_event_alarms
                else []
            ),
            *self._section("Reconciler", [self._reconciler_widgets()]),
            *self._section("Write-back to BigPanda", [self._write_back_widgets()]),
        ]
        return cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=f"{stack.stack_name}-{stack.region}",
            default_interval=DASHBOARD_INTERVAL,
            widgets=rows,
        )

    @staticmethod
    def _section(
        title: str, rows: Sequence[Sequence[cloudwatch.IWidget]]
    ) -> list[list[cloudwatch.IWidget]]:
        """A heading, then rows of at most 24 units each."""
        return [
            [cloudwatch.TextWidget(markdown=f"## {title}", width=FULL_WIDTH, height=1)],
            *(list(row) for row in rows),
        ]

    def _api_widgets(self) -> list[cloudwatch.IWidget]:
        stage = self.stage
        return [
            _graph(
                "Requests",
                [stage.metric_count(period=PERIOD, statistic=cloudwatch.Stats.SUM)],
            ),
            _graph(
                "4XX and 5XX answers",
                [
                    stage.metric_client_error(period=PERIOD, statistic=cloudwatch.Stats.SUM),
                    stage.metric_server_error(period=PERIOD, statistic=cloudwatch.Stats.SUM),
                ],
            ),
            _graph(
                "Latency (ms)",
                [
                    stage.metric_latency(
                        period=PERIOD, statistic=cloudwatch.Stats.p(50), label="p50"
                    ),
                    stage.metric_latency(
                        period=PERIOD, statistic=cloudwatch.Stats.p(99), label="p99"
                    ),
                ],
            ),
        ]

    @staticmethod
    def _function_widgets(watched: Watched[lambda_.IFunction]) -> list[cloudwatch.IWidget]:
        function = watched.resource
        return [
            _graph(
                f"{watched.title}: invocations, errors, throttles",
                [
                    function.metric_invocations(period=PERIOD, statistic=cloudwatch.Stats.SUM),
                    function.metric_errors(period=PERIOD, statistic=cloudwatch.Stats.SUM),
                    function.metric_throttles(period=PERIOD, statistic=cloudwatch.Stats.SUM),
                ],
            ),
            _graph(
                f"{watched.title}: duration p99 (ms)",
                [function.metric_duration(period=PERIOD, statistic=cloudwatch.Stats.p(99))],
            ),
            _graph(
                f"{watched.title}: concurrent executions",
                [
                    function.metric(
                        "ConcurrentExecutions", period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM
                    )
                ],
            ),
        ]

    @staticmethod
    def _queue_widget(watched: Watched[sqs.IQueue], *, width: int) -> cloudwatch.IWidget:
        """Messages waiting (left) and the age of the oldest (right, seconds)."""
        queue = watched.resource
        return cloudwatch.GraphWidget(
            title=f"{watched.title}: messages, oldest age (s)",
            left=[
                queue.metric_approximate_number_of_messages_visible(
                    period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM
                )
            ],
            right=[
                queue.metric_approximate_age_of_oldest_message(
                    period=PERIOD, statistic=cloudwatch.Stats.MAXIMUM
                )
            ],
            width=width,
            height=GRAPH_HEIGHT,
        )

    @staticmethod
    def _table_widgets(watched: WatchedTable) -> list[cloudwatch.IWidget]:
        """Consumed capacity, and throttled requests and system errors summed over the
        operations the stack makes.

        Both tables are on demand, so consumed units are the cost and load to watch. The
        ``*_for_operations`` methods are what the L2 offers for per-table throttles and
        errors: DynamoDB publishes ``ThrottledRequests`` and ``SystemErrors`` per table and
        operation. ``UserErrors`` is left out: DynamoDB publishes it per region, not per
        table, and the functions' conditional writes are counted apart from it anyway.
        """
        table, operations = watched.table, list(watched.operations)
        return [
            _graph(
                f"{watched.title}: consumed capacity units",
                [
                    table.metric_consumed_read_capacity_units(
                        period=PERIOD, statistic=cloudwatch.Stats.SUM
                    ),
                    table.metric_consumed_write_capacity_units(
                        period=PERIOD, statistic=cloudwatch.Stats.SUM
                    ),
                ],
            ),
            _graph(
                f"{watched.title}: throttled requests",
                [
                    table.metric_throttled_requests_for_operations(
                        operations=operations, period=PERIOD
                    )
                ],
            ),
            _graph(
                f"{watched.title}: system errors",
                [table.metric_system_errors_for_operations(operations=operations, period=PERIOD)],
            ),
        ]

    def _business_widgets(self) -> list[cloudwatch.IWidget]:
        deliveries = [
            Metric.INCIDENT_CREATED,
            Metric.INCIDENT_UPDATED,
            Metric.INCIDENT_DUPLICATE,
            Metric.INCIDENT_STALE,
            Metric.WEBHOOK_REJECTED,
            Metric.WEBHOOK_FAILED,
        ]
        if self.authorizer_alarms:
            deliveries += [Metric.AUTHORIZER_REJECTED, Metric.AUTHORIZER_MISCONFIGURED]
        tickets = [
            Metric.TICKET_CREATED,
            Metric.TICKET_UPDATED,
            Metric.TICKET_RESOLVED,
            Metric.TICKET_REOPENED,
            Metric.TICKET_SYNC_RETRIED,
            Metric.TICKET_SYNC_FAILED,
        ]
        callbacks = [
            Metric.CALLBACK_CONFIRMED,
            Metric.CALLBACK_RETRIED,
            Metric.CALLBACK_FAILED,
            Metric.CALLBACK_NOT_CONFIGURED,
        ]
        threshold_ms = self.settings.callback_latency_alarm_seconds * 1000
        return [
            _graph("Deliveries", [business_metric(name) for name in deliveries], width=6),
            _graph("Tickets", [business_metric(name) for name in tickets], width=6),
            _graph("Callbacks", [business_metric(name) for name in callbacks], width=6),
            cloudwatch.GraphWidget(
                title="Webhook to callback latency (ms)",
                left=[
                    business_metric(
                        Metric.CALLBACK_LATENCY, statistic=cloudwatch.Stats.p(50), label="p50"
                    ),
                    business_metric(
                        Metric.CALLBACK_LATENCY, statistic=cloudwatch.Stats.p(99), label="p99"
                    ),
                ],
                left_annotations=[
                    cloudwatch.HorizontalAnnotation(value=threshold_ms, label="p99 alarm")
                ],
                width=6,
                height=GRAPH_HEIGHT,
            ),
        ]

    @staticmethod
    def _reconciler_widgets() -> list[cloudwatch.IWidget]:
        return [
            _graph(
                "Missed deliveries recovered",
                [business_metric(Metric.RECONCILED_INCIDENTS)],
                width=8,
            ),
            _graph(
                "Reconciler runs stopped", [business_metric(Metric.RECONCILER_FAILURES)], width=8
            ),
            _graph(
                "Reconciler BigPanda API calls",
                [business_metric(Metric.RECONCILER_API_CALLS)],
                width=8,
            ),
        ]

    @staticmethod
    def _desk_event_widgets() -> list[cloudwatch.IWidget]:
        outcomes = [
            Metric.DESK_EVENT_QUEUED,
            Metric.DESK_EVENT_DUPLICATE,
            Metric.DESK_EVENT_IGNORED,
        ]
        refusals = [Metric.DESK_EVENT_REJECTED, Metric.DESK_EVENT_FAILED]
        return [
            _graph("Desk events", [business_metric(name) for name in outcomes], width=12),
            _graph(
                "Desk events refused or failed", [business_metric(n) for n in refusals], width=12
            ),
        ]

    @staticmethod
    def _write_back_widgets() -> list[cloudwatch.IWidget]:
        events = [Metric.DESK_EVENT_MIRRORED, Metric.DESK_EVENT_DROPPED]
        return [
            _graph(
                "Desk events mirrored to BigPanda",
                [business_metric(name) for name in events],
                width=12,
            ),
            _graph("Sync loops suspected", [business_metric(Metric.SYNC_LOOP_SUSPECTED)], width=12),
        ]


def _graph(
    title: str, metrics: Sequence[cloudwatch.IMetric], *, width: int = 8
) -> cloudwatch.GraphWidget:
    return cloudwatch.GraphWidget(title=title, left=list(metrics), width=width, height=GRAPH_HEIGHT)
