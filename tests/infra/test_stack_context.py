"""Settings come from the CDK context: documented defaults, honoured overrides, named errors."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_logs as logs
from synth_support import OVERRIDES, Synthesized

from stacks.application import build_app, cdk_json_context
from stacks.config import (
    MOVED_TO_DESK_CONFIG,
    RETENTION_DAYS,
    ConfigurationError,
    StackSettings,
)


def _settings(context: dict[str, Any]) -> StackSettings:
    return StackSettings.from_context(App(context=context).node)


def test_cdk_json_holds_only_overrides_of_the_defaults() -> None:
    # Given cdk.json's context block
    context = cdk_json_context()
    # When its settings are compared with the defaults of the settings model
    defaults = StackSettings.defaults()
    repeated = {key: value for key, value in context.items() if defaults.get(key, ...) == value}
    # Then none repeats its default: the model is the one place a default is written
    assert repeated == {}


def test_cdk_json_names_only_settings_and_cdk_feature_flags() -> None:
    # Given cdk.json's context block / When its keys are read
    keys = set(cdk_json_context())
    # Then each is a setting of the model or a CDK feature flag, so a misspelt key is caught
    unknown = {key for key in keys if not key.startswith("@")} - set(StackSettings.context_keys())
    assert unknown == set()


def test_every_setting_explains_itself() -> None:
    # Given the settings model / When each field's description is read
    undocumented = [
        key for key, field in StackSettings.model_fields.items() if not field.description
    ]
    # Then none is missing (they are what the README documents)
    assert undocumented == []


def test_overrides_cover_every_setting() -> None:
    # Given the override fixture / Then it changes every setting, so no override goes untested
    assert set(OVERRIDES) == set(StackSettings.context_keys())
    assert all(OVERRIDES[key] != value for key, value in StackSettings.defaults().items())


def test_context_overrides_reach_the_settings(overridden: Synthesized) -> None:
    # Given an app built with every setting overridden / When its settings are read
    # Then each is the overriding value
    assert overridden.settings.model_dump() == OVERRIDES


def test_overridden_throttle_reaches_stage_and_usage_plan(overridden: Synthesized) -> None:
    # Given a different throttle in the context / When stage and usage plan are read
    stage = overridden.properties("AWS::ApiGateway::Stage")
    plan = overridden.properties("AWS::ApiGateway::UsagePlan")
    # Then both enforce it
    assert stage["StageName"] == OVERRIDES["stage_name"]
    assert stage["MethodSettings"][0]["ThrottlingRateLimit"] == OVERRIDES["throttle_rate_limit"]
    assert stage["MethodSettings"][0]["ThrottlingBurstLimit"] == OVERRIDES["throttle_burst_limit"]
    assert plan["Throttle"] == {
        "RateLimit": OVERRIDES["throttle_rate_limit"],
        "BurstLimit": OVERRIDES["throttle_burst_limit"],
    }


def test_a_daily_quota_is_added_to_the_usage_plan_when_set(overridden: Synthesized) -> None:
    # Given a daily quota in the context / When the usage plan is read
    plan = overridden.properties("AWS::ApiGateway::UsagePlan")
    # Then it caps requests per day
    assert plan["Quota"] == {"Limit": OVERRIDES["quota_limit_per_day"], "Period": "DAY"}


def test_overridden_function_settings_reach_the_function(overridden: Synthesized) -> None:
    # Given different function settings in the context / When the function is read
    function = overridden.ingest_function
    variables = function["Environment"]["Variables"]
    # Then it gets them
    assert function["MemorySize"] == OVERRIDES["lambda_memory_mb"]
    assert function["Timeout"] == OVERRIDES["ingest_timeout_seconds"]
    assert variables["POWERTOOLS_LOG_LEVEL"] == OVERRIDES["log_level"]
    assert variables["INLINE_PAYLOAD_MAX_BYTES"] == str(OVERRIDES["inline_payload_max_bytes"])


def test_overridden_retention_reaches_every_log_group(overridden: Synthesized) -> None:
    # Given a different log retention / When every log group is read
    retentions = {
        group["Properties"]["RetentionInDays"]
        for group in overridden.resources("AWS::Logs::LogGroup").values()
    }
    # Then all of them keep entries that long
    assert retentions == {OVERRIDES["log_retention_days"]}


def test_destroy_removal_policy_deletes_data_with_the_stack(overridden: Synthesized) -> None:
    # Given removal_policy=destroy and no deletion protection
    tables = overridden.resources("AWS::DynamoDB::Table").values()
    buckets = overridden.resources("AWS::S3::Bucket").values()
    # When the stack's data resources are read
    # Then they are deleted with the stack, buckets emptied first by CDK's custom resource
    assert len(tables) == 3
    assert {table["Properties"]["DeletionProtectionEnabled"] for table in tables} == {False}
    assert {table["DeletionPolicy"] for table in tables} == {"Delete"}
    assert {bucket["DeletionPolicy"] for bucket in buckets} == {"Delete"}
    assert len(overridden.resources("Custom::S3AutoDeleteObjects")) == len(buckets)


def test_overridden_archive_expiry_reaches_the_lifecycle_rule(overridden: Synthesized) -> None:
    # Given a different archive expiry / When the payload bucket's rules are read
    bucket_id = overridden.logical_id(overridden.stack.storage.payload_bucket)
    rules = overridden.resources("AWS::S3::Bucket")[bucket_id]["Properties"][
        "LifecycleConfiguration"
    ]["Rules"]
    # Then archived payloads expire after that many days
    assert [r["ExpirationInDays"] for r in rules if "ExpirationInDays" in r] == [
        OVERRIDES["payload_archive_expiry_days"]
    ]


def test_stack_name_comes_from_the_context(overridden: Synthesized) -> None:
    # Given a different stack name / Then the CloudFormation stack is named after it
    assert overridden.stack.stack_name == OVERRIDES["stack_name"]


def test_command_line_strings_are_coerced() -> None:
    # Given values as `cdk deploy -c key=value` passes them: always strings
    context = {
        "throttle_rate_limit": "20",
        "table_deletion_protection": "false",
        "quota_limit_per_day": "",
        "log_level": "debug",
        "removal_policy": "DESTROY",
    }
    # When the settings are read
    settings = _settings(context)
    # Then they have their proper types and spellings
    assert settings.throttle_rate_limit == 20
    assert settings.table_deletion_protection is False
    assert settings.quota_limit_per_day is None
    assert settings.log_level == "DEBUG"
    assert settings.removal_policy == "destroy"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("throttle_rate_limit", -1),
        ("throttle_burst_limit", "lots"),
        ("quota_limit_per_day", 0),
        ("ingest_timeout_seconds", 29),
        ("lambda_memory_mb", 64),
        ("log_retention_days", 31),
        ("log_level", "LOUD"),
        ("removal_policy", "keep"),
        ("table_deletion_protection", "maybe"),
        ("inline_payload_max_bytes", 10_000_000),
        ("stage_name", "v 1"),
        ("stack_name", "1-starts-with-a-digit"),
        ("ticket_sync_memory_mb", 64),
        ("ticket_sync_max_receive_count", 0),
        ("callback_max_receive_count", 1001),
        ("ticket_sync_max_concurrency", 1),
        ("config_file", ""),
        ("callback_memory_mb", 64),
        ("callback_max_concurrency", 1),
        ("callback_max_concurrency", 1001),
        ("callback_max_concurrency", ""),
        ("bigpanda_api_base", "api.bigpanda.io"),
        ("bigpanda_api_base", "http://api.bigpanda.io"),
        ("bigpanda_app_key", "two words"),
        ("bigpanda_timeout_seconds", 0),
        ("bigpanda_timeout_seconds", 21),
        ("bearer_auth_enabled", "maybe"),
        ("authorizer_cache_seconds", -1),
        ("authorizer_cache_seconds", 3601),
        ("authorizer_reserved_concurrency", 0),
        ("authorizer_reserved_concurrency", 1001),
        ("waf_enabled", "perhaps"),
        ("waf_rate_limit_per_5min", 9),
        ("allowed_source_ips", ["10.0.0.1/8"]),
        ("allowed_source_ips", "203.0.113.0/24,not-an-address"),
        ("allowed_source_ips", [42]),
    ],
)
def test_a_bad_context_value_fails_naming_the_key(key: str, value: object) -> None:
    # Given a context with one bad value
    # When the app is built / Then the build stops with an error that names the key
    with pytest.raises(ConfigurationError, match=rf"context key '{key}'"):
        build_app(context={key: value})


def test_every_retention_choice_renders_its_number_of_days() -> None:
    # Given one log group per supported retention
    stack = Stack(App(), "Retention")
    groups = {
        days: logs.LogGroup(stack, f"Days{days}", retention=retention)
        for days, retention in RETENTION_DAYS.items()
    }
    # When each group's retention is resolved
    rendered = {
        days: stack.resolve(group.node.default_child.retention_in_days)
        for days, group in groups.items()
    }
    # Then it is the number of days the setting names
    assert rendered == {days: days for days in RETENTION_DAYS}


@pytest.mark.parametrize(("key", "new_key"), sorted(MOVED_TO_DESK_CONFIG.items()))
def test_a_ticket_setting_left_in_the_context_names_its_key_in_the_file(
    key: str, new_key: str
) -> None:
    # Given a cdk.json that still sets a ticket setting the desk configuration file now holds
    # When the app is built
    # Then the build stops naming the old context key and the file's key that replaces it
    with pytest.raises(ConfigurationError, match=rf"context key '{key}'.*'{re.escape(new_key)}'"):
        build_app(context={key: "OPS"})


def test_ticket_settings_from_the_command_line_are_coerced() -> None:
    # Given settings as `cdk deploy -c key=value` passes them
    context = {"ticket_sync_max_concurrency": "", "callback_max_receive_count": "5"}
    # When the settings are read
    settings = _settings(context)
    # Then they have their proper types and spellings, and blanks switch options off
    assert settings.ticket_sync_max_concurrency is None
    assert settings.callback_max_receive_count == 5


def test_callback_settings_from_the_command_line_are_coerced() -> None:
    # Given callback settings as `cdk deploy -c key=value` passes them
    context = {
        "callback_memory_mb": "512",
        "callback_max_concurrency": "4",
        "bigpanda_timeout_seconds": "2.5",
        "bigpanda_app_key": "",
    }
    # When the settings are read
    settings = _settings(context)
    # Then they have their proper types, and a blank app key means none
    assert settings.callback_memory_mb == 512
    assert settings.callback_max_concurrency == 4
    assert settings.bigpanda_timeout_seconds == 2.5
    assert settings.bigpanda_app_key is None


def test_the_eu_api_base_is_accepted() -> None:
    # Given an EU BigPanda account's API base / When the settings are read
    settings = _settings({"bigpanda_api_base": "https://eu-api.bigpanda.io"})
    # Then it is kept as given
    assert settings.bigpanda_api_base == "https://eu-api.bigpanda.io"


def test_edge_settings_from_the_command_line_are_coerced() -> None:
    # Given bearer auth and edge settings as `cdk deploy -c key=value` passes them
    context = {
        "bearer_auth_enabled": "false",
        "authorizer_cache_seconds": "0",
        "waf_enabled": "true",
        "waf_rate_limit_per_5min": "100",
        "allowed_source_ips": " 203.0.113.0/24, 198.51.100.7,2001:db8::/32 ",
    }
    # When the settings are read
    settings = _settings(context)
    # Then they have their proper types, and the ranges are a list in CIDR notation
    assert settings.bearer_auth_enabled is False
    assert settings.authorizer_cache_seconds == 0
    assert settings.waf_enabled is True
    assert settings.waf_rate_limit_per_5min == 100
    assert settings.allowed_source_ips == ["203.0.113.0/24", "198.51.100.7/32", "2001:db8::/32"]


def test_no_authorizer_reservation_can_be_asked_for_from_the_command_line() -> None:
    # Given `-c authorizer_reserved_concurrency=none`, for an account with no room to reserve
    # When the settings are read / Then nothing is reserved
    settings = _settings({"authorizer_reserved_concurrency": "none"})
    assert settings.authorizer_reserved_concurrency is None


def test_a_blank_allowlist_from_the_command_line_allows_every_address() -> None:
    # Given `-c allowed_source_ips=` / When the settings are read / Then no range is kept
    assert _settings({"allowed_source_ips": ""}).allowed_source_ips == []
