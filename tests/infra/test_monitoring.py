"""Monitoring: the dashboard graphs every part of the flow, and every alarm notifies one topic.

The dashboard body is a ``Fn::Join`` of JSON text and CloudFormation tokens; it is read back by
writing each token as ``${LogicalId}`` (``Ref``) or ``${LogicalId.Attribute}`` (``GetAtt``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from aws_cdk import App
from synth_support import OVERRIDES, Synthesized

from pandabridge.names import METRICS_NAMESPACE, SERVICE_NAME, Metric
from stacks.application import build_app
from stacks.config import ConfigurationError, StackSettings

APPS = ["synthesized", "overridden"]
FIVE_MINUTES = 300
# The functions of the flow, as paths from the stack; the authorizer's only with bearer auth.
FUNCTIONS = [
    "ingest_api.ingest.function",
    "ticket_sync.worker.function",
    "callback.confirmer.function",
    "reconciler.worker.function",
    "ingest_api.bearer_auth.checker.function",
    "desk_events.receiver.function",
]


@dataclass(frozen=True)
class Graphed:
    """One metric line of a dashboard graph."""

    namespace: str
    name: str
    dimensions: dict[str, str]
    stat: str | None


def _token(part: str | dict[str, Any]) -> str:
    if isinstance(part, str):
        return part
    if "Ref" in part:
        return "${" + part["Ref"] + "}"
    if "Fn::GetAtt" in part:
        return "${" + ".".join(part["Fn::GetAtt"]) + "}"
    raise AssertionError(f"unexpected token in the dashboard body: {part}")


def _dashboard(synthesized: Synthesized) -> dict[str, Any]:
    """The dashboard's resource ``Properties``, its body parsed."""
    properties = dict(synthesized.properties("AWS::CloudWatch::Dashboard"))
    parts = properties["DashboardBody"]["Fn::Join"][1]
    properties["DashboardBody"] = json.loads("".join(map(_token, parts)))
    return properties


def _graphed(synthesized: Synthesized) -> list[Graphed]:
    """Every metric line of every graph; math expressions are left out, their inputs kept."""
    found = []
    for widget in _dashboard(synthesized)["DashboardBody"]["widgets"]:
        for line in widget["properties"].get("metrics", []):
            if "expression" in line[0]:
                continue
            options = line[-1] if isinstance(line[-1], dict) else {}
            fields = line[:-1] if options else line
            dimensions = dict(zip(fields[2::2], fields[3::2], strict=True))
            found.append(Graphed(fields[0], fields[1], dimensions, options.get("stat")))
    return found


def _find(synthesized: Synthesized, path: str) -> Any:
    """The construct at ``path`` from the stack, or None where an optional part is absent."""
    found: Any = synthesized.stack
    for attribute in path.split("."):
        if found is None:
            return None
        found = getattr(found, attribute)
    return found


def _ref(synthesized: Synthesized, construct: Any, attribute: str | None = None) -> str:
    logical_id = synthesized.logical_id(construct)
    return "${" + (f"{logical_id}.{attribute}" if attribute else logical_id) + "}"


def _alarm(synthesized: Synthesized, alarm: Any) -> dict[str, Any]:
    return synthesized.resource(alarm)["Properties"]


def _alarms(synthesized: Synthesized) -> dict[str, dict[str, Any]]:
    return {
        alarm_id: alarm["Properties"]
        for alarm_id, alarm in synthesized.resources("AWS::CloudWatch::Alarm").items()
    }


def _alarm_on(synthesized: Synthesized, metric_name: str) -> dict[str, Any]:
    """The one alarm on ``metric_name``."""
    found = [a for a in _alarms(synthesized).values() if a.get("MetricName") == metric_name]
    assert len(found) == 1, f"expected one alarm on {metric_name}, found {len(found)}"
    return found[0]


