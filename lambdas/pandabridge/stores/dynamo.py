"""DynamoDB attribute values to and from Python, shared by the stores."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_attributes(values: dict[str, Any]) -> dict[str, Any]:
    """boto3 refuses Python floats; epoch timestamps may be floats, so they go as Decimal."""
    return {name: to_attribute(value) for name, value in values.items()}


def to_attribute(value: Any) -> dict[str, Any]:
    return _serializer.serialize(_decimals(value))


def from_attributes(item: dict[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def _decimals(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, list):
        return [_decimals(v) for v in value]
    return value
