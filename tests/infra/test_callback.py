"""The callback function: fed by the callback FIFO queue at a capped concurrency, configured for
BigPanda's API, and allowed exactly the calls it makes (on the tickets table, only the one
attribute it owns; on the control table, only the rate-limit windows); and BigPanda's API key
secret, which the template never holds."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from unittest.mock import MagicMock

import pytest
from synth_support import (
    OVERRIDES,
    Synthesized,
    actions,
    allowed,
    allowing,
    arn_of,
    resources_of,
)

from pandabridge.names import TICKETS_TABLE, Env
from pandabridge.rate_limit import RATE_LIMIT_PREFIX
from pandabridge.settings import CallbackSettings, ControlTableSettings
from pandabridge.stores.tickets import CALLBACK_CONFIRMED_AT, CallbackLedger
from stacks.callback import CALLBACK_HANDLER
from stacks.functions import ARCHITECTURE, PYTHON_RUNTIME
from stacks.limits import StackLimits

APPS = ["synthesized", "overridden"]
XRAY = "*"

# Every variable the function's settings read: a new setting that the stack does not pass
# fails the tests below.
SETTINGS_VARIABLES = {
    field.alias
    for model in (CallbackSettings, ControlTableSettings)
    for field in model.model_fields.values()
    if field.alias
} - {Env.BIGPANDA_INTEGRATIONS}  # only with integrations besides default (test_integrations_*)
# Resources the stack creates and names in the function's environment.
RESOURCE_VARIABLES = (
    Env.TICKETS_TABLE,
    Env.CONTROL_TABLE,
    Env.CALLBACK_DLQ_URL,
    Env.BIGPANDA_SECRET_ID,
)


@pytest.fixture(scope="module")
def function(synthesized: Synthesized) -> dict[str, Any]:
    return synthesized.callback_function


@pytest.fixture(scope="module")
def variables(function: dict[str, Any]) -> dict[str, Any]:
    return function["Environment"]["Variables"]


@pytest.fixture(scope="module")
def statements(synthesized: Synthesized) -> list[dict[str, Any]]:
    return synthesized.role_statements(synthesized.stack.callback.confirmer.role)


def _ref(synthesized: Synthesized, construct: Any) -> dict[str, str]:
    return {"Ref": synthesized.logical_id(construct)}


def _resolved(variables: dict[str, Any]) -> dict[str, str]:
    """The environment as the function sees it, with resource references resolved."""
    return {
        key: value if isinstance(value, str) else f"resolved-{key.lower()}"
        for key, value in variables.items()
    }


def _tickets_table(synthesized: Synthesized) -> dict[str, Any]:
    return arn_of(synthesized.logical_id(synthesized.stack.storage.tickets_table))


def _control_table(synthesized: Synthesized) -> dict[str, Any]:
    return arn_of(synthesized.logical_id(synthesized.stack.storage.control_table))


def test_the_function_runs_the_callback_handler_within_its_limits(
    synthesized: Synthesized, function: dict[str, Any]
) -> None:
    # Given the callback function / When its handler and limits are read
    # Then it runs the callback handler on the shared runtime, with the shared timeout and the
    # configured memory, traced, from the same code asset as every function
    assert function["Handler"] == CALLBACK_HANDLER
    assert function["Runtime"] == PYTHON_RUNTIME.name
    assert function["Architectures"] == [ARCHITECTURE.name]
    assert function["Timeout"] == StackLimits.CALLBACK_TIMEOUT_SECONDS
    assert function["MemorySize"] == synthesized.settings.callback_memory_mb == 256
    assert function["TracingConfig"] == {"Mode": "PassThrough"}
    assert function["Code"] == synthesized.ingest_function["Code"]


def test_the_code_asset_ships_the_callback_handler(
    synthesized: Synthesized, function: dict[str, Any]
) -> None:
    # Given the staged code asset
    asset = synthesized.template_file.parent / f"asset.{function['Code']['S3Key'][:-4]}"
    module = CALLBACK_HANDLER.rpartition(".")[0].replace(".", "/")
    # When the handler module is looked up / Then the function's handler is in the package
    assert (asset / f"{module}.py").is_file()


def test_the_environment_names_every_resource(
    synthesized: Synthesized, variables: dict[str, Any]
) -> None:
    # Given the function's environment / When the resource variables are read
    stack = synthesized.stack
    # Then each names the resource the stack created for it (a secret's Ref is its ARN)
    assert {key: variables[key] for key in RESOURCE_VARIABLES} == {
        Env.TICKETS_TABLE: _ref(synthesized, stack.storage.tickets_table),
        Env.CONTROL_TABLE: _ref(synthesized, stack.storage.control_table),
        Env.CALLBACK_DLQ_URL: _ref(synthesized, stack.queues.callback_dlq),
        Env.BIGPANDA_SECRET_ID: _ref(synthesized, stack.callback.secret),
    }


@pytest.mark.parametrize("app", APPS)
def test_the_function_gets_every_variable_its_settings_read(
    app: str, request: pytest.FixtureRequest
) -> None:
    # Given an app, without (defaults) or with (overridden) a BigPanda app key
    synthesized: Synthesized = request.getfixturevalue(app)
    variables = set(synthesized.callback_function["Environment"]["Variables"])
    # When the variables the settings model reads are looked up in the environment
    missing = SETTINGS_VARIABLES - variables
    # Then none is missing, except the app key while the context does not give one
    if synthesized.settings.bigpanda_app_key is None:
        assert missing == {Env.BIGPANDA_APP_KEY}
    else:
        assert missing == set()


def test_the_function_accepts_the_environment_the_stack_gives_it(
    overridden: Synthesized,
) -> None:
    # Given the function environment of an app with every BigPanda setting given
    environment = _resolved(overridden.callback_function["Environment"]["Variables"])
    # When the function's own settings model reads it
    settings = CallbackSettings.from_env(environment)
    # Then it accepts it and sees the configured values
    assert settings.api_base == OVERRIDES["bigpanda_api_base"]
    assert settings.app_key == OVERRIDES["bigpanda_app_key"]
    assert settings.timeout_seconds == OVERRIDES["bigpanda_timeout_seconds"]


def test_the_default_environment_reads_as_the_shared_defaults(variables: dict[str, Any]) -> None:
    # Given the default app's environment, completed with an app key
    environment = _resolved(variables) | {Env.BIGPANDA_APP_KEY: "app-key"}
    # When the function's settings model reads it
    settings = CallbackSettings.from_env(environment)
    # Then BigPanda's API and timeout are the function's own defaults
    defaults = CallbackSettings.model_fields
    assert settings.api_base == defaults["api_base"].default
    assert settings.timeout_seconds == defaults["timeout_seconds"].default


def test_without_an_app_key_the_function_reads_its_settings_as_not_configured(
    variables: dict[str, Any],
) -> None:
    # Given the default app, whose context gives no BigPanda app key
    environment = _resolved(variables)
    # When the function reads its settings
    settings = CallbackSettings.from_env(environment)
    # Then they load, so the DLQ and every other setting still work, with no key in them
    # (each callback is then refused naming the setting, see tests/handlers)
    assert settings.app_key is None


def test_overridden_bigpanda_settings_reach_the_function(overridden: Synthesized) -> None:
    # Given every callback setting overridden / When the function is read
    function = overridden.callback_function
    variables = function["Environment"]["Variables"]
    # Then it gets them, spelled as the function parses them
    assert function["MemorySize"] == OVERRIDES["callback_memory_mb"]
    assert {key: variables[key] for key in SETTINGS_VARIABLES - set(RESOURCE_VARIABLES)} == {
        Env.BIGPANDA_API_BASE: OVERRIDES["bigpanda_api_base"],
        Env.BIGPANDA_APP_KEY: OVERRIDES["bigpanda_app_key"],
        Env.BIGPANDA_TIMEOUT_SECONDS: str(OVERRIDES["bigpanda_timeout_seconds"]),
    }


def test_the_callback_queue_feeds_the_function_with_partial_failures(
    synthesized: Synthesized,
) -> None:
    # Given the event source mapping on the callback queue / When it is read
    stack = synthesized.stack
    mapping = synthesized.event_source_mapping(stack.queues.callback_queue)
    # Then it feeds batches to the callback function and retries only the messages that failed
    assert mapping["FunctionName"] == _ref(synthesized, stack.callback.confirmer.function)
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BatchSize"] == StackLimits.CALLBACK_BATCH_SIZE


@pytest.mark.parametrize("app", APPS)
def test_the_concurrency_cap_bounds_the_calls_to_bigpanda(
    app: str, request: pytest.FixtureRequest
) -> None:
    # Given an app with the default or an overridden cap
    synthesized: Synthesized = request.getfixturevalue(app)
    # When the callback queue's event source mapping is read
    mapping = synthesized.event_source_mapping(synthesized.stack.queues.callback_queue)
    # Then Lambda runs at most that many invocations at once
    assert mapping["ScalingConfig"] == {
        "MaximumConcurrency": synthesized.settings.callback_max_concurrency
    }


def test_the_default_cap_is_the_shared_limit(synthesized: Synthesized) -> None:
    # Given the default settings / Then the cap is the one the local stack also uses
    assert synthesized.settings.callback_max_concurrency == StackLimits.CALLBACK_MAX_CONCURRENCY
    assert OVERRIDES["callback_max_concurrency"] != StackLimits.CALLBACK_MAX_CONCURRENCY


def test_the_function_is_allowed_exactly_the_calls_it_makes(
    synthesized: Synthesized, statements: list[dict[str, Any]]
) -> None:
    # Given the function role's statements and the resources it works with
    stack = synthesized.stack
    tickets = _tickets_table(synthesized)
    queue = arn_of(synthesized.logical_id(stack.queues.callback_queue))
    dlq = arn_of(synthesized.logical_id(stack.queues.callback_dlq))
    secret = _ref(synthesized, stack.callback.secret)
    logs = arn_of(synthesized.logical_id(stack.callback.confirmer.log_group))
    # When each action is mapped to the resources it is allowed on
    # Then it reads and updates ticket items by key, takes rate-limit slots in the control
    # table, consumes and backs off its own queue, dead-letters to its own DLQ and reads its own
    # secret; nothing is broader
    assert allowed(statements) == {
        "dynamodb:GetItem": allowing(tickets),
        "dynamodb:UpdateItem": allowing(tickets, _control_table(synthesized)),
        "sqs:ReceiveMessage": allowing(queue),
        "sqs:DeleteMessage": allowing(queue),
        "sqs:ChangeMessageVisibility": allowing(queue),
        "sqs:GetQueueAttributes": allowing(queue),
        "sqs:GetQueueUrl": allowing(queue),
        "sqs:SendMessage": allowing(dlq),
        "secretsmanager:GetSecretValue": allowing(secret),
        "logs:CreateLogStream": allowing(logs),
        "logs:PutLogEvents": allowing(logs),
        "xray:PutTraceSegments": allowing(XRAY),
        "xray:PutTelemetryRecords": allowing(XRAY),
    }


# The ticket item's attributes the function may name: its key and the one it owns.
CALLBACK_ATTRIBUTES = [TICKETS_TABLE.partition_key, CALLBACK_CONFIRMED_AT]


def _only_statement_allowing(
    statements: list[dict[str, Any]], action: str, resource: dict[str, Any]
) -> dict[str, Any]:
    found = [s for s in statements if action in actions(s) and resource in resources_of(s)]
    assert len(found) == 1, found
    assert actions(found[0]) == {action}
    assert resources_of(found[0]) == [resource]
    return found[0]


def test_control_table_updates_are_held_to_the_rate_limit_items(
    synthesized: Synthesized, statements: list[dict[str, Any]]
) -> None:
    # Given the one statement that allows updating control-table items
    update = _only_statement_allowing(
        statements, "dynamodb:UpdateItem", _control_table(synthesized)
    )
    # When its condition is read
    # Then every partition key a request names must be a rate-limit window's: the function
    # cannot touch desk events, ledgers or watermarks kept in the same table
    assert update["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": [f"{RATE_LIMIT_PREFIX}*"]}
    }


def test_updates_may_name_only_the_key_and_the_confirmation(
    synthesized: Synthesized, statements: list[dict[str, Any]]
) -> None:
    # Given the one statement that allows updating ticket items / When its condition is read
    update = _only_statement_allowing(
        statements, "dynamodb:UpdateItem", _tickets_table(synthesized)
    )
    # Then it allows only requests whose every attribute is the table's key or
    # callback_confirmed_at, returning at most the updated attributes
    assert update["Condition"] == {
        "ForAllValues:StringEquals": {"dynamodb:Attributes": CALLBACK_ATTRIBUTES},
        "StringEqualsIfExists": {"dynamodb:ReturnValues": ["NONE", "UPDATED_OLD", "UPDATED_NEW"]},
    }


def test_reads_may_project_only_the_key_and_the_confirmation(
    synthesized: Synthesized, statements: list[dict[str, Any]]
) -> None:
    # Given the one statement that allows reading ticket items / When its condition is read
    read = _only_statement_allowing(statements, "dynamodb:GetItem", _tickets_table(synthesized))
    # Then it allows only reads that project the key or callback_confirmed_at, not the
    # ticket state that ticket sync owns
    assert read["Condition"] == {
        "ForAllValues:StringEquals": {"dynamodb:Attributes": CALLBACK_ATTRIBUTES},
        "StringEqualsIfExists": {"dynamodb:Select": "SPECIFIC_ATTRIBUTES"},
    }


def test_the_callback_ledger_stays_within_its_allowed_attributes() -> None:
    # Given the function's ledger on a client that records its requests
    client = MagicMock()
    client.get_item.return_value = {}
    ledger = CallbackLedger(table_name="tickets", dynamodb=client)
    # When it reads and then records a confirmation
    ledger.confirmed_at("incident-1")
    ledger.record_confirmed("incident-1", datetime(2025, 1, 1, tzinfo=UTC))
    read, update = client.get_item.call_args.kwargs, client.update_item.call_args.kwargs
    # Then both name only the key and callback_confirmed_at, the read projects, and the update
    # returns nothing beyond the updated attributes: what the grants above allow
    for request in (read, update):
        named = set(request["Key"]) | set(request.get("ExpressionAttributeNames", {}).values())
        assert named <= set(CALLBACK_ATTRIBUTES), request
    assert "ProjectionExpression" in read
    assert update.get("ReturnValues", "NONE") in {"NONE", "UPDATED_OLD", "UPDATED_NEW"}
    assert "ReturnValuesOnConditionCheckFailure" not in update


def test_no_write_to_the_tickets_table_can_replace_or_delete_an_item(
    statements: list[dict[str, Any]],
) -> None:
    # Given every action the function is allowed / Then none writes an item whole or removes it
    granted = set(allowed(statements))
    forbidden = {"dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:BatchWriteItem"}
    assert granted & forbidden == set()


def test_only_xray_is_granted_on_every_resource(statements: list[dict[str, Any]]) -> None:
    # Given the function role's statements / When those on '*' or with a wildcard action are kept
    wildcard = [s for s in statements if "*" in json.dumps(s["Action"]) or s["Resource"] == "*"]
    # Then the only one is X-Ray's, which supports no resource-level permissions
    assert [set(s["Action"]) for s in wildcard] == [
        {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
    ]


def test_the_api_key_secret_holds_no_value_in_the_template(synthesized: Synthesized) -> None:
    # Given BigPanda's API key secret / When its definition is read
    secret = synthesized.resource(synthesized.stack.callback.secret)["Properties"]
    # Then Secrets Manager generates a placeholder; no key is in the template
    assert "SecretString" not in secret
    assert secret["GenerateSecretString"] == {}
    assert "Name" not in secret


def test_only_the_callback_and_reconciler_functions_may_read_the_api_key(
    synthesized: Synthesized,
) -> None:
    # Given BigPanda's API key secret and every IAM policy of the stack
    secret = _ref(synthesized, synthesized.stack.callback.secret)
    # When the roles whose policies mention the secret are collected
    readers = {
        json.dumps(role, sort_keys=True)
        for policy in synthesized.resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if secret in resources_of(statement)
        for role in policy["Properties"]["Roles"]
    }
    # Then the callback function's role and the reconciler's are the only ones
    roles = (synthesized.stack.callback.confirmer.role, synthesized.stack.reconciler.worker.role)
    assert readers == {json.dumps(_ref(synthesized, role), sort_keys=True) for role in roles}


def test_outputs_name_the_callback_resources(synthesized: Synthesized) -> None:
    # Given the template's outputs / When the callback outputs' values are read
    outputs = synthesized.json["Outputs"]
    stack = synthesized.stack
    # Then each names its resource, and the secret's says to store the key from a file
    assert outputs["CallbackDlqUrl"]["Value"] == _ref(synthesized, stack.queues.callback_dlq)
    secret_name = json.dumps(outputs["BigPandaSecretName"]["Value"])
    assert synthesized.logical_id(stack.callback.secret) in secret_name
    assert "never on the command line" in outputs["BigPandaSecretName"]["Description"]
    assert "--secret-string" not in outputs["BigPandaSecretName"]["Description"]


def test_a_missing_app_key_is_warned_about(
    synthesized: Synthesized, overridden: Synthesized
) -> None:
    # Given the default app (no app key) and one with an app key
    def warnings(app: Synthesized) -> list[str]:
        return [
            str(entry.data)
            for entry in app.stack.callback.node.metadata
            if entry.type == "aws:cdk:warning"
        ]

    # When each callback construct's warnings are read
    # Then only the missing key is warned about, telling the admin how to finish the setup
    [warning] = [text for text in warnings(synthesized) if "bigpanda_app_key" in text]
    redrive = ".venv/bin/pandabridge-ops redrive callback"
    for step in ("WebhookUrl", "redeploy", redrive, "CallbackNotConfiguredAlarm"):
        assert step in warning
    assert warnings(overridden) == []