def _topic_ref(synthesized: Synthesized) -> dict[str, str]:
    return {"Ref": synthesized.only("AWS::SNS::Topic")[0]}


# --- the dashboard ----------------------------------------------------------------------------


def test_one_dashboard_is_named_after_the_stack_and_its_region(synthesized: Synthesized) -> None:
    # Given the synthesized stack / When its dashboard's name is read
    name = _dashboard(synthesized)["DashboardName"]
    # Then it is <stack name>-<region>: dashboard names are unique per account, not region
    assert name == {"Fn::Join": ["", [f"{synthesized.stack.stack_name}-", {"Ref": "AWS::Region"}]]}


def test_the_dashboard_graphs_the_api_stage(synthesized: Synthesized) -> None:
    # Given the API's stage
    stage = {
        "ApiName": f"{synthesized.stack.stack_name}-webhook",
        "Stage": _ref(synthesized, synthesized.stack.ingest_api.api.deployment_stage),
    }
    # When the dashboard's API Gateway lines are read
    graphed = {
        (line.name, line.stat)
        for line in _graphed(synthesized)
        if line.namespace == "AWS/ApiGateway" and line.dimensions == stage
    }
    # Then requests, 4XX and 5XX answers are summed and latency shown at p50 and p99
    assert graphed == {
        ("Count", "Sum"),
        ("4XXError", "Sum"),
        ("5XXError", "Sum"),
        ("Latency", "p50"),
        ("Latency", "p99"),
    }


@pytest.mark.parametrize("path", FUNCTIONS)
def test_the_dashboard_graphs_each_function(synthesized: Synthesized, path: str) -> None:
    # Given one of the stack's functions (the default app has them all)
    name = _ref(synthesized, _find(synthesized, path))
    # When the dashboard's Lambda lines for it are read
    graphed = {
        (line.name, line.stat)
        for line in _graphed(synthesized)
        if line.namespace == "AWS/Lambda" and line.dimensions == {"FunctionName": name}
    }
    # Then its invocations, errors, throttles, p99 duration and concurrency are shown
    assert graphed == {
        ("Invocations", "Sum"),
        ("Errors", "Sum"),
        ("Throttles", "Sum"),
        ("Duration", "p99"),
        ("ConcurrentExecutions", "Maximum"),
    }


@pytest.mark.parametrize(
    "path",
    [
        "queues.ticket_sync_queue",
        "queues.callback_queue",
        "queues.ticket_sync_dlq",
        "queues.callback_dlq",
        "handoff.dead_letter_queue",
    ],
)
def test_the_dashboard_graphs_each_queue(synthesized: Synthesized, path: str) -> None:
    # Given one of the stack's queues (work queues and dead-letter queues)
    name = _ref(synthesized, _find(synthesized, path), "QueueName")
    # When the dashboard's SQS lines for it are read
    graphed = {
        line.name
        for line in _graphed(synthesized)
        if line.namespace == "AWS/SQS" and line.dimensions == {"QueueName": name}
    }
    # Then the messages waiting and the age of the oldest are shown
    assert graphed == {"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"}


@pytest.mark.parametrize(
    ("table", "operations"),
    [
        ("table", {"PutItem", "GetItem", "GetRecords"}),
        ("tickets_table", {"GetItem", "PutItem", "UpdateItem"}),
        ("control_table", {"GetItem", "PutItem", "UpdateItem", "Query"}),
    ],
)
def test_the_dashboard_graphs_each_table(
    synthesized: Synthesized, table: str, operations: set[str]
) -> None:
    # Given one of the stack's tables and the operations made on it
    name = _ref(synthesized, getattr(synthesized.stack.storage, table))
    # When the dashboard's DynamoDB lines for it are read
    lines = [
        line
        for line in _graphed(synthesized)
        if line.namespace == "AWS/DynamoDB" and line.dimensions.get("TableName") == name
    ]
    # Then consumed capacity is shown, and throttles and system errors of each operation
    assert {line.name for line in lines if "Operation" not in line.dimensions} == {
        "ConsumedReadCapacityUnits",
        "ConsumedWriteCapacityUnits",
    }
    for metric in ("ThrottledRequests", "SystemErrors"):
        assert {line.dimensions["Operation"] for line in lines if line.name == metric} == operations


