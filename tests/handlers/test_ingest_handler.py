"""POST /webhook through the real handler, stored in moto's DynamoDB and S3 over HTTP."""

from __future__ import annotations

import copy
import gzip
import io
import json
from typing import Any

import pytest

from events.large_incident import large_incident
from pandabridge.composition.ingest import incident_store
from pandabridge.stores.incidents import archive_key
from tests.handlers.conftest import Aws, Invoke

SAMPLE_ID = "5555370aabc20a001145d6g9"
SAMPLE_VERSION = [1652897578, 1649576282, 1697123964]

Payload = dict[str, Any]


def newer(payload: Payload, seconds: int = 60) -> Payload:
    later = copy.deepcopy(payload)
    later["incident"]["updatedOn"] += seconds
    return later


def test_first_delivery_is_created(invoke: Invoke, api_event: Any, sample: Payload) -> None:
    answer = invoke(api_event(sample))
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "application/json"
    assert answer.body == {"incident_id": SAMPLE_ID, "result": "created", "version": SAMPLE_VERSION}


def test_testconsole_event_with_the_sample_is_created(invoke: Invoke, console_event: Any) -> None:
    assert invoke(copy.deepcopy(console_event)).body["result"] == "created"


def test_same_delivery_again_is_a_duplicate_and_changes_nothing(
    invoke: Invoke, api_event: Any, sample: Payload, aws: Aws
) -> None:
    invoke(api_event(sample))
    before = aws.item(SAMPLE_ID)
    answer = invoke(api_event(sample))
    assert answer.body["result"] == "duplicate"
    assert aws.item(SAMPLE_ID) == before


def test_reformatted_same_content_is_a_duplicate(
    invoke: Invoke, api_event: Any, sample: Payload
) -> None:
    invoke(api_event(sample))
    reformatted = json.dumps(sample, indent=4, sort_keys=True)
    assert invoke(api_event(text=reformatted)).body["result"] == "duplicate"


def test_a_duplicate_with_other_bytes_leaves_the_first_delivery_archived(
    invoke: Invoke, api_event: Any, sample: Payload, aws: Aws
) -> None:
    # Given a delivery stored as sent
    first = json.dumps(sample)
    invoke(api_event(text=first))
    # When the same content arrives again in other bytes
    answer = invoke(api_event(text=json.dumps(sample, indent=4, sort_keys=True)))
    # Then it is a duplicate, and the archive still holds the first delivery's bytes
    assert answer.body["result"] == "duplicate"
    [key] = aws.object_keys()
    assert aws.archived_body(key) == first.encode()


def test_a_duplicated_json_key_is_a_400_naming_the_key_and_stores_nothing(
    invoke: Invoke, api_event: Any, aws: Aws
) -> None:
    # Given a body whose incident carries "status" twice
    body = '{"incident": {"id": "X", "status": "closed", "status": "open"}}'
    # When it is delivered
    answer = invoke(api_event(text=body))
    # Then it is refused, naming the key and where it is, and nothing is stored
    assert answer.status == 400
    assert "'status'" in answer.body["message"]
    assert answer.body["errors"][0]["loc"] == ["incident", "status"]
    assert aws.items() == []
    assert aws.object_keys() == []


def test_newer_version_is_updated(invoke: Invoke, api_event: Any, sample: Payload) -> None:
    invoke(api_event(sample))
    answer = invoke(api_event(newer(sample)))
    assert answer.body["result"] == "updated"
    assert incident_store().get(SAMPLE_ID).summary.version.as_json() == answer.body["version"]


def test_same_version_with_other_content_is_updated(
    invoke: Invoke, api_event: Any, sample: Payload
) -> None:
    invoke(api_event(sample))
    commented = copy.deepcopy(sample)
    commented["metadata"]["comment"] = {"comment": "on it", "environment": "All"}
    assert invoke(api_event(commented)).body["result"] == "updated"
    assert incident_store().get(SAMPLE_ID).payload["metadata"]["comment"]["comment"] == "on it"


def test_older_version_is_stale_and_leaves_the_stored_state(
    invoke: Invoke, api_event: Any, sample: Payload, aws: Aws
) -> None:
    invoke(api_event(newer(sample)))
    before = aws.item(SAMPLE_ID)
    answer = invoke(api_event(sample))
    assert answer.body["result"] == "stale"
    assert answer.body["stored_version"][0] == newer(sample)["incident"]["updatedOn"]
    assert aws.item(SAMPLE_ID) == before


