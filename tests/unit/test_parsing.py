"""Every kind of bad input gets a 4xx that names what is wrong and where."""

from __future__ import annotations

import base64
import contextlib
import gc
import json
from http import HTTPStatus
from typing import Any

import pytest

from pandabridge.names import Limits
from pandabridge.parsing import InvalidWebhookError, parse_webhook

BAD_BODIES: list[tuple[str, str | None, HTTPStatus, list[Any], str]] = [
    ("missing", None, HTTPStatus.BAD_REQUEST, ["body"], "empty"),
    ("empty", "", HTTPStatus.BAD_REQUEST, ["body"], "empty"),
    ("blank", " \n\t ", HTTPStatus.BAD_REQUEST, ["body"], "empty"),
    ("not-json", "incident=1", HTTPStatus.BAD_REQUEST, ["body"], "not valid JSON"),
    ("truncated", '{"incident": {"id": "a"', HTTPStatus.BAD_REQUEST, ["body"], "line 1"),
    ("nan", '{"incident": {"id": "a", "score": NaN}}', HTTPStatus.BAD_REQUEST, ["body"], "NaN"),
    (
        "infinity",
        '{"incident": {"id": "a", "x": -Infinity}}',
        HTTPStatus.BAD_REQUEST,
        ["body"],
        "Infinity",
    ),
    (
        "float-overflow",
        '{"incident": {"id": "a", "x": 1e400}}',
        HTTPStatus.BAD_REQUEST,
        ["body"],
        "out of range",
    ),
    (
        "huge-integer",
        '{"incident": {"id": "a", "x": ' + "9" * 5000 + "}}",
        HTTPStatus.BAD_REQUEST,
        ["body"],
        "not valid JSON",
    ),
    (
        "deep-array",
        "[" * 100_000 + "]" * 100_000,
        HTTPStatus.BAD_REQUEST,
        ["body"],
        "nested deeper",
    ),
    (
        "deep-object",
        '{"a":' * 5000 + "1" + "}" * 5000,
        HTTPStatus.BAD_REQUEST,
        ["body"],
        "nested deeper",
    ),
    ("array", "[1, 2]", HTTPStatus.UNPROCESSABLE_ENTITY, ["body"], "an array"),
    ("string", '"incident"', HTTPStatus.UNPROCESSABLE_ENTITY, ["body"], "a string"),
    ("number", "42", HTTPStatus.UNPROCESSABLE_ENTITY, ["body"], "a number"),
    ("null", "null", HTTPStatus.UNPROCESSABLE_ENTITY, ["body"], "null"),
    ("no-incident", '{"links": {}}', HTTPStatus.UNPROCESSABLE_ENTITY, ["incident"], "required"),
    (
        "incident-null",
        '{"incident": null}',
        HTTPStatus.UNPROCESSABLE_ENTITY,
        ["incident"],
        "valid dictionary",
    ),
    (
        "no-id",
        '{"incident": {"status": "ok"}}',
        HTTPStatus.UNPROCESSABLE_ENTITY,
        ["incident", "id"],
        "required",
    ),
    (
        "empty-id",
        '{"incident": {"id": ""}}',
        HTTPStatus.UNPROCESSABLE_ENTITY,
        ["incident", "id"],
        "at least 1",
    ),
    (
        "numeric-id",
        '{"incident": {"id": 7}}',
        HTTPStatus.UNPROCESSABLE_ENTITY,
        ["incident", "id"],
        "valid string",
    ),
    (
        "alerts-object",
        '{"incident": {"id": "a", "alerts": {}}}',
        HTTPStatus.UNPROCESSABLE_ENTITY,
        ["incident", "alerts"],
        "valid list",
    ),
    (
        "tags-string",
        '{"incident": {"id": "a", "alerts": [{"tags": "x"}]}}',
        HTTPStatus.UNPROCESSABLE_ENTITY,
        ["incident", "alerts", 0, "tags"],
        "valid list",
    ),
    (
        "duplicate-key",
        '{"incident": {"id": "X", "status": "closed", "status": "open"}}',
        HTTPStatus.BAD_REQUEST,
        ["incident", "status"],
        "duplicate key 'status' in incident",
    ),
    (
        "duplicate-key-escaped",
        '{"incident": {"id": "X", "\\u0069d": "Y"}}',
        HTTPStatus.BAD_REQUEST,
        ["incident", "id"],
        "duplicate key 'id' in incident",
    ),
    (
        "duplicate-key-at-the-top",
        '{"incident": {"id": "X"}, "incident": {"id": "Y"}}',
        HTTPStatus.BAD_REQUEST,
        ["incident"],
        "duplicate key 'incident' in body",
    ),
    (
        "duplicate-key-in-a-list",
        '{"incident": {"id": "X", "alerts": [{}, {"a": 1, "a": 1}]}}',
        HTTPStatus.BAD_REQUEST,
        ["incident", "alerts", 1, "a"],
        "duplicate key 'a' in incident.alerts[1]",
    ),
    (
        # A key given twice is refused before the lone surrogate is found
        "duplicate-key-beside-a-lone-surrogate",
        '{"incident": {"id": "X", "note": "\\ud800", "status": "a", "status": "b"}}',
        HTTPStatus.BAD_REQUEST,
        ["incident", "status"],
        "duplicate key 'status'",
    ),
    (
        "lone-surrogate",
        '{"incident": {"id": "a", "note": "\\ud800"}}',
        HTTPStatus.BAD_REQUEST,
        ["body"],
        "surrogate",
    ),
]


