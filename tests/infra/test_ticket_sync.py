"""The ticket-sync function: fed by the FIFO queue, configured for its ticket target, and
allowed exactly the calls it makes; and the credentials secret, which the template never holds."""

from __future__ import annotations

import json
from typing import Any

import pytest
from synth_support import OVERRIDES, Synthesized, allowed, allowing, arn_of

from pandabridge.desk_config import load_config
from pandabridge.names import Env
from pandabridge.settings import TicketSyncSettings, TicketTargetSettings
from stacks.desk import CONFIG_FILE_NAME, FUNCTION_CONFIG_PATH
from stacks.limits import StackLimits
from stacks.ticket_sync import TICKET_SYNC_HANDLER

APPS = ["synthesized", "overridden"]
XRAY = "*"

# Every variable either settings model reads: a new setting that the stack does not pass
# fails the tests below.
SETTINGS_VARIABLES = {
    field.alias
    for model in (TicketSyncSettings, TicketTargetSettings)
    for field in model.model_fields.values()
    if field.alias
}


@pytest.fixture(scope="module")
def worker(synthesized: Synthesized) -> dict[str, Any]:
    return synthesized.ticket_sync_function


@pytest.fixture(scope="module")
def variables(worker: dict[str, Any]) -> dict[str, Any]:
    return worker["Environment"]["Variables"]


@pytest.fixture(scope="module")
def mapping(synthesized: Synthesized) -> dict[str, Any]:
    return synthesized.event_source_mapping(synthesized.stack.queues.ticket_sync_queue)


@pytest.fixture(scope="module")
def statements(synthesized: Synthesized) -> list[dict[str, Any]]:
    return synthesized.role_statements(synthesized.stack.ticket_sync.worker.role)


def _ref(synthesized: Synthesized, construct: Any) -> dict[str, str]:
    return {"Ref": synthesized.logical_id(construct)}


def test_worker_runs_the_ticket_sync_handler_within_its_limits(
    synthesized: Synthesized, worker: dict[str, Any]
) -> None:
    # Given the ticket-sync function / When its handler and limits are read
    # Then it runs the ticket-sync handler with the shared timeout and the configured memory
    assert worker["Handler"] == TICKET_SYNC_HANDLER
    assert worker["Timeout"] == StackLimits.TICKET_SYNC_TIMEOUT_SECONDS
    assert worker["MemorySize"] == synthesized.settings.ticket_sync_memory_mb
    assert worker["TracingConfig"] == {"Mode": "PassThrough"}
    assert worker["Code"] == synthesized.ingest_function["Code"]


@pytest.mark.parametrize("app", APPS)
def test_the_function_gets_the_validated_desk_configuration_file(
    app: str, request: pytest.FixtureRequest
) -> None:
    # Given an app and the desk configuration file its config_file names
    synthesized: Synthesized = request.getfixturevalue(app)
    settings = synthesized.settings
    layer_id = synthesized.logical_id(synthesized.stack.ticket_sync.desk_config.layer)
    layer = synthesized.resources("AWS::Lambda::LayerVersion")[layer_id]
    # When the layer's staged asset and the function's variable are read
    asset = (
        synthesized.template_file.parent / f"asset.{layer['Properties']['Content']['S3Key'][:-4]}"
    )
    variables = synthesized.ticket_sync_function["Environment"]["Variables"]
    # Then the ticket-sync function alone carries the file, and the variable names where
    # Lambda puts it
    assert (asset / CONFIG_FILE_NAME).read_bytes() == settings.config_path.read_bytes()
    assert {"Ref": layer_id} in synthesized.ticket_sync_function["Layers"]
    assert {"Ref": layer_id} not in synthesized.ingest_function["Layers"]
    assert variables[Env.DESK_CONFIG_FILE] == FUNCTION_CONFIG_PATH == f"/opt/{CONFIG_FILE_NAME}"


def test_the_code_asset_ships_the_ticket_sync_handler(
    synthesized: Synthesized, worker: dict[str, Any]
) -> None:
    # Given the staged code asset
    asset = synthesized.template_file.parent / f"asset.{worker['Code']['S3Key'][:-4]}"
    module = TICKET_SYNC_HANDLER.rpartition(".")[0].replace(".", "/")
    # When the handler module is looked up / Then the function's handler is in the package
    assert (asset / f"{module}.py").is_file()


