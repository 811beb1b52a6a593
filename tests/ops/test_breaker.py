"""``pandabridge-ops breaker reset``: an operator lets write-back mirror an incident again
once the loop's cause is fixed, without touching DynamoDB by hand."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from local.names import CONTROL_TABLE
from pandabridge.stores.echo import DynamoCircuitBreaker
from tests.ops.support import INCIDENT_ID, Cli, LocalStack


@pytest.fixture
def breaker(stack: LocalStack) -> DynamoCircuitBreaker:
    return DynamoCircuitBreaker(CONTROL_TABLE.local_name, stack.client("dynamodb"))


def _open(breaker: DynamoCircuitBreaker, storage_key: str) -> None:
    breaker.open(storage_key, datetime.now(UTC).replace(microsecond=0), writes=11)


def test_reset_closes_an_open_breaker(cli: Cli, breaker: DynamoCircuitBreaker) -> None:
    # Given an incident whose mirroring the breaker stopped
    _open(breaker, INCIDENT_ID)
    # When the operator resets it
    run = cli("breaker", "reset", INCIDENT_ID)
    # Then it is closed, and the output says mirroring resumes
    assert run.code == 0, run.err
    assert breaker.opened_at(INCIDENT_ID) is None
    assert "closed" in run.out
    assert INCIDENT_ID in run.out


def test_reset_of_an_integrations_incident_closes_only_its_breaker(
    cli: Cli, breaker: DynamoCircuitBreaker
) -> None:
    # Given the same BigPanda id open in the default integration and in "ops"
    _open(breaker, INCIDENT_ID)
    _open(breaker, f"ops#{INCIDENT_ID}")
    # When ops's is reset
    run = cli("breaker", "reset", INCIDENT_ID, "--integration", "ops")
    # Then only ops's breaker is closed
    assert run.code == 0, run.err
    assert breaker.opened_at(f"ops#{INCIDENT_ID}") is None
    assert breaker.opened_at(INCIDENT_ID) is not None


def test_reset_of_a_closed_breaker_says_so(cli: Cli) -> None:
    run = cli("breaker", "reset", INCIDENT_ID)
    assert run.code == 0, run.err
    assert "not open" in run.out


def test_a_bad_integration_name_is_refused_naming_the_flag(
    cli: Cli, capsys: pytest.CaptureFixture[str]
) -> None:
    # When the integration given is no integration name / Then it is a usage error naming it
    with pytest.raises(SystemExit) as exit_:
        cli("breaker", "reset", INCIDENT_ID, "--integration", "Not A Name")
    assert exit_.value.code == 2
    assert "--integration" in capsys.readouterr().err
