"""Desk events in: the route on the webhook API (no API key, no authorizer: the function
verifies), the function allowed exactly what it does, its alarm and dashboard row, and the
``DeskEventsUrl`` output."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

import pytest
from synth_support import Synthesized, allowed, allowing, arn_of

from pandabridge.names import DESK_EVENTS_PATH, TICKETS_BY_TICKET_ID, Env
from pandabridge.settings import DeskEventSettings
from pandabridge.stores.desk_events import incident_partition
from stacks.desk_events import DESK_EVENTS_HANDLER

XRAY = "*"
EVENTS_SECRET = "pandabridge/ops-jira-events"  # examples/jira.toml, the overridden app's file


@pytest.fixture(scope="module")
def function(overridden: Synthesized) -> dict[str, Any]:
    return overridden.resource(overridden.stack.desk_events.receiver.function)["Properties"]


@pytest.fixture(scope="module")
def statements(overridden: Synthesized) -> list[dict[str, Any]]:
    return overridden.role_statements(overridden.stack.desk_events.receiver.role)


def test_the_route_takes_posts_without_api_key_or_authorizer(overridden: Synthesized) -> None:
    # Given the API's methods
    methods = overridden.resources("AWS::ApiGateway::Method")
    function_id = overridden.logical_id(overridden.stack.desk_events.receiver.function)
    # When the one integrated with the desk-events function is read
    [method] = [
        m["Properties"]
        for m in methods.values()
        if function_id in str(m["Properties"].get("Integration", {}).get("Uri", ""))
    ]
    # Then it is a POST that asks neither for an API key nor for the bearer authorizer
    assert method["HttpMethod"] == "POST"
    assert method["AuthorizationType"] == "NONE"
    assert method.get("ApiKeyRequired", False) is False
    assert method["Integration"]["Type"] == "AWS_PROXY"


def test_the_route_is_desk_target_events(overridden: Synthesized) -> None:
    # Given the API's resources / When their path parts are read
    parts = {
        r["Properties"]["PathPart"]
        for r in overridden.resources("AWS::ApiGateway::Resource").values()
    }
    # Then /desk/{target}/events is among them
    assert {"desk", "{target}", "events"} <= parts
    assert DESK_EVENTS_PATH == "/desk/{target}/events"


def test_the_function_runs_the_handler_with_every_variable_its_settings_read(
    function: dict[str, Any],
) -> None:
    # Given the function's settings / When the stack's environment is read
    variables = function["Environment"]["Variables"]
    wanted = {f.alias for f in DeskEventSettings.model_fields.values() if f.alias}
    # Then the handler is the desk-events one and every setting is given
    assert function["Handler"] == DESK_EVENTS_HANDLER
    assert wanted <= set(variables)
    assert Env.CONTROL_TABLE in variables


def test_the_function_is_allowed_exactly_the_calls_it_makes(
    overridden: Synthesized, statements: list[dict[str, Any]]
) -> None:
    # Given the resources it works with
    stack = overridden.stack
    control = arn_of(overridden.logical_id(stack.storage.control_table))
    tickets = arn_of(overridden.logical_id(stack.storage.tickets_table))
    index = {"Fn::Join": ["", [tickets, f"/index/{TICKETS_BY_TICKET_ID.name}"]]}
    queue = arn_of(overridden.logical_id(stack.queues.ticket_sync_queue))
    logs = arn_of(overridden.logical_id(stack.desk_events.receiver.log_group))
    secret = {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":secretsmanager:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                f":secret:{EVENTS_SECRET}-??????",
            ],
        ]
    }
    # When each action is mapped to its resources
    # Then it writes its own control items, reads ticket ids, queues nudges and reads the
    # events secret the configuration names; nothing broader
    assert allowed(statements) == {
        "dynamodb:PutItem": allowing(control),
        "dynamodb:UpdateItem": allowing(control),
        "dynamodb:GetItem": allowing(control, tickets),
        "dynamodb:Query": allowing(index),
        "sqs:SendMessage": allowing(queue),
        "secretsmanager:GetSecretValue": allowing(secret),
        "logs:CreateLogStream": allowing(logs),
        "logs:PutLogEvents": allowing(logs),
        "xray:PutTraceSegments": allowing(XRAY),
        "xray:PutTelemetryRecords": allowing(XRAY),
    }


def test_control_items_are_limited_to_desk_events(
    overridden: Synthesized, statements: list[dict[str, Any]]
) -> None:
    # Given the statement on the control table
    control = arn_of(overridden.logical_id(overridden.stack.storage.control_table))
    [statement] = [s for s in statements if s["Resource"] == control]
    # When its condition is read / Then only desk-event# partitions are allowed
    assert statement["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["desk-event#*"]}
    }


def test_the_per_incident_pointers_are_written_within_the_granted_partitions(
    overridden: Synthesized, statements: list[dict[str, Any]]
) -> None:
    # Given the partitions the function may name on the control table
    control = arn_of(overridden.logical_id(overridden.stack.storage.control_table))
    [statement] = [s for s in statements if s["Resource"] == control]
    patterns = statement["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"]
    # When an event's pointer under its incident is written (a plain or a scoped incident)
    pointers = [incident_partition("5555370aabc20a001145d6g9"), incident_partition("ops#42")]
    # Then its partition is one of them, with no new grant, and another owner's is not
    assert all(any(fnmatchcase(p, pattern) for pattern in patterns) for p in pointers)
    assert not any(fnmatchcase("ledger#ops#42", pattern) for pattern in patterns)


def test_ticket_reads_name_only_the_ticket_identity(
    overridden: Synthesized, statements: list[dict[str, Any]]
) -> None:
    # Given the GetItem statement on the tickets table
    tickets = arn_of(overridden.logical_id(overridden.stack.storage.tickets_table))
    [statement] = [s for s in statements if s["Resource"] == tickets]
    # When its condition is read / Then a read may name only the key and the ticket's identity
    assert statement["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"] == [
        "incident_id",
        "ticket_id",
        "target",
        "ticket_key",
    ]


def test_the_tickets_table_is_indexed_by_ticket_id(overridden: Synthesized) -> None:
    # Given the tickets table / When its indexes are read
    table = overridden.resource(overridden.stack.storage.tickets_table)["Properties"]
    [index] = table["GlobalSecondaryIndexes"]
    # Then the index is keyed by ticket id and projects the target and the ticket key
    assert index["IndexName"] == TICKETS_BY_TICKET_ID.name
    assert index["KeySchema"] == [{"AttributeName": "ticket_id", "KeyType": "HASH"}]
    assert set(index["Projection"]["NonKeyAttributes"]) == {"target", "ticket_key"}


def test_a_failed_desk_event_raises_an_alarm(overridden: Synthesized) -> None:
    # Given the stack's alarms / When the desk-event one is looked for
    alarms = overridden.resources("AWS::CloudWatch::Alarm").values()
    names = [a["Properties"].get("MetricName") for a in alarms]
    # Then the failed-event metric has an alarm, and the function an error alarm
    assert "DeskEventFailed" in names
    assert len(overridden.stack.monitoring.desk_event_alarms) == 1


@pytest.mark.parametrize("app", ["synthesized", "overridden"])
def test_the_stack_outputs_the_desk_events_url(app: str, request: pytest.FixtureRequest) -> None:
    # Given a synthesized app / When its outputs are read
    synthesized: Synthesized = request.getfixturevalue(app)
    outputs = synthesized.json["Outputs"]
    # Then DeskEventsUrl ends in the route, with {target} for the operator to fill in
    assert "/desk/{target}/events" in str(outputs["DeskEventsUrl"]["Value"])
