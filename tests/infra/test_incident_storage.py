"""The incidents, tickets and control tables and the payload archive: durable, private,
encrypted, expiring."""

from __future__ import annotations

from typing import Any

import pytest
from synth_support import Synthesized

from pandabridge.names import (
    CONTROL_TABLE,
    INCIDENTS_TABLE,
    PAYLOAD_BUCKET,
    TICKETS_BY_TICKET_ID,
    TICKETS_TABLE,
)


@pytest.fixture(scope="module")
def table(synthesized: Synthesized) -> dict[str, Any]:
    return synthesized.resource(synthesized.stack.storage.table)


@pytest.fixture(scope="module")
def tickets_table(synthesized: Synthesized) -> dict[str, Any]:
    return synthesized.resource(synthesized.stack.storage.tickets_table)


@pytest.fixture(scope="module")
def control_table(synthesized: Synthesized) -> dict[str, Any]:
    return synthesized.resource(synthesized.stack.storage.control_table)


@pytest.fixture(scope="module")
def payload_bucket(synthesized: Synthesized) -> dict[str, Any]:
    bucket_id = synthesized.logical_id(synthesized.stack.storage.payload_bucket)
    return synthesized.resources("AWS::S3::Bucket")[bucket_id]["Properties"]


@pytest.fixture(scope="module")
def bucket_policies(synthesized: Synthesized) -> dict[str, list[dict[str, Any]]]:
    """Each bucket's logical id and the statements of its bucket policy."""
    return {
        policy["Properties"]["Bucket"]["Ref"]: policy["Properties"]["PolicyDocument"]["Statement"]
        for policy in synthesized.resources("AWS::S3::BucketPolicy").values()
    }


def test_table_is_keyed_by_incident_id_as_a_string(table: dict[str, Any]) -> None:
    # Given the incidents table / When its key schema is read
    properties = table["Properties"]
    # Then the only key is the shared partition key, typed string
    assert properties["KeySchema"] == [
        {"AttributeName": INCIDENTS_TABLE.partition_key, "KeyType": "HASH"}
    ]
    assert properties["AttributeDefinitions"] == [
        {"AttributeName": INCIDENTS_TABLE.partition_key, "AttributeType": "S"}
    ]


def test_table_streams_the_shared_view_type(table: dict[str, Any]) -> None:
    # Given the incidents table / When its stream is read
    stream = table["Properties"]["StreamSpecification"]
    # Then ticket sync gets the images the shared spec promises
    assert stream == {"StreamViewType": INCIDENTS_TABLE.stream_view_type}


def test_table_is_on_demand(table: dict[str, Any]) -> None:
    # Given the incidents table / When its billing mode is read
    # Then it scales with BigPanda's bursts without capacity planning
    assert table["Properties"]["BillingMode"] == "PAY_PER_REQUEST"


def test_table_has_point_in_time_recovery(table: dict[str, Any]) -> None:
    # Given the incidents table / When its backup settings are read
    # Then any second of the last 35 days can be restored
    assert table["Properties"]["PointInTimeRecoverySpecification"] == {
        "PointInTimeRecoveryEnabled": True
    }


def test_table_is_protected_against_deletion_by_default(table: dict[str, Any]) -> None:
    # Given the default settings / When the table's protections are read
    # Then neither an API call nor a stack deletion removes the data
    assert table["Properties"]["DeletionProtectionEnabled"] is True
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"


def test_the_stack_has_exactly_the_incidents_tickets_and_control_tables(
    synthesized: Synthesized,
) -> None:
    # Given the synthesized stack / When its tables are listed
    storage = synthesized.stack.storage
    # Then there are the three the storage construct owns, and no other
    assert set(synthesized.resources("AWS::DynamoDB::Table")) == {
        synthesized.logical_id(storage.table),
        synthesized.logical_id(storage.tickets_table),
        synthesized.logical_id(storage.control_table),
    }


