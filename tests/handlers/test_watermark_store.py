"""The reconciler's items in the control table, on the moto server: watermarks move forward
only, and share verdicts are kept per incident, both under the ``watermark#`` prefix the
function is granted."""

from __future__ import annotations

import boto3
import pytest

from local.names import CONTROL_TABLE
from pandabridge.stores.watermarks import WATERMARK_PREFIX, WatermarkStore
from tests.handlers.conftest import Aws


@pytest.fixture
def store(aws: Aws) -> WatermarkStore:
    return WatermarkStore(CONTROL_TABLE.local_name, boto3.client("dynamodb"))


def test_a_watermark_moves_forward_and_never_back(store: WatermarkStore) -> None:
    # Given a watermark set by a run
    store.advance("default", "prod", 2_000)
    # When a slower, older run finishes after it, and then a newer one
    store.advance("default", "prod", 1_000)
    after_older = store.get("default", "prod")
    store.advance("default", "prod", 3_000)
    # Then the older run did not move it back
    assert after_older == 2_000
    assert store.get("default", "prod") == 3_000


def test_watermarks_are_kept_per_integration_and_environment(store: WatermarkStore) -> None:
    # Given watermarks of two environments of one integration
    store.advance("default", "prod", 10)
    store.advance("default", "stage", 20)
    # When another integration's is read / Then each has its own
    assert store.get("ops", "prod") is None
    assert (store.get("default", "prod"), store.get("default", "stage")) == (10, 20)


def test_a_share_verdict_is_read_back_with_its_change_time(aws: Aws, store: WatermarkStore) -> None:
    # Given an incident found not shared to us at one change
    store.remember_not_shared("default", "inc-1", 1_700_000_000)
    # When it is read back
    # Then the change time is there, under the reconciler's own prefix, with an expiry
    assert store.not_shared_at("default", "inc-1") == 1_700_000_000
    assert store.not_shared_at("default", "inc-2") is None
    [item] = aws.dynamodb.scan(TableName=CONTROL_TABLE.local_name)["Items"]
    assert item["pk"]["S"].startswith(WATERMARK_PREFIX)
    assert "expires_at" in item
