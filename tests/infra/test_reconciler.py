"""The reconciler: a function run by EventBridge Scheduler every ``[reconciler] every_minutes``
(disabled by ``enabled = false``), allowed exactly the calls it makes, with its alarms and its
dashboard row."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template
from synth_support import Synthesized, allowed, allowing, arn_of

from pandabridge.names import Env, Metric
from pandabridge.settings import ReconcilerSettings
from pandabridge.stores.watermarks import WATERMARK_PREFIX
from stacks.application import build_app
from stacks.desk import FUNCTION_CONFIG_PATH
from stacks.limits import StackLimits
from stacks.reconciler import RECONCILER_HANDLER

SCHEDULE = "AWS::Scheduler::Schedule"


@pytest.fixture(scope="module")
def function(synthesized: Synthesized) -> dict[str, Any]:
    return synthesized.resource(synthesized.stack.reconciler.worker.function)["Properties"]


@pytest.fixture(scope="module")
def statements(synthesized: Synthesized) -> list[dict[str, Any]]:
    return synthesized.role_statements(synthesized.stack.reconciler.worker.role)


def _ref(synthesized: Synthesized, construct: Any) -> dict[str, str]:
    return {"Ref": synthesized.logical_id(construct)}


def test_the_function_runs_the_reconciler_handler_with_every_setting_it_reads(
    synthesized: Synthesized, function: dict[str, Any]
) -> None:
    # Given the reconciler function / When its handler and environment are read
    stack = synthesized.stack
    variables = function["Environment"]["Variables"]
    read = {field.alias for field in ReconcilerSettings.model_fields.values()}
    # Then it runs the reconciler with its timeout, and gets the stores, the configuration
    # file and BigPanda's API it reads
    assert function["Handler"] == RECONCILER_HANDLER
    assert function["Timeout"] == StackLimits.RECONCILER_TIMEOUT_SECONDS
    assert read <= set(variables)
    assert variables[Env.INCIDENTS_TABLE] == _ref(synthesized, stack.storage.table)
    assert variables[Env.CONTROL_TABLE] == _ref(synthesized, stack.storage.control_table)
    assert variables[Env.DESK_CONFIG_FILE] == FUNCTION_CONFIG_PATH
    assert variables[Env.BIGPANDA_SECRET_ID] == _ref(synthesized, stack.callback.secret)


def test_the_function_may_make_only_the_calls_it_makes(
    synthesized: Synthesized, statements: list[dict[str, Any]]
) -> None:
    # Given the reconciler's role / When its allowed actions are read
    stack = synthesized.stack
    found = allowed([s for s in statements if not s["Action"][0].startswith(("logs:", "xray:"))])
    incidents = arn_of(synthesized.logical_id(stack.storage.table))
    control = arn_of(synthesized.logical_id(stack.storage.control_table))
    # Then: read and conditionally write incidents, archive payloads, take rate-limit slots,
    # keep its watermarks, and read the BigPanda API key; nothing else
    assert set(found) == {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "s3:PutObject",
        "secretsmanager:GetSecretValue",
    }
    assert found["dynamodb:GetItem"] == allowing(incidents, control)
    assert found["dynamodb:UpdateItem"] == allowing(control)
    assert found["secretsmanager:GetSecretValue"] == allowing(
        _ref(synthesized, stack.callback.secret)
    )
    watermark_grants = [
        s for s in statements if "dynamodb:GetItem" in s["Action"] and s.get("Condition")
    ]
    assert [s["Condition"] for s in watermark_grants] == [
        {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{WATERMARK_PREFIX}*"]}}
    ]


def test_the_schedule_runs_the_function_every_period_without_retries(
    synthesized: Synthesized,
) -> None:
    # Given the default configuration file / When the schedule is read
    _, schedule = synthesized.only(SCHEDULE)
    properties = schedule["Properties"]
    # Then it invokes the reconciler every 5 minutes, enabled, and never retries a run
    assert properties["ScheduleExpression"] == "rate(5 minutes)"
    assert properties["State"] == "ENABLED"
    assert properties["Target"]["RetryPolicy"]["MaximumRetryAttempts"] == 0
    function_id = synthesized.logical_id(synthesized.stack.reconciler.worker.function)
    assert properties["Target"]["Arn"] == arn_of(function_id)


def test_the_reconciler_section_sets_the_period_and_switches_it_off(tmp_path: Path) -> None:
    # Given a configuration file whose [reconciler] runs every 10 minutes, switched off
    shipped = (Path(__file__).resolve().parents[2] / "pandabridge.toml").read_text()
    config = tmp_path / "pandabridge.toml"
    config.write_text(
        shipped.replace("https://tickets.example.com", "https://desk.example.com")
        .replace("# enabled = true", "enabled = false")
        .replace("# every_minutes = 5", "every_minutes = 10"),
        encoding="utf-8",
    )
    # When the app is synthesized with it
    _, stack = build_app(context={"config_file": str(config), "aws:cdk:bundling-stacks": []})
    schedules = Template.from_stack(stack).find_resources(SCHEDULE)
    # Then the schedule is created disabled, at the configured period
    [properties] = [resource["Properties"] for resource in schedules.values()]
    assert properties["State"] == "DISABLED"
    assert properties["ScheduleExpression"] == "rate(10 minutes)"


def test_failed_runs_and_missed_deliveries_alarm(synthesized: Synthesized) -> None:
    # Given the alarms / When those on the reconciler's metrics are read
    alarms = synthesized.template.find_resources("AWS::CloudWatch::Alarm")
    on_metric = {
        alarm["Properties"].get("MetricName"): alarm["Properties"] for alarm in alarms.values()
    }
    failures = on_metric[Metric.RECONCILER_FAILURES]
    # Then several stopped runs in a row alarm, and any missed delivery found does
    assert failures["EvaluationPeriods"] == StackLimits.RECONCILER_FAILED_RUNS_ALARM
    assert failures["DatapointsToAlarm"] == StackLimits.RECONCILER_FAILED_RUNS_ALARM
    assert on_metric[Metric.RECONCILED_INCIDENTS]["Threshold"] == 0


def test_the_dashboard_has_a_reconciler_row(synthesized: Synthesized) -> None:
    # Given the dashboard / When its body is read
    [dashboard] = synthesized.template.find_resources("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    # Then the reconciler's three metrics are graphed under its heading
    assert "## Reconciler" in body
    for metric in (
        Metric.RECONCILED_INCIDENTS,
        Metric.RECONCILER_FAILURES,
        Metric.RECONCILER_API_CALLS,
    ):
        assert metric in body
