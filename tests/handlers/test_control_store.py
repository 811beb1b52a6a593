"""The control table on a real moto server: created by the local stack as the stack builds it,
and the DynamoDB rate limiter's fixed windows kept in it."""

from __future__ import annotations

import os

from local.names import CONTROL_TABLE
from pandabridge.names import Env
from pandabridge.settings import ControlTableSettings
from tests.handlers.conftest import Aws


def test_the_local_stack_creates_the_control_table_keyed_and_expiring_as_its_spec_says(
    aws: Aws,
) -> None:
    # Given the local stack's resources on the moto server
    # When the control table is described
    table = aws.dynamodb.describe_table(TableName=CONTROL_TABLE.local_name)["Table"]
    ttl = aws.dynamodb.describe_time_to_live(TableName=CONTROL_TABLE.local_name)
    # Then it has the shared spec's partition and sort keys and expires items by expires_at
    assert table["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert ttl["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": "expires_at",
    }


def test_the_functions_find_the_control_table_through_their_settings(aws: Aws) -> None:
    # Given the environment the local stack gives the functions
    environ = dict(os.environ)
    # When the control-table settings are read from it
    settings = ControlTableSettings.from_env(environ)
    # Then they name the table the local stack created
    assert environ[Env.CONTROL_TABLE] == CONTROL_TABLE.local_name
    assert settings.control_table_name == CONTROL_TABLE.local_name