def test_worker_environment_names_every_resource(
    synthesized: Synthesized, variables: dict[str, Any]
) -> None:
    # Given the function's environment / When the resource variables are read
    stack = synthesized.stack
    # Then each names the resource the stack created for it
    assert {key: variables[key] for key in _RESOURCE_VARIABLES} == {
        Env.INCIDENTS_TABLE: _ref(synthesized, stack.storage.table),
        Env.PAYLOAD_BUCKET: _ref(synthesized, stack.storage.payload_bucket),
        Env.TICKETS_TABLE: _ref(synthesized, stack.storage.tickets_table),
        Env.TICKET_SYNC_DLQ_URL: _ref(synthesized, stack.queues.ticket_sync_dlq),
        Env.CALLBACK_QUEUE_URL: _ref(synthesized, stack.queues.callback_queue),
        Env.TICKET_SECRET_ID: _ref(synthesized, stack.ticket_sync.secret),
    }


_RESOURCE_VARIABLES = (
    Env.INCIDENTS_TABLE,
    Env.PAYLOAD_BUCKET,
    Env.TICKETS_TABLE,
    Env.TICKET_SYNC_DLQ_URL,
    Env.CALLBACK_QUEUE_URL,
    Env.TICKET_SECRET_ID,
)


@pytest.mark.parametrize("app", APPS)
def test_worker_gets_every_variable_its_settings_read(
    app: str, request: pytest.FixtureRequest
) -> None:
    # Given an app, with the default (http) or an overridden (jira) ticket target
    synthesized: Synthesized = request.getfixturevalue(app)
    variables = set(synthesized.ticket_sync_function["Environment"]["Variables"])
    # When the variables the settings models read are looked up in the environment
    missing = SETTINGS_VARIABLES - variables
    # Then none is missing
    assert missing == set()


@pytest.mark.parametrize("app", APPS)
def test_the_function_accepts_the_environment_the_stack_gives_it(
    app: str, request: pytest.FixtureRequest
) -> None:
    # Given an app's function environment, with resource references resolved to names
    synthesized: Synthesized = request.getfixturevalue(app)
    environment = {
        key: value if isinstance(value, str) else f"resolved-{key.lower()}"
        for key, value in synthesized.ticket_sync_function["Environment"]["Variables"].items()
    }
    # When the function's own settings models read it
    storage = TicketSyncSettings.from_env(environment)
    target = TicketTargetSettings.from_env(environment)
    # Then they accept it and see the values of the desk configuration file
    desk = load_config(synthesized.settings.config_path).selected
    assert storage.inline_payload_max_bytes == synthesized.settings.inline_payload_max_bytes
    assert target.target == desk.kind
    assert target.base_url == desk.base_url
    assert target.timeout_seconds == desk.timeout_seconds


def test_overridden_ticket_settings_reach_the_function(overridden: Synthesized) -> None:
    # Given another desk configuration file (the Jira example) / When the function is read
    function = overridden.ticket_sync_function
    variables = function["Environment"]["Variables"]
    # Then it gets the file's target, spelled as the function parses it
    assert function["MemorySize"] == OVERRIDES["ticket_sync_memory_mb"]
    assert {key: variables[key] for key in SETTINGS_VARIABLES - set(_RESOURCE_VARIABLES)} == {
        Env.INLINE_PAYLOAD_MAX_BYTES: str(OVERRIDES["inline_payload_max_bytes"]),
        Env.TICKET_TARGET: "jira",
        Env.TICKET_BASE_URL: "https://acme.atlassian.net",
        Env.TICKET_TIMEOUT_SECONDS: "10",
        Env.DESK_CONFIG_FILE: FUNCTION_CONFIG_PATH,
    }


def test_the_ticket_sync_queue_feeds_the_worker_with_partial_failures(
    synthesized: Synthesized, mapping: dict[str, Any]
) -> None:
    # Given the event source mapping / When it is read
    stack = synthesized.stack
    # Then it feeds batches from the FIFO queue and retries only the messages that failed
    assert mapping["EventSourceArn"] == arn_of(
        synthesized.logical_id(stack.queues.ticket_sync_queue)
    )
    assert mapping["FunctionName"] == _ref(synthesized, stack.ticket_sync.worker.function)
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BatchSize"] == StackLimits.TICKET_SYNC_BATCH_SIZE
    assert "ScalingConfig" not in mapping


def test_a_maximum_concurrency_caps_the_event_source(overridden: Synthesized) -> None:
    # Given a maximum concurrency in the context / When the event source mapping is read
    mapping = overridden.event_source_mapping(overridden.stack.queues.ticket_sync_queue)
    # Then Lambda runs at most that many invocations at once
    assert mapping["ScalingConfig"] == {
        "MaximumConcurrency": OVERRIDES["ticket_sync_max_concurrency"]
    }