def test_out_of_order_deliveries_end_at_the_newest(
    invoke: Invoke, api_event: Any, sample: Payload
) -> None:
    v1, v2, v3 = sample, newer(sample, 10), newer(sample, 20)
    results = [invoke(api_event(p)).body["result"] for p in (v3, v1, v2)]
    assert results == ["created", "stale", "stale"]
    assert incident_store().get(SAMPLE_ID).summary.version.updated_on == v3["incident"]["updatedOn"]


def test_base64_encoded_body_is_stored(invoke: Invoke, api_event: Any, sample: Payload) -> None:
    assert invoke(api_event(sample, base64_encoded=True)).body["result"] == "created"


def test_summary_attributes_are_stored(invoke: Invoke, api_event: Any, sample: Payload) -> None:
    invoke(api_event(sample))
    summary = incident_store().get(SAMPLE_ID).summary
    assert (summary.status, summary.severity, summary.active, summary.flapping) == (
        "critical",
        "critical",
        True,
        False,
    )
    assert summary.alert_count == 2
    assert summary.environment_id == "55550bc8c481fd1100abc398"
    assert summary.started_on == 1649576282
    assert summary.payload_bytes == len(json.dumps(sample).encode())


def test_small_payload_is_inline_and_archived_byte_for_byte(
    invoke: Invoke, api_event: Any, sample_text: str, aws: Aws
) -> None:
    answer = invoke(api_event(text=sample_text))
    stored = incident_store().get(SAMPLE_ID)
    assert stored.payload_inline
    assert aws.object_keys() == [stored.archive_key]
    assert stored.archive_key == archive_key(SAMPLE_ID, stored.summary.content_hash)
    assert aws.archived_body(stored.archive_key) == sample_text.encode()
    assert answer.body["result"] == "created"


def test_five_thousand_alert_incident_round_trips_through_s3(
    invoke: Invoke, api_event: Any, aws: Aws
) -> None:
    # Given an incident far over DynamoDB's 400 KB item limit
    payload = large_incident(5000)
    body = json.dumps(payload)
    assert len(body) > 2_000_000
    # When it is delivered
    answer = invoke(api_event(text=body))
    # Then it is stored, the item keeps only the archive key, and it reads back equal
    assert answer.body["result"] == "created"
    stored = incident_store().get(payload["incident"]["id"])
    assert not stored.payload_inline
    assert "payload" not in aws.item(payload["incident"]["id"])
    assert stored.payload == payload
    assert stored.summary.alert_count == 5000


def test_floats_survive_storage_unchanged(invoke: Invoke, api_event: Any, sample: Payload) -> None:
    sample["incident"]["updatedOn"] = 1652897578.125
    sample["relatedChanges"][0]["score"] = 0.1 + 0.2
    invoke(api_event(sample))
    stored = incident_store().get(SAMPLE_ID)
    assert stored.payload["relatedChanges"][0]["score"] == 0.1 + 0.2
    assert stored.summary.updated_on == 1652897578.125
    assert stored.summary.version.updated_on == 1652897578.125


@pytest.mark.parametrize(
    "variant",
    [
        {"incident": {"id": "only-an-id"}},
        {
            "incident": {
                "id": "v2-snooze",
                "snooze": {"snoozed": True, "end_time": 1, "cancel_on_incident_updates": True},
            }
        },
        {
            "incident": {"id": "nulls", "alerts": None, "snooze": None, "updatedOn": None},
            "links": None,
        },
        {"incident": {"id": "upper", "status": "WARNING", "severity": "Unknown"}},
        {"incident": {"id": "string-times", "updatedOn": "1652897578", "changedOn": 1.5}},
        {"incident": {"id": "tag-lists"}, "incidentTags": [{"id": "svc", "value": ["a", "b"]}]},
        {"incident": {"id": "link-string"}, "links": "https://bigp.io/x"},
        {"incident": {"id": "unicode-\u00e9\u6f22"}, "metadata": {"comment": "tr\u00e8s bien"}},
        {"incident": {"id": "extra", "newField": {"deep": [1, {"x": None}]}}, "future": True},
    ],
    ids=lambda v: v["incident"]["id"],
)
def test_payload_variants_are_stored(invoke: Invoke, api_event: Any, variant: Payload) -> None:
    answer = invoke(api_event(variant))
    assert (answer.status, answer.body["result"]) == (200, "created")
    assert incident_store().get(variant["incident"]["id"]).payload == variant


