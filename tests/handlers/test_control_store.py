"""The control table on a real moto server: created by the local stack as the stack builds it,
and the DynamoDB rate limiter's fixed windows kept in it."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest

from local.names import CONTROL_TABLE
from pandabridge.errors import WaitingError
from pandabridge.names import Env, Limits
from pandabridge.settings import ControlTableSettings
from pandabridge.stores.control import DynamoRateLimiter
from tests.conftest import StoppedClock
from tests.handlers.conftest import Aws

ORG = "api.bigpanda.io:0123456789abcdef"


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


@pytest.fixture
def clock() -> StoppedClock:
    return StoppedClock()


@pytest.fixture
def limiter(aws: Aws, clock: StoppedClock) -> DynamoRateLimiter:
    """The limiter on the local stack's control table, over the moto server."""
    return DynamoRateLimiter(CONTROL_TABLE.local_name, aws.dynamodb, clock=clock)


def _window_items(aws: Aws) -> list[dict[str, Any]]:
    return aws.dynamodb.scan(TableName=CONTROL_TABLE.local_name, ConsistentRead=True)["Items"]


def test_the_dynamodb_limiter_refuses_the_sixth_action_of_a_second(
    limiter: DynamoRateLimiter,
) -> None:
    # Given 5 actions of one org in one second
    for _ in range(Limits.BIGPANDA_ACTIONS_PER_SECOND):
        limiter.acquire(ORG, "action")
    # When a sixth is asked for / Then it waits for the next second
    with pytest.raises(WaitingError) as waiting:
        limiter.acquire(ORG, "action")
    assert waiting.value.retry_after == 1


def test_the_dynamodb_limiter_refuses_the_151st_call_of_a_minute_until_it_ends(
    limiter: DynamoRateLimiter, clock: StoppedClock
) -> None:
    # Given 150 callbacks of one org in one minute
    for _ in range(Limits.BIGPANDA_API_REQUESTS_PER_MINUTE):
        limiter.acquire(ORG, "callback")
    # When one more is asked for / Then it waits the rest of the minute
    with pytest.raises(WaitingError) as waiting:
        limiter.acquire(ORG, "callback")
    assert waiting.value.retry_after == 50
    # And once the next minute has begun, calls go through again
    clock.now += 50
    limiter.acquire(ORG, "callback")


def test_the_dynamodb_limiter_keeps_the_callbacks_reserve_from_other_calls(
    limiter: DynamoRateLimiter,
) -> None:
    # Given a minute whose requests are used up to the callbacks' reserve by other calls
    reserve = Limits.BIGPANDA_CALLBACK_RESERVE_PER_MINUTE
    for _ in range(Limits.BIGPANDA_API_REQUESTS_PER_MINUTE - reserve):
        limiter.acquire(ORG, "api")
    # When another request and the reserve's callbacks are asked for
    with pytest.raises(WaitingError):
        limiter.acquire(ORG, "api")
    # Then the request waits, and every callback of the reserve goes through
    for _ in range(reserve):
        limiter.acquire(ORG, "callback")


def test_window_counters_are_org_items_that_expire_after_their_window(
    aws: Aws, limiter: DynamoRateLimiter
) -> None:
    # Given one action
    limiter.acquire(ORG, "action")
    # When the control table is read past the limiter
    items = {item["sk"]["S"]: item for item in _window_items(aws)}
    # Then the action's second and the minute each hold one count under the org's prefix,
    # and each expires a minute after its window ends
    assert set(items) == {"action#1699999990", "api#1699999980"}
    assert {item["pk"]["S"] for item in items.values()} == {f"ratelimit#{ORG}"}
    assert items["action#1699999990"]["used"] == {"N": "1"}
    assert items["action#1699999990"]["expires_at"] == {"N": str(1_699_999_991 + 60)}
    assert items["api#1699999980"]["expires_at"] == {"N": str(1_700_000_040 + 60)}


def test_concurrent_callers_never_share_more_than_the_limit(aws: Aws, clock: StoppedClock) -> None:
    # Given 20 callers at once, each with its own client, in one second
    def one_call(_: int) -> bool:
        client = boto3.client("dynamodb")
        try:
            DynamoRateLimiter(CONTROL_TABLE.local_name, client, clock=clock).acquire(ORG, "action")
        except WaitingError:
            return False
        return True

    with ThreadPoolExecutor(max_workers=8) as pool:
        granted = list(pool.map(one_call, range(20)))
    # When the grants are counted / Then exactly the second's limit went through
    assert sum(granted) == Limits.BIGPANDA_ACTIONS_PER_SECOND
