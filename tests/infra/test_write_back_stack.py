"""Write-back in the stack: with a ``two_way`` target, the ticket-sync function may read the
BigPanda key and its own control-table items, and nothing more; the loop alarm is wired."""

from __future__ import annotations

from typing import Any

import pytest
from synth_support import Synthesized, actions, allowed, allowing, arn_of, synthesize

from pandabridge.names import Env, Metric
from stacks.checks import rule_packs

TWO_WAY = """
[targets.ops]
kind = "http"
base_url = "https://desk.example.com"
[targets.ops.two_way]
events_secret = "desk-events"
integration_user = "pandabridge"
link_tag = "ops_ticket"
"""


@pytest.fixture(scope="module")
def two_way(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The app with a two-way target in its desk file."""
    folder = tmp_path_factory.mktemp("cdk-two-way")
    desk = folder / "desk.toml"
    desk.write_text(TWO_WAY, encoding="utf-8")
    return synthesize(folder / "out", {"config_file": str(desk)})


def _statements(synthesized: Synthesized) -> list[dict[str, Any]]:
    return synthesized.role_statements(synthesized.stack.ticket_sync.worker.function.role)


def _control_prefixes(synthesized: Synthesized) -> dict[str, set[str]]:
    """Leading-key prefix → the actions the ticket-sync function has on the control table."""
    table = arn_of(synthesized.logical_id(synthesized.stack.storage.control_table))
    found: dict[str, set[str]] = {}
    for statement in _statements(synthesized):
        if statement["Resource"] != table:
            continue
        (prefix,) = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
        found.setdefault(prefix, set()).update(actions(statement))
    return found


def test_the_function_reaches_only_its_own_control_items(two_way: Synthesized) -> None:
    # Given a two-way target / When the ticket-sync function's control-table grants are read
    # Then each names its prefix and the fewest actions
    assert _control_prefixes(two_way) == {
        "ledger#*": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"},
        "breaker#*": {"dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"},
        "ratelimit#*": {"dynamodb:UpdateItem"},
        "desk-event#*": {"dynamodb:GetItem"},
    }


def test_the_function_reads_the_bigpanda_key_of_the_callback(two_way: Synthesized) -> None:
    secret = {"Ref": two_way.logical_id(two_way.stack.callback.secret)}
    reads = allowed(_statements(two_way))["secretsmanager:GetSecretValue"]
    assert allowing(secret) <= reads
    variables = two_way.ticket_sync_function["Environment"]["Variables"]
    assert variables[Env.BIGPANDA_SECRET_ID] == secret
    assert Env.CONTROL_TABLE in variables
    assert Env.BIGPANDA_APP_KEY not in variables


def test_ingest_is_told_the_link_tag(two_way: Synthesized) -> None:
    assert two_way.ingest_function["Environment"]["Variables"][Env.LINK_TAG] == "ops_ticket"


def test_a_one_way_stack_grants_no_write_back(synthesized: Synthesized) -> None:
    # Given the default desk file, without two_way
    variables = synthesized.ticket_sync_function["Environment"]["Variables"]
    # Then the ticket-sync function has no BigPanda key and no control-table items
    assert Env.BIGPANDA_SECRET_ID not in variables
    assert _control_prefixes(synthesized) == {}


def test_cdk_nag_finds_nothing_in_the_two_way_stack(two_way: Synthesized) -> None:
    findings = [
        f"{violation.rule_name} at {resource.construct_path}"
        for pack in rule_packs()
        for violation in pack.validate_scope(two_way.app).violations
        for resource in violation.violating_resources
    ]
    assert findings == []


def test_a_suspected_sync_loop_raises_its_alarm(synthesized: Synthesized) -> None:
    alarms = [
        alarm["Properties"]
        for alarm in synthesized.resources("AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("MetricName") == Metric.SYNC_LOOP_SUSPECTED
    ]
    (alarm,) = alarms
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
    assert "inspect" in alarm["AlarmDescription"]
    assert alarm["AlarmActions"]