def test_control_table_is_keyed_by_pk_and_sk_without_a_stream(
    control_table: dict[str, Any],
) -> None:
    # Given the control table / When its key schema and stream are read
    properties = control_table["Properties"]
    # Then it is keyed by the shared spec's partition and sort keys, both strings, and its
    # coordination writes trigger nothing
    assert properties["KeySchema"] == [
        {"AttributeName": CONTROL_TABLE.partition_key, "KeyType": "HASH"},
        {"AttributeName": CONTROL_TABLE.sort_key, "KeyType": "RANGE"},
    ]
    assert sorted(properties["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
    ]
    assert "StreamSpecification" not in properties


def test_control_table_items_expire_through_the_ttl_attribute(
    control_table: dict[str, Any],
) -> None:
    # Given the control table / When its TTL is read
    # Then DynamoDB deletes items whose expires_at has passed, so no owner sweeps its items
    assert control_table["Properties"]["TimeToLiveSpecification"] == {
        "AttributeName": "expires_at",
        "Enabled": True,
    }


def test_control_table_is_protected_like_the_incidents_table(
    table: dict[str, Any], control_table: dict[str, Any]
) -> None:
    # Given both tables / When their billing, recovery, encryption and protections are read
    # Then the control table is as recoverable and protected as the system of record
    assert _protections(control_table) == _protections(table)


def test_tickets_table_is_keyed_by_incident_id_without_a_stream(
    tickets_table: dict[str, Any],
) -> None:
    # Given the tickets table / When its key schema and stream are read
    properties = tickets_table["Properties"]
    # Then it is keyed like its shared spec, and its writes trigger nothing
    assert TICKETS_TABLE.stream_view_type is None
    assert properties["KeySchema"] == [
        {"AttributeName": TICKETS_TABLE.partition_key, "KeyType": "HASH"}
    ]
    assert properties["AttributeDefinitions"] == [
        {"AttributeName": TICKETS_TABLE.partition_key, "AttributeType": "S"},
        {"AttributeName": TICKETS_BY_TICKET_ID.partition_key, "AttributeType": "S"},
    ]
    assert "StreamSpecification" not in properties


def test_tickets_table_is_protected_like_the_incidents_table(
    table: dict[str, Any], tickets_table: dict[str, Any]
) -> None:
    # Given both tables / When their billing, recovery, encryption and protections are read
    # Then the tickets table, which prevents double tickets, is kept as safely
    assert _protections(tickets_table) == _protections(table)
    assert _protections(tickets_table)["pitr"] == {"PointInTimeRecoveryEnabled": True}
    assert _protections(tickets_table)["billing"] == "PAY_PER_REQUEST"


def test_table_is_encrypted_with_a_kms_key(table: dict[str, Any]) -> None:
    # Given the incidents table / When its encryption is read
    # Then it uses the AWS managed KMS key rather than the default owned key
    assert table["Properties"]["SSESpecification"] == {"SSEEnabled": True}


def test_every_bucket_is_encrypted(synthesized: Synthesized) -> None:
    # Given the synthesized stack / When each bucket's default encryption is read
    encryptions = [
        bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        for bucket in synthesized.resources("AWS::S3::Bucket").values()
    ]
    # Then every object is encrypted at rest with SSE-S3
    assert encryptions
    assert all(
        rules == [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        for rules in encryptions
    )


def test_every_bucket_blocks_all_public_access(synthesized: Synthesized) -> None:
    # Given the synthesized stack / When each bucket's public access block is read
    blocks = [
        bucket["Properties"]["PublicAccessBlockConfiguration"]
        for bucket in synthesized.resources("AWS::S3::Bucket").values()
    ]
    # Then all four switches are on for every bucket
    assert blocks
    assert all(
        block
        == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        for block in blocks
    )


def test_every_bucket_denies_requests_without_tls(
    synthesized: Synthesized, bucket_policies: dict[str, list[dict[str, Any]]]
) -> None:
    # Given every bucket and its policy
    buckets = set(synthesized.resources("AWS::S3::Bucket"))
    # When the statements that deny plain HTTP are collected
    denying = {
        bucket
        for bucket, statements in bucket_policies.items()
        for statement in statements
        if statement["Effect"] == "Deny"
        and statement["Action"] == "s3:*"
        and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    }
    # Then every bucket has one
    assert denying == buckets


def test_archived_payloads_expire_after_the_configured_days(
    synthesized: Synthesized, payload_bucket: dict[str, Any]
) -> None:
    # Given the payload bucket / When its lifecycle rules are read
    rules = payload_bucket["LifecycleConfiguration"]["Rules"]
    # Then objects under the archive prefix expire after the configured number of days
    expiring = [rule for rule in rules if "ExpirationInDays" in rule]
    assert expiring == [
        {
            "Id": "ExpireArchivedPayloads",
            "Prefix": PAYLOAD_BUCKET.key_prefix,
            "ExpirationInDays": synthesized.settings.payload_archive_expiry_days,
            "Status": "Enabled",
        }
    ]


def test_payload_bucket_access_is_logged_to_the_log_bucket(
    synthesized: Synthesized, payload_bucket: dict[str, Any]
) -> None:
    # Given the payload bucket / When its logging configuration is read
    logging = payload_bucket["LoggingConfiguration"]
    log_bucket_id = synthesized.logical_id(synthesized.stack.storage.access_log_bucket)
    # Then every request to it is recorded in the separate access log bucket
    assert logging["DestinationBucketName"] == {"Ref": log_bucket_id}


def _protections(resource: dict[str, Any]) -> dict[str, Any]:
    """A table's billing, recovery, encryption and protections against deletion."""
    properties = resource["Properties"]
    return {
        "billing": properties["BillingMode"],
        "pitr": properties["PointInTimeRecoverySpecification"],
        "sse": properties["SSESpecification"],
        "deletion_protection": properties["DeletionProtectionEnabled"],
        "deletion_policy": resource["DeletionPolicy"],
        "update_replace_policy": resource["UpdateReplacePolicy"],
    }
