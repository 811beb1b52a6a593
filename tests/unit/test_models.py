"""The webhook models accept every shape BigPanda is known to send (see api-facts.md)."""

from __future__ import annotations

from typing import Any, Final

import pytest
from pydantic import ValidationError

from pandabridge.models import WebhookPayload

Payload = dict[str, Any]


def validate(payload: Payload) -> WebhookPayload:
    return WebhookPayload.model_validate(payload)


def test_vendor_sample_is_accepted_with_every_documented_block(sample: Payload) -> None:
    # Given the vendor's sample, When it is validated
    model = validate(sample)
    # Then every documented block is read
    assert model.incident.id == "5555370aabc20a001145d6g9"
    assert len(model.incident.alerts or []) == 2
    assert model.incident.alerts[0].tag("host") == "Evyatar-11"
    assert model.landing_page == "http://bigp.io/9ad55554d5c116e4"
    assert model.incident_tag("itd_priority_1") == 1000
    assert model.relatedChanges[0].change.tags["team"] == "Network"
    assert model.relatedChanges[0].history[0].updated_at == "2023-09-13T22:30:44.808Z"
    assert model.metadata.environment_id == "55550bc8c481fd1100abc398"
    assert [e.event for e in model.event_types] == [
        "incident#new",
        "incident-tag#upserted",
        "incident-tag#upserted",
    ]


@pytest.mark.parametrize("field", ["status", "severity"])
def test_status_case_is_normalised(sample: Payload, field: str) -> None:
    sample["incident"][field] = "  CRITICAL "
    assert getattr(validate(sample).incident, field) == "critical"


def test_unknown_status_is_kept_not_rejected(sample: Payload) -> None:
    sample["incident"]["status"] = "Degraded"
    assert validate(sample).incident.status == "degraded"


def test_alert_status_case_is_normalised(sample: Payload) -> None:
    assert validate(sample).incident.alerts[0].status == "critical"


@pytest.mark.parametrize(
    ("snooze", "wakes_at", "cancels"),
    [
        ({"snoozed": True, "end_time": 1700000000, "autoCancel": True}, 1700000000, True),
        ({"snoozed": True, "wake": 1700000001, "autoCancel": False}, 1700000001, False),
        (
            {"snoozed": True, "end_time": 1700000002, "cancel_on_incident_updates": True},
            1700000002,
            True,
        ),
        ({"snoozed": False, "wake": None, "autoCancel": False}, None, False),
    ],
    ids=["field-table", "sample", "v2-api", "not-snoozed"],
)
def test_every_snooze_shape_is_accepted(
    sample: Payload, snooze: Payload, wakes_at: int | None, cancels: bool
) -> None:
    sample["incident"]["snooze"] = snooze
    model = validate(sample).incident.snooze
    assert model.wakes_at == wakes_at
    assert model.cancels_on_update is cancels


@pytest.mark.parametrize(
    "value", [1000, "P1", ["a", "b"], {"nested": [1, 2.5]}, None, True], ids=repr
)
def test_incident_tag_values_can_be_any_json(sample: Payload, value: Any) -> None:
    sample["incidentTags"] = [{"id": "itd_priority_1", "value": value}]
    assert validate(sample).incident_tag("itd_priority_1") == value


@pytest.mark.parametrize("value", [42, ["x", 1], {"k": "v"}], ids=repr)
def test_alert_tag_values_can_be_any_json(sample: Payload, value: Any) -> None:
    sample["incident"]["alerts"][0]["tags"] = [{"name": "anything", "value": value}]
    assert validate(sample).incident.alerts[0].tag("anything") == value


@pytest.mark.parametrize("field", ["startedOn", "changedOn", "updatedOn", "endedOn"])
def test_timestamps_can_be_null(sample: Payload, field: str) -> None:
    sample["incident"][field] = None
    assert getattr(validate(sample).incident, field) is None


def test_numeric_string_timestamps_are_read_as_numbers(sample: Payload) -> None:
    sample["incident"]["updatedOn"] = "1652897578"
    sample["incident"]["changedOn"] = "1652897578.25"
    incident = validate(sample).incident
    assert (incident.updatedOn, incident.changedOn) == (1652897578, 1652897578.25)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2022-05-18T18:12:58Z", 1652897578),
        ("2022-05-18T18:12:58.500+00:00", 1652897578.5),
        ("2022-05-18T20:12:58+02:00", 1652897578),
        ("2022-05-18T18:12:58", 1652897578),
    ],
)
def test_iso_timestamps_are_read_as_epoch_seconds(
    sample: Payload, text: str, seconds: float
) -> None:
    sample["incident"]["updatedOn"] = text
    assert validate(sample).incident.updatedOn == seconds


def test_unknown_fields_are_kept_at_every_level(sample: Payload) -> None:
    sample["brandNew"] = {"x": 1}
    sample["incident"]["priority"] = "P2"
    sample["incident"]["alerts"][0]["ownerTeam"] = "db"
    model = validate(sample)
    assert model.model_extra["brandNew"] == {"x": 1}
    assert model.incident.model_extra["priority"] == "P2"
    assert model.incident.alerts[0].model_extra["ownerTeam"] == "db"


def test_floats_are_read_exactly(sample: Payload) -> None:
    assert validate(sample).relatedChanges[0].score == 3.194454072790294


def test_resolved_field_from_the_sample_is_read(sample: Payload) -> None:
    sample["incident"]["resolved"] = True
    assert validate(sample).incident.is_resolved


