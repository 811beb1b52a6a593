"""The storage bench sizes items as DynamoDB bills them, and the cost model uses its sizes."""

from __future__ import annotations

from typing import Any

from bench.storage_cost import item_size


def test_item_size_follows_dynamodb_rules() -> None:
    # Given an item with a string, a four-digit number and five bytes
    item: dict[str, Any] = {"id": {"S": "abc"}, "n": {"N": "1234"}, "b": {"B": b"12345"}}
    # When it is sized / Then each attribute is its name plus its value (a number: 1 + 2 per
    # two digits)
    assert item_size(item) == (2 + 3) + (1 + 3) + (1 + 5)
