"""Finding the stack's resources: CloudFormation outputs, explicit flags, and what is missing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ops.__main__ import build_parser, main
from ops.discovery import Resource, Resources, project_context, resolve
from ops.errors import OpsError
from stacks.limits import DEFAULT_STACK_NAME
from tests.ops.support import LocalStack

REPO = Path(__file__).resolve().parents[2]
OUTPUTS = {resource.output: f"value-of-{resource.output}" for resource in Resource}


@pytest.fixture
def aws_env(stack: LocalStack, monkeypatch: pytest.MonkeyPatch) -> str:
    """Credentials and region as an operator's shell has them; returns the endpoint."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "operator")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "operator")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    return stack.endpoint


def _deploy(stack: LocalStack, name: str, outputs: dict[str, str]) -> None:
    template = {
        "Resources": {"Placeholder": {"Type": "AWS::SQS::Queue"}},
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    stack.client("cloudformation").create_stack(StackName=name, TemplateBody=json.dumps(template))


def _resolve(endpoint: str, *flags: str) -> Resources:
    args = build_parser().parse_args(["inspect", "some-id", "--endpoint-url", endpoint, *flags])
    return resolve(args).resources


def test_stack_outputs_name_every_resource(aws_env: str, stack: LocalStack) -> None:
    # Given
    _deploy(stack, "Prod", OUTPUTS)

    # When
    resources = _resolve(aws_env, "--stack", "Prod")

    # Then
    assert {r.output: resources[r] for r in Resource} == OUTPUTS


def test_the_default_stack_is_cdk_json_s_stack_name(aws_env: str, stack: LocalStack) -> None:
    # Given the stack cdk.json names, or the default name when cdk.json leaves it out
    _deploy(stack, project_context().get("stack_name", DEFAULT_STACK_NAME), OUTPUTS)

    # When
    resources = _resolve(aws_env)

    # Then
    assert resources[Resource.TICKETS_TABLE] == "value-of-TicketsTableName"


def test_a_missing_output_names_itself_and_the_fix(aws_env: str, stack: LocalStack) -> None:
    # Given
    _deploy(stack, "Old", {k: v for k, v in OUTPUTS.items() if k != "TicketSyncDlqUrl"})
    resources = _resolve(aws_env, "--stack", "Old")

    # When / Then
    with pytest.raises(OpsError) as raised:
        resources[Resource.TICKET_SYNC_DLQ_URL]
    assert str(raised.value) == (
        "stack Old has no output TicketSyncDlqUrl: deploy the current version, "
        "or pass --ticket-sync-dlq-url"
    )


def test_a_command_missing_an_output_exits_1(
    aws_env: str, stack: LocalStack, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given
    _deploy(stack, "Old", {k: v for k, v in OUTPUTS.items() if k != "CallbackDlqUrl"})

    # When
    code = main(["redrive", "callback", "--stack", "Old", "--endpoint-url", aws_env])

    # Then
    assert code == 1
    assert "stack Old has no output CallbackDlqUrl" in capsys.readouterr().err


def test_an_unknown_stack_is_reported(aws_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    # When
    code = main(["inspect", "some-id", "--stack", "Nope", "--endpoint-url", aws_env])

    # Then
    assert code == 1
    assert capsys.readouterr().err == (
        "error: no stack Nope in us-east-1: deploy it, or pass --stack NAME / --region\n"
    )


def test_an_explicit_flag_wins_over_the_stack(aws_env: str) -> None:
    # Given no stack at all, When
    resources = _resolve(aws_env, "--stack", "Absent", "--tickets-table", "my-tickets")

    # Then
    assert resources[Resource.TICKETS_TABLE] == "my-tickets"


def test_the_outputs_read_are_the_ones_the_stack_declares() -> None:
    # Given
    stack_source = (REPO / "stacks" / "webhook_stack.py").read_text()

    # When / Then
    assert [r.output for r in Resource if f'"{r.output}"' not in stack_source] == []


def test_usage_errors_exit_2() -> None:
    # When / Then
    with pytest.raises(SystemExit) as raised:
        build_parser().parse_args(["redrive", "no-such-queue"])
    assert raised.value.code == 2