def test_worker_is_allowed_exactly_the_calls_it_makes(
    synthesized: Synthesized, statements: list[dict[str, Any]]
) -> None:
    # Given the worker role's statements and the resources it works with
    stack = synthesized.stack
    incidents = arn_of(synthesized.logical_id(stack.storage.table))
    tickets = arn_of(synthesized.logical_id(stack.storage.tickets_table))
    bucket = synthesized.logical_id(stack.storage.payload_bucket)
    archive = {"Fn::Join": ["", [arn_of(bucket), "/incidents/*"]]}
    queue = arn_of(synthesized.logical_id(stack.queues.ticket_sync_queue))
    dlq = arn_of(synthesized.logical_id(stack.queues.ticket_sync_dlq))
    callback = arn_of(synthesized.logical_id(stack.queues.callback_queue))
    secret = _ref(synthesized, stack.ticket_sync.secret)
    logs = arn_of(synthesized.logical_id(stack.ticket_sync.worker.log_group))
    # When each action is mapped to the resources it is allowed on
    # Then reads are by key, writes go to the tickets table and three queues (the callback, the
    # DLQ, and its own for a waiting nudge sent on afresh), nothing is broader
    assert allowed(statements) == {
        "dynamodb:GetItem": allowing(incidents, tickets),
        "dynamodb:PutItem": allowing(tickets),
        "dynamodb:UpdateItem": allowing(tickets),
        "s3:GetObject": allowing(archive),
        "sqs:ReceiveMessage": allowing(queue),
        "sqs:DeleteMessage": allowing(queue),
        "sqs:ChangeMessageVisibility": allowing(queue),
        "sqs:GetQueueAttributes": allowing(queue),
        "sqs:GetQueueUrl": allowing(queue),
        "sqs:SendMessage": allowing(callback, dlq, queue),
        "secretsmanager:GetSecretValue": allowing(secret),
        "logs:CreateLogStream": allowing(logs),
        "logs:PutLogEvents": allowing(logs),
        "xray:PutTraceSegments": allowing(XRAY),
        "xray:PutTelemetryRecords": allowing(XRAY),
    }


def test_only_xray_is_granted_on_every_resource(statements: list[dict[str, Any]]) -> None:
    # Given the worker role's statements / When those on '*' or with a wildcard action are kept
    wildcard = [s for s in statements if "*" in json.dumps(s["Action"]) or s["Resource"] == "*"]
    # Then the only one is X-Ray's, which supports no resource-level permissions
    assert [set(s["Action"]) for s in wildcard] == [
        {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
    ]


def test_the_secret_holds_no_value_in_the_template(synthesized: Synthesized) -> None:
    # Given the credentials secret / When its definition is read
    secret = synthesized.resource(synthesized.stack.ticket_sync.secret)["Properties"]
    # Then Secrets Manager generates a placeholder; no credential is in the template
    assert "SecretString" not in secret
    assert secret["GenerateSecretString"] == {}
    assert "Name" not in secret
    assert '"SecretString":' not in json.dumps(synthesized.json)


def test_outputs_name_the_ticket_resources(synthesized: Synthesized) -> None:
    # Given the template's outputs / When the ticket outputs' values are read
    outputs = synthesized.json["Outputs"]
    stack = synthesized.stack
    # Then each names its resource (a queue's Ref is its URL, a table's its name)
    assert outputs["TicketsTableName"]["Value"] == _ref(synthesized, stack.storage.tickets_table)
    assert outputs["TicketSyncQueueUrl"]["Value"] == _ref(
        synthesized, stack.queues.ticket_sync_queue
    )
    assert outputs["TicketSyncDlqUrl"]["Value"] == _ref(synthesized, stack.queues.ticket_sync_dlq)
    assert outputs["CallbackQueueUrl"]["Value"] == _ref(synthesized, stack.queues.callback_queue)
    secret_name = json.dumps(outputs["TicketSecretName"]["Value"])
    assert synthesized.logical_id(stack.ticket_sync.secret) in secret_name


def test_the_placeholder_ticket_url_is_warned_about(
    synthesized: Synthesized, overridden: Synthesized
) -> None:
    # Given the default app (placeholder URL) and one with a real URL
    def warnings(app: Synthesized) -> list[str]:
        return [
            str(entry.data)
            for entry in app.stack.ticket_sync.node.metadata
            if entry.type == "aws:cdk:warning"
        ]

    # When each ticket-sync construct's warnings are read
    # Then only the placeholder is warned about, naming the key to set in the file
    assert any("targets.desk.base_url" in warning for warning in warnings(synthesized))
    assert warnings(overridden) == []