@pytest.mark.parametrize(
    "metric",
    [
        Metric.INCIDENT_CREATED,
        Metric.INCIDENT_UPDATED,
        Metric.INCIDENT_DUPLICATE,
        Metric.INCIDENT_STALE,
        Metric.WEBHOOK_REJECTED,
        Metric.TICKET_CREATED,
        Metric.TICKET_UPDATED,
        Metric.TICKET_RESOLVED,
        Metric.CALLBACK_CONFIRMED,
        Metric.CALLBACK_FAILED,
        Metric.CALLBACK_NOT_CONFIGURED,
        Metric.AUTHORIZER_REJECTED,
    ],
)
def test_the_dashboard_sums_each_business_count(synthesized: Synthesized, metric: str) -> None:
    # Given a count the functions emit / When the dashboard's lines for it are read
    graphed = [
        line
        for line in _graphed(synthesized)
        if (line.namespace, line.name) == (METRICS_NAMESPACE, metric)
    ]
    # Then it is summed under the service dimension that Powertools adds
    assert graphed == [Graphed(METRICS_NAMESPACE, metric, {"service": SERVICE_NAME}, "Sum")]


def test_the_dashboard_shows_callback_latency_at_p50_and_p99(synthesized: Synthesized) -> None:
    # Given the dashboard / When its lines of the webhook-to-callback latency are read
    stats = {
        line.stat
        for line in _graphed(synthesized)
        if (line.namespace, line.name) == (METRICS_NAMESPACE, Metric.CALLBACK_LATENCY)
        and line.dimensions == {"service": SERVICE_NAME}
    }
    # Then the median and the 99th percentile are shown
    assert stats == {"p50", "p99"}


def test_every_custom_metric_is_graphed_or_alarmed(synthesized: Synthesized) -> None:
    # Given the custom metrics the functions may publish: each costs a monthly fee
    published = {value for key, value in vars(Metric).items() if key.isupper()}
    # When the dashboard's and the alarms' metrics are read
    used = {line.name for line in _graphed(synthesized) if line.namespace == METRICS_NAMESPACE}
    used |= {alarm.get("MetricName") for alarm in _alarms(synthesized).values()}
    # Then none is published that nothing shows or watches
    assert published - used == set()


def test_the_dashboard_shows_the_state_of_every_alarm(synthesized: Synthesized) -> None:
    # Given the dashboard's alarm status widget
    widgets = _dashboard(synthesized)["DashboardBody"]["widgets"]
    [status] = [widget for widget in widgets if widget["type"] == "alarm"]
    # When the alarms it lists are read / Then they are all the stack's alarms
    listed = {
        arn.removeprefix("${").removesuffix(".Arn}") for arn in status["properties"]["alarms"]
    }
    assert listed == set(_alarms(synthesized))


# --- the alarms -------------------------------------------------------------------------------


@pytest.mark.parametrize("app", APPS)
def test_every_alarm_notifies_the_topic_when_it_fires_and_clears(
    app: str, request: pytest.FixtureRequest
) -> None:
    # Given an app's alarms / When their actions are read
    synthesized: Synthesized = request.getfixturevalue(app)
    topic = _topic_ref(synthesized)
    actions = {
        alarm_id: (alarm.get("AlarmActions"), alarm.get("OKActions"))
        for alarm_id, alarm in _alarms(synthesized).items()
    }
    # Then each one publishes to the alarm topic on both transitions
    assert actions == {alarm_id: ([topic], [topic]) for alarm_id in actions}


