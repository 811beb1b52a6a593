"""An incident becomes the same ticket draft for every target (see tickets/mapping.py)."""

from __future__ import annotations

from typing import Any

import pytest
from ticket_support import INCIDENT_ID

from events.large_incident import large_incident
from pandabridge.models import WebhookPayload
from pandabridge.tickets.mapping import (
    MAX_DESCRIPTION_CHARS,
    MAX_LABEL_CHARS,
    correlation_label,
    draft_for,
    shorten,
    truncate,
)
from pandabridge.tickets.model import TicketDraft, TicketStatus

Payload = dict[str, Any]


def draft_of(payload: Payload, priority_tag: str | None = None) -> TicketDraft:
    return draft_for(WebhookPayload.model_validate(payload), priority_tag=priority_tag)


def test_title_follows_bigpandas_own_format(sample: Payload) -> None:
    # Given the vendor sample, When it is mapped
    draft = draft_of(sample)
    # Then the title names priority, the first alert's primary property value and the status
    assert draft.title == "BigPanda Incident: P1 - Evyatar-11 - Critical"


def test_title_falls_back_to_the_property_name_without_its_tag(sample: Payload) -> None:
    sample["incident"]["alerts"][0]["tags"] = []
    assert draft_of(sample).title == "BigPanda Incident: P1 - host - Critical"


def test_title_says_unknown_for_an_incident_without_alerts(sample: Payload) -> None:
    sample["incident"]["alerts"] = []
    assert draft_of(sample).title == "BigPanda Incident: P1 - unknown - Critical"


def test_resolved_incident_gives_a_resolved_draft(sample: Payload) -> None:
    # Given a resolved incident
    sample["incident"].update(status="ok", active=False, resolved=True)
    # When it is mapped
    draft = draft_of(sample)
    # Then the draft is resolved and its title says so
    assert draft.status is TicketStatus.RESOLVED
    assert draft.title.endswith(" - Resolved")


def test_open_incident_gives_an_open_draft(sample: Payload) -> None:
    assert draft_of(sample).status is TicketStatus.OPEN


@pytest.mark.parametrize(
    ("value", "priority"),
    [
        (2, "P2"),
        (5.0, "P5"),
        ("3", "P3"),
        ("P4", "P4"),
        ("p1", "P1"),
        ("sev-2", "P2"),
        ("Priority 5", "P5"),
        ("critical", "P1"),
        ("High", "P2"),
        ("medium", "P3"),
        ("low", "P4"),
        ("lowest", "P5"),
        (["P2", "P4"], "P2"),
    ],
)
def test_priority_comes_from_the_configured_incident_tag(
    sample: Payload, value: Any, priority: str
) -> None:
    # Given a warning incident whose priority tag says otherwise
    sample["incident"]["severity"] = "warning"
    sample["incidentTags"] = [{"id": "prio", "value": value}]
    # When it is mapped with that tag configured, Then the tag decides
    assert draft_of(sample, priority_tag="prio").priority == priority


@pytest.mark.parametrize("value", [1000, 0, 6, "whenever", True, [], None])
def test_tag_value_that_is_no_priority_falls_back_to_severity(sample: Payload, value: Any) -> None:
    # Given a critical incident whose tag value denotes no priority (the sample's 1000, ...)
    sample["incidentTags"] = [{"id": "itd_priority_1", "value": value}]
    # Then the severity decides
    assert draft_of(sample, priority_tag="itd_priority_1").priority == "P1"


def test_priority_tag_that_is_absent_falls_back_to_severity(sample: Payload) -> None:
    sample["incident"]["severity"] = "warning"
    assert draft_of(sample, priority_tag="no-such-tag").priority == "P3"


@pytest.mark.parametrize(
    ("severity", "priority"),
    [("critical", "P1"), ("warning", "P3"), ("unknown", "P4"), ("ok", "P5"), ("odd", "P3")],
)
def test_priority_comes_from_severity_without_a_tag(
    sample: Payload, severity: str, priority: str
) -> None:
    sample["incident"]["severity"] = severity
    assert draft_of(sample).priority == priority


def test_description_lists_every_alert_with_properties_source_and_tags(sample: Payload) -> None:
    description = draft_of(sample).description
    for expected in (
        "host: Evyatar-11 | check: CPU",
        "host: web3 | check: CPU",
        "Source system: nagios.est",
        "Description: CPU is 98%",
        "run-book=https://mywiki.com/web3/modiin-prod",
        "_cluster=modiin-prod",
    ):
        assert expected in description


def test_description_carries_incident_tags_changes_and_link(sample: Payload) -> None:
    description = draft_of(sample).description
    assert "- itd_priority_1: 1000" in description
    assert "- Mando-001: change.summary (status: Done) https://your.url" in description
    assert "http://bigp.io/9ad55554d5c116e4" in description


def test_draft_carries_the_incident_link_and_correlation_label(sample: Payload) -> None:
    draft = draft_of(sample)
    assert draft.incident_id == INCIDENT_ID
    assert draft.incident_url == "http://bigp.io/9ad55554d5c116e4"
    assert draft.labels == (f"bigpanda-{INCIDENT_ID}",)


def test_large_incident_description_is_capped_and_counts_the_rest() -> None:
    # Given an incident of 5,000 alerts
    draft = draft_of(large_incident(5000))
    # Then the description fits the cap, says how many alerts it left out, and keeps the
    # link, the incident tags and the related changes
    assert len(draft.description) <= MAX_DESCRIPTION_CHARS
    assert "more alerts" in draft.description
    assert "http://bigp.io/9ad55554d5c116e4" in draft.description
    assert "- itd_priority_1: 1000" in draft.description
    assert "Mando-001" in draft.description


def test_huge_incident_tags_cannot_crowd_out_the_alerts(sample: Payload) -> None:
    sample["incidentTags"] = [{"id": f"tag{n}", "value": "x" * 400} for n in range(500)]
    description = draft_of(sample).description
    assert "more incident tags" in description
    assert "host: web3 | check: CPU" in description


def test_start_time_is_shown_in_utc(sample: Payload) -> None:
    assert "Started: 2022-04-10 07:38:02 UTC" in draft_of(sample).description


def test_start_time_in_milliseconds_does_not_break_the_description(sample: Payload) -> None:
    sample["incident"]["startedOn"] = 1649576282000
    assert "Started: 1649576282000 (epoch)" in draft_of(sample).description


def test_correlation_label_of_a_safe_id_is_readable() -> None:
    assert correlation_label(INCIDENT_ID) == f"bigpanda-{INCIDENT_ID}"


@pytest.mark.parametrize("incident_id", ["with space", 'quote"d', "x" * 300, "ünïcode"])
def test_correlation_label_of_any_id_is_a_valid_jira_label(incident_id: str) -> None:
    label = correlation_label(incident_id)
    assert label.startswith("bigpanda-")
    assert len(label) <= MAX_LABEL_CHARS
    assert all(c.isascii() and (c.isalnum() or c in "_.-") for c in label)
    assert correlation_label(incident_id) == label


def test_correlation_labels_of_similar_ids_differ() -> None:
    assert correlation_label("a b") != correlation_label("a_b")


def test_shorten_keeps_one_line_within_the_limit() -> None:
    assert shorten("a\nb   c", 10) == "a b c"
    assert shorten("x" * 20, 10) == "x" * 9 + "…"


def test_truncate_notes_how_much_was_cut() -> None:
    text = "\n".join(f"line {n}" for n in range(1000))
    cut = truncate(text, 200)
    assert len(cut) <= 200
    assert cut.endswith("more characters]")