@pytest.mark.parametrize(
    ("body", "status", "loc", "msg"),
    [case[1:] for case in BAD_BODIES],
    ids=[case[0] for case in BAD_BODIES],
)
def test_bad_body_is_rejected_with_status_and_location(
    body: str | None, status: HTTPStatus, loc: list[Any], msg: str
) -> None:
    with pytest.raises(InvalidWebhookError) as raised:
        parse_webhook(body)
    error = raised.value.as_json()
    assert raised.value.status == status
    assert error["errors"][0]["loc"] == loc
    assert msg in error["errors"][0]["msg"]
    assert msg in error["message"]


def test_error_body_has_message_and_errors_only() -> None:
    with pytest.raises(InvalidWebhookError) as raised:
        parse_webhook('{"incident": {}}')
    assert raised.value.as_json() == {
        "message": "invalid webhook payload: incident.id: is required",
        "errors": [{"loc": ["incident", "id"], "msg": "is required"}],
    }


def test_many_errors_are_capped_and_counted() -> None:
    alerts = [{"tags": "bad"} for _ in range(50)]
    with pytest.raises(InvalidWebhookError) as raised:
        parse_webhook(json.dumps({"incident": {"id": "a", "alerts": alerts}}))
    assert len(raised.value.errors) == 20
    assert "(and 49 more)" in raised.value.message


def test_error_messages_do_not_echo_the_input() -> None:
    secret = "s3cr3t-value-" * 10
    with pytest.raises(InvalidWebhookError) as raised:
        parse_webhook(json.dumps({"incident": {"id": "a", "updatedOn": secret}}))
    assert secret not in json.dumps(raised.value.as_json())


def test_nesting_up_to_the_limit_is_accepted() -> None:
    depth = Limits.MAX_NESTING_DEPTH - 2  # the body object and the incident object
    deep = "[" * depth + "]" * depth
    assert parse_webhook(f'{{"incident": {{"id": "a", "deep": {deep}}}}}').incident_id == "a"


def test_nesting_one_over_the_limit_is_rejected() -> None:
    depth = Limits.MAX_NESTING_DEPTH - 1
    deep = "[" * depth + "]" * depth
    with pytest.raises(InvalidWebhookError, match="nested deeper"):
        parse_webhook(f'{{"incident": {{"id": "a", "deep": {deep}}}}}')


def test_base64_body_is_decoded(sample_text: str) -> None:
    parsed = parse_webhook(base64.b64encode(sample_text.encode()).decode(), is_base64_encoded=True)
    assert parsed.raw == sample_text.encode()


def test_base64_flag_with_invalid_base64_is_rejected() -> None:
    with pytest.raises(InvalidWebhookError, match="not valid base64") as raised:
        parse_webhook("{not base64}", is_base64_encoded=True)
    assert raised.value.status == HTTPStatus.BAD_REQUEST


def test_base64_body_that_is_not_utf8_is_rejected() -> None:
    body = base64.b64encode(b'{"incident": {"id": "\xff\xfe"}}').decode()
    with pytest.raises(InvalidWebhookError, match="not valid UTF-8"):
        parse_webhook(body, is_base64_encoded=True)