@pytest.mark.parametrize(
    ("owner", "alarm"),
    [
        ("queues", "ticket_sync_dlq_alarm"),
        ("queues", "callback_dlq_alarm"),
        ("handoff", "dead_letter_alarm"),
    ],
)
def test_the_dead_letter_alarms_the_queues_expose_notify_the_topic(
    synthesized: Synthesized, owner: str, alarm: str
) -> None:
    # Given a dead-letter alarm exposed by its queue's owner
    exposed = _alarm(synthesized, getattr(getattr(synthesized.stack, owner), alarm))
    # When its actions are read / Then it notifies the topic
    assert exposed["AlarmActions"] == [_topic_ref(synthesized)]


@pytest.mark.parametrize("app", APPS)
def test_no_data_never_breaches(app: str, request: pytest.FixtureRequest) -> None:
    # Given an app's alarms: silence is normal for an idle API, empty queues, no callbacks
    synthesized: Synthesized = request.getfixturevalue(app)
    # When their handling of missing data is read / Then none fires for want of data
    assert {alarm["TreatMissingData"] for alarm in _alarms(synthesized).values()} == {
        "notBreaching"
    }


def test_every_alarm_tells_the_operator_what_to_check(synthesized: Synthesized) -> None:
    # Given every alarm / When its description is read
    descriptions = [alarm.get("AlarmDescription", "") for alarm in _alarms(synthesized).values()]
    # Then each says in a sentence or two what it means and where to look first
    assert all(len(description) >= 80 for description in descriptions), descriptions


@pytest.mark.parametrize("app", APPS)
def test_the_ticket_sync_backlog_alarm_fires_on_the_configured_age(
    app: str, request: pytest.FixtureRequest
) -> None:
    # Given an app / When the alarm on the ticket-sync queue's oldest message is read
    synthesized: Synthesized = request.getfixturevalue(app)
    alarm = _alarm_on(synthesized, "ApproximateAgeOfOldestMessage")
    queue = synthesized.stack.queues.ticket_sync_queue
    # Then it fires on a one-minute maximum above the configured age, of that queue
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": [synthesized.logical_id(queue), "QueueName"]}}
    ]
    assert (alarm["Statistic"], alarm["Period"], alarm["EvaluationPeriods"]) == ("Maximum", 60, 1)
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == (
        "GreaterThanThreshold",
        synthesized.settings.ticket_sync_age_alarm_seconds,
    )


@pytest.mark.parametrize("app", APPS)
def test_the_callback_latency_alarm_fires_on_a_slow_p99(
    app: str, request: pytest.FixtureRequest
) -> None:
    # Given an app / When the alarm on the webhook-to-callback latency is read
    synthesized: Synthesized = request.getfixturevalue(app)
    alarm = _alarm_on(synthesized, Metric.CALLBACK_LATENCY)
    # Then it fires when the 5-minute p99 exceeds the configured seconds (emitted in ms)
    assert alarm["Namespace"] == METRICS_NAMESPACE
    assert alarm["Dimensions"] == [{"Name": "service", "Value": SERVICE_NAME}]
    assert (alarm["ExtendedStatistic"], alarm["Period"]) == ("p99", FIVE_MINUTES)
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == (
        "GreaterThanThreshold",
        synthesized.settings.callback_latency_alarm_seconds * 1000,
    )


