"""Write-back in the stack: with a ``two_way`` target, the ticket-sync function may read the
BigPanda key and its own control-table items, and nothing more; the loop alarm is wired."""

from __future__ import annotations

import json
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


def _synthesized_with(factory: pytest.TempPathFactory, name: str, text: str) -> Synthesized:
    """The app synthesized with ``text`` as its desk file."""
    folder = factory.mktemp(name)
    desk = folder / "desk.toml"
    desk.write_text(text, encoding="utf-8")
    return synthesize(folder / "out", {"config_file": str(desk)})


@pytest.fixture(scope="module")
def two_way(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The app with a two-way target in its desk file."""
    return _synthesized_with(tmp_path_factory, "cdk-two-way", TWO_WAY)


# A second BigPanda org, the integration "payments", with its own User API key secret.
PAYMENTS = """
[integrations.payments]
api_base = "eu"
key_secret = "pandabridge/payments-bigpanda"
token_secret = "pandabridge/payments-tokens"
"""


@pytest.fixture(scope="module")
def two_way_integrations(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    """The two-way app with a second integration in its desk file."""
    text = TWO_WAY.replace("[targets.ops]", 'target = "ops"\n[targets.ops]', 1) + PAYMENTS
    return _synthesized_with(tmp_path_factory, "cdk-two-way-integrations", text)


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


def test_the_function_writes_back_with_each_integrations_own_key(
    two_way_integrations: Synthesized,
) -> None:
    # Given a two-way target and the integration "payments" with its own key secret
    # When the ticket-sync function's variables and secret grants are read
    variables = two_way_integrations.ticket_sync_function["Environment"]["Variables"]
    reads = json.dumps(
        sorted(
            map(str, allowed(_statements(two_way_integrations))["secretsmanager:GetSecretValue"])
        )
    )
    # Then it knows payments' BigPanda account (not its app key: the callback's alone) and may
    # read payments' key secret by name
    assert json.loads(variables[Env.BIGPANDA_INTEGRATIONS]) == {
        "payments": {
            "api_base": "https://eu-api.bigpanda.io",
            "key_secret": "pandabridge/payments-bigpanda",
        }
    }
    assert ":secret:pandabridge/payments-bigpanda-??????" in reads


def test_a_one_way_function_may_not_read_an_integrations_key(
    integrated: Synthesized,
) -> None:
    # Given integrations with their own key secrets but no two-way target
    function = integrated.stack.ticket_sync.worker.function
    resources = json.dumps([s["Resource"] for s in integrated.role_statements(function.role)])
    # Then the ticket-sync function can read none of them, nor knows the accounts
    variables = integrated.resource(function)["Properties"]["Environment"]["Variables"]
    assert "payments-bigpanda" not in resources
    assert Env.BIGPANDA_INTEGRATIONS not in variables