@pytest.mark.parametrize(
    ("change", "resolved"),
    [
        ({}, False),
        ({"active": False}, True),
        ({"status": "OK"}, True),
        ({"resolved": True}, True),
    ],
    ids=["open", "inactive", "status-ok", "resolved-flag"],
)
def test_resolution_is_read_from_any_of_its_three_signals(
    sample: Payload, change: Payload, resolved: bool
) -> None:
    sample["incident"].update(change)
    assert validate(sample).incident.is_resolved is resolved


def test_links_may_be_a_bare_url(sample: Payload) -> None:
    sample["links"] = "https://bigp.io/abc"
    assert validate(sample).landing_page == "https://bigp.io/abc"


def test_send_comments_and_assignments_metadata_are_read(sample: Payload) -> None:
    sample["metadata"]["comment"] = {"comment": "Hello World", "environment": "All"}
    sample["metadata"]["assignee"] = {"email": "a@example.com", "name": "A", "userId": "u1"}
    sample["metadata"]["assigner"] = {"email": "b@example.com", "name": "B", "userId": "u2"}
    metadata = validate(sample).metadata
    assert metadata.comment_text == "Hello World"
    assert metadata.assignee.userId == "u1"
    assert metadata.assigner.name == "B"


def test_a_plain_string_comment_is_read(sample: Payload) -> None:
    sample["metadata"]["comment"] = "looking into it"
    assert validate(sample).metadata.comment_text == "looking into it"


def test_numbers_where_text_is_expected_become_text(sample: Payload) -> None:
    sample["incident"]["alerts"][0]["primaryProperty"] = 443
    assert validate(sample).incident.alerts[0].primaryProperty == "443"


def test_an_incident_with_only_an_id_is_accepted() -> None:
    model = validate({"incident": {"id": "only-id"}})
    assert model.incident.alerts is None
    assert model.metadata is None


@pytest.mark.parametrize(
    ("incident_id", "reason"),
    [
        (None, "string"),
        (12345, "string"),
        ("", "at least 1"),
        ("   ", "blank"),
        ("a\nb", "LINE FEED"),
        ("x" * 257, "at most 256"),
    ],
    ids=["null", "number", "empty", "blank", "control-char", "too-long"],
)
def test_incident_id_must_be_a_usable_non_empty_string(incident_id: Any, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason):
        validate({"incident": {"id": incident_id}})


# Characters that change how an id is shown instead of adding to it, one of each kind, with
# the name the error gives them: C0 and C1 controls, line and paragraph separators, bidi marks,
# embeddings, overrides and isolates.
UNSHOWABLE_IN_IDS: Final = {
    "line-feed": ("\n", "U+000A LINE FEED"),
    "escape": ("\x1b", "U+001B ESCAPE"),
    "delete": ("\x7f", "U+007F DELETE"),
    "next-line": ("\x85", "U+0085 NEXT LINE"),
    "c1-csi": ("\x9b", "U+009B CONTROL CHARACTER"),
    "line-separator": ("\u2028", "U+2028 LINE SEPARATOR"),
    "paragraph-separator": ("\u2029", "U+2029 PARAGRAPH SEPARATOR"),
    "arabic-letter-mark": ("\u061c", "U+061C ARABIC LETTER MARK"),
    "left-to-right-mark": ("\u200e", "U+200E LEFT-TO-RIGHT MARK"),
    "right-to-left-mark": ("\u200f", "U+200F RIGHT-TO-LEFT MARK"),
    "left-to-right-embedding": ("\u202a", "U+202A LEFT-TO-RIGHT EMBEDDING"),
    "right-to-left-override": ("\u202e", "U+202E RIGHT-TO-LEFT OVERRIDE"),
    "left-to-right-isolate": ("\u2066", "U+2066 LEFT-TO-RIGHT ISOLATE"),
    "pop-directional-isolate": ("\u2069", "U+2069 POP DIRECTIONAL ISOLATE"),
}


@pytest.mark.parametrize(("char", "name"), UNSHOWABLE_IN_IDS.values(), ids=UNSHOWABLE_IN_IDS.keys())
def test_an_id_with_a_character_that_changes_how_text_shows_is_refused_naming_it(
    char: str, name: str
) -> None:
    # Given an incident id with the character after its fourth one
    # When the payload is validated
    with pytest.raises(ValidationError) as raised:
        validate({"incident": {"id": f"INC-{char}1"}})
    # Then the error names the character by code point and name, and where it is
    [error] = raised.value.errors()
    assert error["loc"] == ("incident", "id")
    assert error["msg"].endswith(f"must not contain {name} (at position 4)")


@pytest.mark.parametrize(
    "incident_id",
    ["事件-1", "INC 42", "ärger\u00a0ticket", "🚨-7", "a\u200db"],
    ids=["cjk", "space", "no-break-space", "emoji", "zero-width-joiner"],
)
def test_an_id_of_printable_text_in_any_script_is_accepted(incident_id: str) -> None:
    # Given an id of visible text, spaces and joiners in any script / When it is validated
    # Then it is kept as sent
    assert validate({"incident": {"id": incident_id}}).incident.id == incident_id


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("incident", "alerts"), {"not": "a list"}),
        (("incident", "updatedOn"), "yesterday"),
        (("incident", "updatedOn"), True),
        (("incident", "updatedOn"), -5),
        (("incident", "active"), {"yes": 1}),
        (("incident", "snooze"), "sometimes"),
        (("incidentTags",), {"id": "x"}),
    ],
    ids=[
        "alerts-object",
        "timestamp-text",
        "timestamp-bool",
        "timestamp-negative",
        "active-object",
        "snooze-string",
        "incident-tags-object",
    ],
)
def test_wrong_types_are_rejected(sample: Payload, path: tuple[str, ...], value: Any) -> None:
    target = sample
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(ValidationError) as raised:
        validate(sample)
    assert tuple(raised.value.errors()[0]["loc"][: len(path)]) == path