@pytest.mark.parametrize("app", APPS)
def test_each_function_has_an_error_alarm(app: str, request: pytest.FixtureRequest) -> None:
    # Given an app and the functions of its flow
    synthesized: Synthesized = request.getfixturevalue(app)
    functions = [_find(synthesized, path) for path in FUNCTIONS]
    # When the alarms on Lambda errors are read
    alarms = [a for a in _alarms(synthesized).values() if a.get("MetricName") == "Errors"]
    watched = [alarm["Dimensions"] for alarm in alarms]
    # Then each function has one (CDK's own helper functions are not watched), firing when
    # its 5-minute sum exceeds the configured threshold
    assert sorted(watched, key=json.dumps) == sorted(
        (
            [{"Name": "FunctionName", "Value": {"Ref": synthesized.logical_id(function)}}]
            for function in functions
            if function is not None
        ),
        key=json.dumps,
    )
    for alarm in alarms:
        assert (alarm["Namespace"], alarm["Statistic"], alarm["Period"]) == (
            "AWS/Lambda",
            "Sum",
            FIVE_MINUTES,
        )
        assert (alarm["ComparisonOperator"], alarm["Threshold"]) == (
            "GreaterThanThreshold",
            synthesized.settings.function_error_alarm_threshold,
        )


@pytest.mark.parametrize("app", APPS)
def test_the_api_5xx_alarm_fires_above_the_configured_count(
    app: str, request: pytest.FixtureRequest
) -> None:
    # Given an app / When the alarm on the API's 5XX answers is read
    synthesized: Synthesized = request.getfixturevalue(app)
    alarm = _alarm_on(synthesized, "5XXError")
    stage = synthesized.logical_id(synthesized.stack.ingest_api.api.deployment_stage)
    # Then it sums the stage's 5XX over 5 minutes and fires above the configured count
    assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {
        "ApiName": f"{synthesized.stack.stack_name}-webhook",
        "Stage": {"Ref": stage},
    }
    assert (alarm["Statistic"], alarm["Period"]) == ("Sum", FIVE_MINUTES)
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == (
        "GreaterThanThreshold",
        synthesized.settings.api_server_error_alarm_threshold,
    )


def test_a_step_the_desk_refused_fires_its_alarm(synthesized: Synthesized) -> None:
    # Given the default app / When the alarm on refused ticket-sync steps is read
    alarm = _alarm_on(synthesized, Metric.TICKET_STEP_FAILED)
    # Then it fires on any refusal within 5 minutes, and names where the setting is told
    assert alarm["Namespace"] == METRICS_NAMESPACE
    assert alarm["Dimensions"] == [{"Name": "service", "Value": SERVICE_NAME}]
    assert (alarm["Statistic"], alarm["Period"]) == ("Sum", FIVE_MINUTES)
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
    assert "WARNING" in alarm["AlarmDescription"]
    assert "inspect" in alarm["AlarmDescription"]


def test_the_authorizer_rejection_alarm_fires_above_the_configured_count(
    synthesized: Synthesized,
) -> None:
    # Given the default app, with the bearer-token authorizer
    # When the alarm on the authorizer's rejections is read
    alarm = _alarm_on(synthesized, Metric.AUTHORIZER_REJECTED)
    # Then it sums them over 5 minutes and fires above the configured count
    assert alarm["Namespace"] == METRICS_NAMESPACE
    assert alarm["Dimensions"] == [{"Name": "service", "Value": SERVICE_NAME}]
    assert (alarm["Statistic"], alarm["Period"]) == ("Sum", FIVE_MINUTES)
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == (
        "GreaterThanThreshold",
        synthesized.settings.authorizer_rejection_alarm_threshold,
    )


def test_an_authorizer_without_valid_tokens_alarms_at_once(synthesized: Synthesized) -> None:
    # Given the default app / When the alarm on the authorizer's misconfiguration is read
    alarm = _alarm_on(synthesized, Metric.AUTHORIZER_MISCONFIGURED)
    # Then its first occurrence in 5 minutes fires it: every delivery is being refused
    assert (alarm["Statistic"], alarm["Period"]) == ("Sum", FIVE_MINUTES)
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)


def test_without_bearer_auth_nothing_watches_an_authorizer(overridden: Synthesized) -> None:
    # Given an app with bearer auth switched off
    assert overridden.settings.bearer_auth_enabled is False
    # When its alarms and graphed business metrics are read
    alarmed = {alarm.get("MetricName") for alarm in _alarms(overridden).values()}
    graphed = {line.name for line in _graphed(overridden) if line.namespace == METRICS_NAMESPACE}
    # Then none is about an authorizer's decisions
    authorizer_metrics = {Metric.AUTHORIZER_REJECTED, Metric.AUTHORIZER_MISCONFIGURED}
    assert not authorizer_metrics & (alarmed | graphed)