def test_raw_bytes_are_kept_exactly_for_the_archive() -> None:
    body = '{"incident":  {"id": "a", "note": "caf\u00e9"}, "x": 1.10}'
    assert parse_webhook(body).raw == body.encode("utf-8")


def test_a_leading_byte_order_mark_is_ignored() -> None:
    assert parse_webhook('\ufeff{"incident": {"id": "bom"}}').incident_id == "bom"


def test_non_ascii_text_is_accepted() -> None:
    parsed = parse_webhook('{"incident": {"id": "inc-\u00e9\u6f22", "status": "Cr\u00edtico"}}')
    assert parsed.payload.incident.status == "cr\u00edtico"


@pytest.mark.parametrize(
    "text",
    ["[" * 100, "]" * 100 + "{" * 100, '\\"' + "[" * 100, "\\\\" + "{" * 100 + '\\"'],
    ids=["openers", "closers-and-braces", "after-escaped-quote", "after-escaped-backslash"],
)
def test_brackets_inside_strings_do_not_count_as_nesting(text: str) -> None:
    body = json.dumps({"incident": {"id": "a", "note": text, "deep": [[[{"x": [text]}]]]}})
    assert parse_webhook(body).payload.incident.model_extra["note"] == text


def test_nesting_limit_holds_for_objects_beside_escaped_strings() -> None:
    depth = Limits.MAX_NESTING_DEPTH  # one more than allowed, with the body object
    deep = '{"k\\"[":' * depth + '"\\\\"' + "}" * depth
    with pytest.raises(InvalidWebhookError, match="nested deeper"):
        parse_webhook(f'{{"incident": {{"id": "a"}}, "deep": {deep}}}')
    shallower = '{"k\\"[":' * (depth - 1) + '"\\\\"' + "}" * (depth - 1)
    assert parse_webhook(f'{{"incident": {{"id": "a"}}, "deep": {shallower}}}').incident_id == "a"


def test_a_byte_order_mark_does_not_change_the_content_hash() -> None:
    body = '{"incident": {"id": "bom", "x": 1.5}}'
    assert parse_webhook("\ufeff" + body).content_hash == parse_webhook(body).content_hash


@pytest.mark.parametrize(
    ("value", "msg"),
    [("1e400", "out of range"), ("9" * 4301, "not valid JSON")],
    ids=["float-overflow", "integer-of-4301-digits"],
)
def test_a_number_out_of_range_is_a_400_even_beside_a_shape_error(value: str, msg: str) -> None:
    with pytest.raises(InvalidWebhookError, match=msg) as raised:
        parse_webhook(f'{{"incident": {{"id": 7, "x": {value}}}}}')
    assert raised.value.status == HTTPStatus.BAD_REQUEST


def test_a_lone_surrogate_beside_a_shape_error_is_a_422() -> None:
    with pytest.raises(InvalidWebhookError) as raised:
        parse_webhook('{"incident": {"id": 7, "note": "\\ud800"}}')
    assert raised.value.status == HTTPStatus.UNPROCESSABLE_ENTITY


@pytest.mark.parametrize("body", ['{"incident": {"id": "a"}}', '{"incident": {}}', "[1"])
def test_parsing_leaves_the_garbage_collector_as_it_found_it(body: str) -> None:
    assert gc.isenabled()
    with contextlib.suppress(InvalidWebhookError):
        parse_webhook(body)
    assert gc.isenabled()
    gc.disable()
    try:
        with contextlib.suppress(InvalidWebhookError):
            parse_webhook(body)
        assert not gc.isenabled()
    finally:
        gc.enable()


@pytest.mark.parametrize("beside", ["", ', "note": "\\ud800"'], ids=["alone", "beside-surrogate"])
def test_an_id_with_a_line_separator_is_a_422_naming_it(beside: str) -> None:
    # Given a body whose id holds U+2028, alone and beside a lone surrogate escape (which
    # would be a 400 on its own)
    body = '{"incident": {"id": "INC-\u2028"' + beside + "}}"
    # When it is parsed
    with pytest.raises(InvalidWebhookError) as raised:
        parse_webhook(body)
    # Then the shape error wins: a 422 on incident.id that names the character
    assert raised.value.status == HTTPStatus.UNPROCESSABLE_ENTITY
    assert raised.value.message == (
        "invalid webhook payload: incident.id: must not contain U+2028 LINE SEPARATOR "
        "(at position 4)"
    )