BAD_INPUTS: dict[str, dict[str, Any]] = {
    "missing-body": {"text": None},
    "empty-body": {"text": ""},
    "not-json": {"text": "{incident: 1}"},
    "nan": {"text": '{"incident": {"id": "x", "score": NaN}}'},
    "too-deep": {"text": "[" * 50_000 + "]" * 50_000},
    "not-an-object": {"text": '["incident"]'},
    "no-incident": {"payload": {"links": {}}},
    "empty-id": {"payload": {"incident": {"id": ""}}},
    "numeric-id": {"payload": {"incident": {"id": 5}}},
    "alerts-not-a-list": {"payload": {"incident": {"id": "x", "alerts": "many"}}},
    "bad-timestamp": {"payload": {"incident": {"id": "x", "updatedOn": "soon"}}},
    "bad-base64": {"text": "%%%", "base64_encoded": False, "force_base64_flag": True},
    "invalid-utf8": {"raw": b'{"incident": {"id": "\xc3\x28"}}', "base64_encoded": True},
}


@pytest.mark.parametrize("case", BAD_INPUTS.values(), ids=BAD_INPUTS.keys())
def test_bad_input_gets_a_4xx_json_error_and_stores_nothing(
    invoke: Invoke, api_event: Any, aws: Aws, case: dict[str, Any]
) -> None:
    options = dict(case)
    force_flag = options.pop("force_base64_flag", False)
    event = api_event(**options)
    if force_flag:
        event["isBase64Encoded"] = True
    answer = invoke(event)
    assert 400 <= answer.status < 500
    assert answer.body["message"]
    assert all({"loc", "msg"} <= set(e) for e in answer.body["errors"])
    assert answer.body["errors"]
    assert aws.items() == []
    assert aws.object_keys() == []


@pytest.mark.parametrize(
    ("char", "name"),
    [
        ("\u2028", "U+2028 LINE SEPARATOR"),
        ("\x85", "U+0085 NEXT LINE"),
        ("\u202e", "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("\x1b", "U+001B ESCAPE"),
    ],
    ids=["line-separator", "next-line", "bidi-override", "escape"],
)
def test_an_id_that_would_show_other_than_it_reads_is_a_422_and_stores_nothing(
    invoke: Invoke, api_event: Any, aws: Aws, sample: Payload, char: str, name: str
) -> None:
    # Given the sample whose incident id holds a character that would break or reorder a
    # log line or a terminal line
    sample["incident"]["id"] = f"INC-{char}7"
    # When it is delivered
    answer = invoke(api_event(payload=sample))
    # Then it is refused with a 422 that names the character and where it is, and nothing
    # is stored or archived
    assert answer.status == 422
    assert answer.body["errors"] == [
        {"loc": ["incident", "id"], "msg": f"must not contain {name} (at position 4)"}
    ]
    assert aws.items() == []
    assert aws.object_keys() == []


def test_unknown_route_is_404_and_stores_nothing(
    invoke: Invoke, api_event: Any, sample: Payload, aws: Aws
) -> None:
    event = api_event(sample)
    event["resource"] = event["path"] = "/other"
    assert invoke(event).status == 404
    assert aws.items() == []


def test_storage_failure_answers_500_and_leaves_no_item(
    invoke: Invoke, api_event: Any, sample: Payload, aws: Aws
) -> None:
    # Given the payload bucket is gone
    from local.names import PAYLOAD_BUCKET

    aws.s3.delete_bucket(Bucket=PAYLOAD_BUCKET.local_name)
    # When a valid delivery arrives
    answer = invoke(api_event(sample))
    # Then the sender is told it was not stored, and no item points at a missing archive
    assert answer.status == 500
    assert "not stored" in answer.body["message"]
    assert aws.items() == []


def test_header_values_are_never_logged(
    invoke: Invoke, api_event: Any, sample: Payload, ingest_logs: io.StringIO
) -> None:
    event = api_event(sample)
    event["headers"]["Authorization"] = "Bearer very-secret-token"
    invoke(event)
    logs = ingest_logs.getvalue()
    assert "webhook stored" in logs
    assert "very-secret-token" not in logs
    assert "test-invoke-api-key" not in logs


def test_log_lines_carry_the_incident_id_as_correlation_id(
    invoke: Invoke, api_event: Any, sample: Payload, ingest_logs: io.StringIO
) -> None:
    invoke(api_event(sample))
    records = [json.loads(line) for line in ingest_logs.getvalue().splitlines()]
    stored = next(r for r in records if r["message"] == "webhook stored")
    assert stored["correlation_id"] == SAMPLE_ID


def test_archived_body_is_gzip(invoke: Invoke, api_event: Any, sample_text: str, aws: Aws) -> None:
    invoke(api_event(text=sample_text))
    [key] = aws.object_keys()
    raw = aws.s3.get_object(Bucket="bigpanda-payloads", Key=key)["Body"].read()
    assert gzip.decompress(raw) == sample_text.encode()
