"""Versions order deliveries of one incident; content hashes tell identical ones apart."""

from __future__ import annotations

import itertools
import json
import math
from typing import Any

import pytest

from pandabridge.models import WebhookPayload
from pandabridge.versioning import Version, canonical_json, content_hash

VERSIONS = [
    Version(None, None, None),
    Version(None, None, 5),
    Version(None, 0, None),
    Version(0, None, None),
    Version(1, 2, 3),
    Version(1, 2, 3.5),
    Version(1, 2, 4),
    Version(1, 3, 0),
    Version(2, 0, 0),
    Version(1652897578, 1649576282, 1697123964),
    Version(1652897578.001, 0, 0),
    Version(10**15 - 1, 10**15 - 1, 10**15 - 1),
]


def test_version_is_updated_on_then_changed_on_then_newest_event_time(
    sample: dict[str, Any],
) -> None:
    version = Version.of(WebhookPayload.model_validate(sample))
    assert version == Version(1652897578, 1649576282, 1697123964)


def test_missing_event_types_leave_the_third_part_empty(sample: dict[str, Any]) -> None:
    del sample["event_types"]
    assert Version.of(WebhookPayload.model_validate(sample)).event_time is None


@pytest.mark.parametrize(("older", "newer"), list(itertools.combinations(VERSIONS, 2)))
def test_version_key_sorts_exactly_as_the_version_tuple(older: Version, newer: Version) -> None:
    # Given two versions in ascending order (a missing part sorts below any present one)
    # Then their string keys, used in the DynamoDB condition, compare the same way
    assert older.key < newer.key


def test_equal_versions_have_equal_keys() -> None:
    assert Version(1, 2.0, None).key == Version(1, 2, None).key


def test_hash_ignores_key_order_and_white_space() -> None:
    a = json.loads('{"incident": {"id": "x", "status": "ok"}, "links": {}}')
    b = json.loads('{ "links" : {},\n "incident": {"status": "ok", "id": "x"} }')
    assert content_hash(canonical_json(a)) == content_hash(canonical_json(b))


def test_hash_changes_with_any_value() -> None:
    a = {"incident": {"id": "x", "comments": ["a"]}}
    b = {"incident": {"id": "x", "comments": ["b"]}}
    assert content_hash(canonical_json(a)) != content_hash(canonical_json(b))


def test_canonical_json_refuses_an_unpaired_surrogate() -> None:
    with pytest.raises(UnicodeEncodeError):
        canonical_json({"text": "\ud800"})


@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan], ids=repr)
def test_canonical_json_refuses_what_json_cannot_write(value: float) -> None:
    with pytest.raises(ValueError, match="not JSON compliant"):
        canonical_json({"x": [value]})