def test_without_an_app_key_the_first_callback_that_cannot_be_sent_fires_an_alarm(
    synthesized: Synthesized,
) -> None:
    # Given the default app, deployed without bigpanda_app_key
    assert synthesized.settings.bigpanda_app_key is None
    # When the alarm on the callbacks refused for want of the key is read
    alarm = _alarm_on(synthesized, Metric.CALLBACK_NOT_CONFIGURED)
    # Then one such callback in 5 minutes fires it, and it says what to set and redrive
    assert alarm["Namespace"] == METRICS_NAMESPACE
    assert alarm["Dimensions"] == [{"Name": "service", "Value": SERVICE_NAME}]
    assert (alarm["Statistic"], alarm["Period"]) == ("Sum", FIVE_MINUTES)
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
    assert "bigpanda_app_key" in alarm["AlarmDescription"]
    assert ".venv/bin/pandabridge-ops redrive callback" in alarm["AlarmDescription"]


def test_with_an_app_key_no_alarm_waits_for_one(overridden: Synthesized) -> None:
    # Given an app deployed with bigpanda_app_key / When its alarms are read
    alarmed = {alarm.get("MetricName") for alarm in _alarms(overridden).values()}
    # Then none watches for a missing key, which this deployment cannot lack
    assert Metric.CALLBACK_NOT_CONFIGURED not in alarmed


# --- the topic --------------------------------------------------------------------------------


def test_no_one_is_subscribed_without_an_alarm_email(synthesized: Synthesized) -> None:
    # Given the default app, without alarm_email / When the subscriptions are read
    # Then there is none
    assert synthesized.resources("AWS::SNS::Subscription") == {}


def test_the_alarm_email_is_subscribed_to_the_topic(overridden: Synthesized) -> None:
    # Given an app with alarm_email / When its subscription is read
    subscription = overridden.properties("AWS::SNS::Subscription")
    # Then the address receives the topic's notifications by e-mail
    assert subscription == {
        "Protocol": "email",
        "Endpoint": OVERRIDES["alarm_email"],
        "TopicArn": _topic_ref(overridden),
    }


