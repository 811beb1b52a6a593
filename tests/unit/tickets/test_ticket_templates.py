"""Summary and description templates: a fixed set of placeholders, rendered per incident; the
defaults render today's title and description."""

from __future__ import annotations

from typing import Any

import pytest

from pandabridge.desk_config import single_target
from pandabridge.models import WebhookPayload
from pandabridge.tickets.mapping import DraftMapping, describe, draft_for
from pandabridge.tickets.templates import PLACEHOLDERS, TemplateError, placeholders_of

Payload = dict[str, Any]


def rendered(sample: Payload, summary: str) -> str:
    """The title ``summary`` renders for the sample."""
    payload = WebhookPayload.model_validate(sample)
    return draft_for(payload, mapping=DraftMapping(summary=summary)).title


def test_the_default_templates_render_todays_title_and_description(sample: Payload) -> None:
    # Given the defaults of a target's fields / When the sample is mapped with them
    payload = WebhookPayload.model_validate(sample)
    draft = draft_for(
        payload, mapping=single_target("http", "https://d.example").selected.draft_mapping
    )
    # Then the title is BigPanda's own format and the description today's renderer's
    assert draft.title == "BigPanda Incident: P1 - Evyatar-11 - Critical"
    assert draft.description == describe(payload)


@pytest.mark.parametrize(
    ("summary", "title"),
    [
        ("{incident_id}", "5555370aabc20a001145d6g9"),
        ("{severity}/{status}", "Critical/Critical"),
        ("{alert_count} alerts", "2 alerts"),
        ("{tag:itd_priority_1}|{tag:absent}|", "1000||"),
        ("{tags}", "itd_priority_1=1000"),
        ("{{literal}} {priority}", "{literal} P1"),
    ],
)
def test_each_placeholder_renders_its_incident_value(
    sample: Payload, summary: str, title: str
) -> None:
    # Given a summary template / When the sample is mapped / Then the placeholder's value is in
    assert rendered(sample, summary) == title


def test_the_environment_falls_back_to_the_first_alerts_tag(sample: Payload) -> None:
    # Given an incident without an environment tag whose first alert has one
    sample["incident"]["alerts"][0]["tags"].append({"name": "environment", "value": "prod"})
    # When a template uses {environment} / Then it is the alert's
    assert rendered(sample, "[{environment}]") == "[prod]"


def test_every_documented_placeholder_is_known() -> None:
    # Given every documented placeholder and a tag / When a template uses them all
    template = " ".join(f"{{{name}}}" for name in PLACEHOLDERS) + " {tag:env}"
    # Then it validates
    assert placeholders_of(template) == (*PLACEHOLDERS, "tag:env")


@pytest.mark.parametrize("template", ["{hostname}", "{tag:}", "{ priority }", "open {", "} x"])
def test_an_unknown_placeholder_or_a_stray_brace_is_refused(template: str) -> None:
    # Given a template with a name that is not a placeholder, or an unpaired brace
    # When it is validated / Then it is refused, saying what is expected
    with pytest.raises(TemplateError, match=r"unknown placeholder|unbalanced"):
        placeholders_of(template)


def tagged(sample: Payload, **tags: str) -> WebhookPayload:
    """The sample incident carrying ``tags`` as incident tags."""
    sample["incidentTags"] = [{"id": name, "value": value} for name, value in tags.items()]
    return WebhookPayload.model_validate(sample)


@pytest.mark.parametrize(
    ("tags", "environment", "team"),
    [
        ({"environment": "production", "team": "payments"}, "production", "payments"),
        ({"environment": "staging", "team": "search"}, "staging", "search"),
    ],
)
def test_templated_extra_fields_render_each_incidents_values(
    sample: Payload, tags: dict[str, str], environment: str, team: str
) -> None:
    # Given custom fields templated on {environment} and {tag:team}, and one constant object
    mapping = DraftMapping(
        extra_fields={
            "customfield_10010": "{environment}",
            "customfield_10011": "team {tag:team}",
            "customfield_10020": {"value": "Production"},
        }
    )
    # When an incident with its own tags is mapped
    draft = draft_for(tagged(sample, **tags), mapping=mapping)
    # Then the text fields hold that incident's values and the constant is sent as written
    assert dict(draft.extra_fields) == {
        "customfield_10010": environment,
        "customfield_10011": f"team {team}",
        "customfield_10020": {"value": "Production"},
    }


def test_a_draft_with_extra_fields_stays_hashable(sample: Payload) -> None:
    # Given a draft whose extra field is a JSON object
    mapping = DraftMapping(extra_fields={"customfield_10020": {"value": "Production"}})
    draft = draft_for(WebhookPayload.model_validate(sample), mapping=mapping)
    again = draft_for(WebhookPayload.model_validate(sample), mapping=mapping)
    # When it is hashed / Then it is, like any draft, and equals the same draft made again
    assert hash(draft) == hash(again)
    assert draft == again
