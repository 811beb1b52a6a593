"""The ingest function: runtime, code, layer, settings, logs and least-privilege role."""

from __future__ import annotations

import json
from typing import Any

import pytest
from synth_support import Synthesized

from pandabridge.names import METRICS_NAMESPACE, SERVICE_NAME, Env
from stacks.functions import (
    PowertoolsPinError,
    powertools_layer_parameter,
    powertools_version,
)
from stacks.ingest_api import INGEST_HANDLER

XRAY_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}


@pytest.fixture(scope="module")
def ingest(synthesized: Synthesized) -> dict[str, Any]:
    return synthesized.ingest_function


@pytest.fixture(scope="module")
def ingest_statements(synthesized: Synthesized) -> list[dict[str, Any]]:
    """Every statement of every policy attached to the ingest function's role."""
    role_id = synthesized.logical_id(synthesized.stack.ingest_api.ingest.role)
    role = synthesized.resources("AWS::IAM::Role")[role_id]["Properties"]
    assert "ManagedPolicyArns" not in role
    assert "Policies" not in role
    return [
        statement
        for policy in synthesized.resources("AWS::IAM::Policy").values()
        if {"Ref": role_id} in policy["Properties"]["Roles"]
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
    ]


def _actions(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def test_ingest_runs_python_3_14_on_arm64(ingest: dict[str, Any]) -> None:
    # Given the ingest function / When its runtime settings are read
    # Then it runs on Graviton with the runtime the Powertools layer is built for
    assert ingest["Architectures"] == ["arm64"]
    assert ingest["Runtime"] == "python3.14"
    assert ingest["Handler"] == INGEST_HANDLER


def test_code_asset_ships_the_handler_without_build_leftovers(
    synthesized: Synthesized, ingest: dict[str, Any]
) -> None:
    # Given the staged code asset of the function
    asset_hash = ingest["Code"]["S3Key"].removesuffix(".zip")
    asset = synthesized.template_file.parent / f"asset.{asset_hash}"
    # When its files are listed
    files = {path.relative_to(asset).as_posix() for path in asset.rglob("*") if path.is_file()}
    # Then the handler module is there and no bytecode or tests are
    module, _, _function = INGEST_HANDLER.rpartition(".")
    assert f"{module.replace('.', '/')}.py" in files
    assert "pandabridge/names.py" in files
    assert not [f for f in files if f.endswith(".pyc") or "/tests/" in f or "__pycache__" in f]


def test_ingest_layer_is_the_pinned_powertools_from_ssm(
    synthesized: Synthesized, ingest: dict[str, Any]
) -> None:
    # Given the Powertools version that requirements.txt pins
    expected = powertools_layer_parameter(powertools_version())
    # When the function's layer reference is followed to its template parameter
    (layer,) = ingest["Layers"]
    parameter = synthesized.template.to_json()["Parameters"][layer["Ref"]]
    # Then it is the public SSM parameter of that version, runtime and architecture
    assert parameter["Type"] == "AWS::SSM::Parameter::Value<String>"
    assert parameter["Default"] == expected
    assert expected.startswith("/aws/service/powertools/python/arm64/python3.14/")


def test_powertools_version_without_an_exact_pin_is_a_clear_error(tmp_path) -> None:
    # Given requirements that name Powertools without an exact version
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("boto3==1.0.0\naws-lambda-powertools>=3\n")
    # When the version is looked up / Then the error says what to pin
    with pytest.raises(PowertoolsPinError, match=r"aws-lambda-powertools.*==X\.Y\.Z"):
        powertools_version(requirements)


def test_powertools_version_accepts_extras_in_the_pin(tmp_path) -> None:
    # Given a pin with extras, as requirements.txt writes it
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("aws-lambda-powertools[tracer,parser]==3.1.4  # layer\n")
    # When the version is looked up / Then the extras are ignored
    assert powertools_version(requirements) == "3.1.4"


def test_ingest_environment_names_its_resources_and_settings(
    synthesized: Synthesized, ingest: dict[str, Any]
) -> None:
    # Given the ingest function / When its environment is read
    variables = ingest["Environment"]["Variables"]
    storage = synthesized.stack.storage
    # Then it finds its table and bucket, and Powertools its service and level
    assert variables == {
        Env.INCIDENTS_TABLE: {"Ref": synthesized.logical_id(storage.table)},
        Env.PAYLOAD_BUCKET: {"Ref": synthesized.logical_id(storage.payload_bucket)},
        Env.INLINE_PAYLOAD_MAX_BYTES: str(synthesized.settings.inline_payload_max_bytes),
        "POWERTOOLS_SERVICE_NAME": SERVICE_NAME,
        "POWERTOOLS_METRICS_NAMESPACE": METRICS_NAMESPACE,
        "POWERTOOLS_LOG_LEVEL": synthesized.settings.log_level,
    }


def test_ingest_memory_timeout_and_tracing_follow_the_settings(
    synthesized: Synthesized, ingest: dict[str, Any]
) -> None:
    # Given the default settings / When the function's limits are read
    settings = synthesized.settings
    # Then memory and timeout are the configured ones and every invocation is traced
    assert ingest["MemorySize"] == settings.lambda_memory_mb
    assert ingest["Timeout"] == settings.ingest_timeout_seconds
    assert ingest["TracingConfig"] == {"Mode": "Active"}
    assert "ReservedConcurrentExecutions" not in ingest


def test_ingest_logs_to_its_own_log_group_with_retention(
    synthesized: Synthesized, ingest: dict[str, Any]
) -> None:
    # Given the ingest function / When its log group is followed
    log_group_id = ingest["LoggingConfig"]["LogGroup"]["Ref"]
    log_group = synthesized.resources("AWS::Logs::LogGroup")[log_group_id]
    # Then its entries expire after the configured retention
    assert log_group["Properties"]["RetentionInDays"] == synthesized.settings.log_retention_days


def test_ingest_may_only_put_items_into_the_incidents_table(
    synthesized: Synthesized, ingest_statements: list[dict[str, Any]]
) -> None:
    # Given the ingest role's statements / When those on DynamoDB are selected
    dynamodb = [s for s in ingest_statements if any(a.startswith("dynamodb:") for a in _actions(s))]
    table_id = synthesized.logical_id(synthesized.stack.storage.table)
    # Then the one allowed call is PutItem on the table itself (no reads, no indexes)
    assert dynamodb == [
        {
            "Action": "dynamodb:PutItem",
            "Effect": "Allow",
            "Resource": {"Fn::GetAtt": [table_id, "Arn"]},
        }
    ]


def test_ingest_may_only_put_objects_under_the_archive_prefix(
    synthesized: Synthesized, ingest_statements: list[dict[str, Any]]
) -> None:
    # Given the ingest role's statements / When those on S3 are selected
    s3 = [s for s in ingest_statements if any(a.startswith("s3:") for a in _actions(s))]
    bucket_id = synthesized.logical_id(synthesized.stack.storage.payload_bucket)
    # Then the one allowed call is PutObject on keys under incidents/
    assert s3 == [
        {
            "Action": "s3:PutObject",
            "Effect": "Allow",
            "Resource": {"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, "/incidents/*"]]},
        }
    ]


def test_ingest_role_grants_nothing_beyond_data_logs_and_traces(
    ingest_statements: list[dict[str, Any]],
) -> None:
    # Given the ingest role's statements / When every allowed action is collected
    actions = set().union(*(_actions(s) for s in ingest_statements))
    # Then they are exactly the two data calls, its log writes and X-Ray's trace upload
    assert actions == {
        "dynamodb:PutItem",
        "s3:PutObject",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        *XRAY_ACTIONS,
    }
    assert all(s["Effect"] == "Allow" for s in ingest_statements)


def test_only_xray_is_granted_on_every_resource(ingest_statements: list[dict[str, Any]]) -> None:
    # Given the ingest role's statements
    # When those with a wildcard action or resource are selected
    wildcard = [
        s for s in ingest_statements if "*" in json.dumps(s["Action"]) or s["Resource"] == "*"
    ]
    # Then the only one is X-Ray's, which supports no resource-level permissions
    assert [_actions(s) for s in wildcard] == [XRAY_ACTIONS]
    assert all(s["Resource"] == "*" for s in wildcard)