def test_the_topic_is_encrypted_with_a_rotated_key_that_cloudwatch_may_use(
    synthesized: Synthesized,
) -> None:
    # Given the topic and its key
    topic = synthesized.properties("AWS::SNS::Topic")
    key_id, key = synthesized.only("AWS::KMS::Key")
    # When the topic's encryption and the key's policy are read
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    cloudwatch = [
        s for s in statements if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    # Then the topic uses the stack's own key (the AWS-managed key's policy would shut
    # CloudWatch out), which rotates and lets CloudWatch encrypt notifications
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": [key_id, "Arn"]}
    assert key["Properties"]["EnableKeyRotation"] is True
    assert [s["Action"] for s in cloudwatch] == [["kms:Decrypt", "kms:GenerateDataKey*"]]


def test_the_topic_refuses_publishing_without_tls(synthesized: Synthesized) -> None:
    # Given the topic's policy / When its deny statements are read
    policy = synthesized.properties("AWS::SNS::TopicPolicy")
    denied = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    # Then any publish over plain HTTP is denied
    assert policy["Topics"] == [_topic_ref(synthesized)]
    assert [(s["Principal"], s["Action"], s["Condition"]) for s in denied] == [
        ("*", "sns:Publish", {"Bool": {"aws:SecureTransport": "false"}})
    ]


# The ARN of every alarm of the stack's account and region, as the template spells it.
_THIS_ACCOUNTS_ALARMS = [
    "arn:",
    {"Ref": "AWS::Partition"},
    ":cloudwatch:",
    {"Ref": "AWS::Region"},
    ":",
    {"Ref": "AWS::AccountId"},
    ":alarm:*",
]


def _on_behalf_of_this_accounts_alarms(statement: dict[str, Any]) -> None:
    """The statement holds only for CloudWatch acting for an alarm of this account and region."""
    assert statement["Condition"]["StringEquals"] == {
        "aws:SourceAccount": {"Ref": "AWS::AccountId"}
    }
    assert statement["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Join"][1] == (
        _THIS_ACCOUNTS_ALARMS
    )


def test_only_this_accounts_alarms_may_publish_to_the_topic(synthesized: Synthesized) -> None:
    # Given the topic's policy / When its allow statements are read
    policy = synthesized.properties("AWS::SNS::TopicPolicy")
    [allowed] = [s for s in policy["PolicyDocument"]["Statement"] if s["Effect"] == "Allow"]
    # Then CloudWatch may publish, on behalf of alarms of this account and region only
    assert (allowed["Principal"], allowed["Action"]) == (
        {"Service": "cloudwatch.amazonaws.com"},
        "sns:Publish",
    )
    _on_behalf_of_this_accounts_alarms(allowed)


def test_only_this_accounts_alarms_may_use_the_topic_key(synthesized: Synthesized) -> None:
    # Given the alarm topic key's policy
    _, key = synthesized.only("AWS::KMS::Key")
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    # When the statement that lets CloudWatch use the key is read
    [cloudwatch] = [
        s for s in statements if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    # Then it holds only on behalf of this account's alarms, so another account's alarm
    # cannot have CloudWatch encrypt with this key (the confused deputy)
    _on_behalf_of_this_accounts_alarms(cloudwatch)


# --- outputs and settings ---------------------------------------------------------------------


def test_the_dashboard_url_opens_the_dashboard_in_the_stacks_region(
    synthesized: Synthesized,
) -> None:
    # Given the DashboardUrl output / When its parts are read
    url = synthesized.json["Outputs"]["DashboardUrl"]["Value"]["Fn::Join"][1]
    dashboard_id = synthesized.only("AWS::CloudWatch::Dashboard")[0]
    # Then it is the console's address of the dashboard, in the stack's region
    assert url == [
        "https://console.aws.amazon.com/cloudwatch/home?region=",
        {"Ref": "AWS::Region"},
        "#dashboards:name=",
        {"Ref": dashboard_id},
    ]


def test_the_alarm_topic_arn_is_an_output(synthesized: Synthesized) -> None:
    # Given the outputs / When AlarmTopicArn is read / Then it is the topic's ARN (its Ref)
    assert synthesized.json["Outputs"]["AlarmTopicArn"]["Value"] == _topic_ref(synthesized)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("alarm_email", "oncall"),
        ("alarm_email", "on call@example.com"),
        ("ticket_sync_age_alarm_seconds", 0),
        ("callback_latency_alarm_seconds", 0),
        ("callback_latency_alarm_seconds", "slow"),
        ("function_error_alarm_threshold", -1),
        ("api_server_error_alarm_threshold", -1),
        ("authorizer_rejection_alarm_threshold", "many"),
    ],
)
def test_a_bad_monitoring_value_fails_naming_the_key(key: str, value: object) -> None:
    # Given a context with one bad monitoring value
    # When the app is built / Then the build stops with an error that names the key
    with pytest.raises(ConfigurationError, match=rf"context key '{key}'"):
        build_app(context={key: value})


@pytest.mark.parametrize("blank", ["", "none"])
def test_a_blank_alarm_email_means_no_subscription(blank: str) -> None:
    # Given alarm_email blanked on the command line / When the settings are read
    settings = StackSettings.from_context(App(context={"alarm_email": blank}).node)
    # Then no address is subscribed
    assert settings.alarm_email is None
