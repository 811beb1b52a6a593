"""A target's section of the desk configuration becomes its adapter's keyword arguments; a key
left out is not passed, so the adapter keeps its own default."""

from __future__ import annotations

from pathlib import Path

import pytest
from ticket_support import CREDENTIALS, target_settings

from pandabridge.desk_config import load_config, single_target
from pandabridge.errors import PermanentError
from pandabridge.names import Env
from pandabridge.tickets.factory import build_target, jira_options, servicenow_options

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
BASE = "https://desk.example.com"


def test_the_jira_example_names_every_jira_option() -> None:
    # Given the worked Jira example / When its target becomes the adapter's options
    options = jira_options(load_config(EXAMPLES / "jira.toml").selected)
    # Then each configured key is there under the adapter's keyword, ids as {"id": ...}
    assert options == {
        "project_key": "OPS",
        "issue_type": "Incident",
        "priority_map": {
            "P1": "P1 - Critical",
            "P2": "P2 - High",
            "P3": "P3 - Medium",
            "P4": "P4 - Low",
            "P5": {"id": "10005"},
        },
        "labels": ["bigpanda"],
        "components": ["Monitoring"],
        "resolve_transitions": ["Done", "Resolve Issue", "Close Issue"],
        "resolve_category": "done",
        "resolve_fields": {"resolution": {"name": "Done"}},
        "reopen_transitions": ["Reopen Issue", "To Do"],
        "reopen_category": "new",
    }


def test_a_minimal_jira_target_passes_only_the_project_and_todays_issue_type() -> None:
    # Given a Jira target with only its project
    target = single_target("jira", BASE, jira={"project": "OPS"}).selected
    # When it becomes the adapter's options / Then nothing else is set: the adapter keeps
    # its own defaults (candidate transitions, priority names)
    assert jira_options(target) == {"project_key": "OPS", "issue_type": "Task"}


def test_the_servicenow_example_names_every_servicenow_option() -> None:
    # Given the worked ServiceNow example / When its target becomes the adapter's options
    options = servicenow_options(load_config(EXAMPLES / "servicenow.toml").selected)
    # Then each configured key is there under the adapter's keyword
    assert options == {
        "assignment_group": "Service Desk",
        "caller_id": "bigpanda.integration",
        "category": "software",
        "subcategory": "monitoring",
        "close_code": "Solution provided",
        "close_notes": "Resolved in BigPanda: {note}",
    }


@pytest.mark.parametrize(
    ("example", "fields"),
    [
        (
            "jira.toml",
            {
                "customfield_10010": "{environment}",
                "customfield_10020": {"value": "Production"},
            },
        ),
        ("servicenow.toml", {"u_source": "BigPanda", "u_environment": "{environment}"}),
    ],
)
def test_the_examples_create_time_fields_travel_with_the_draft_mapping(
    example: str, fields: dict[str, object]
) -> None:
    # Given a worked example with templated create-time fields
    # When its target's draft mapping is read / Then it carries them, to render per incident
    assert dict(load_config(EXAMPLES / example).selected.draft_mapping.extra_fields) == fields


def test_a_servicenow_target_without_its_section_passes_nothing() -> None:
    assert servicenow_options(single_target("servicenow", BASE).selected) == {}


def test_jira_without_a_configuration_file_names_the_variable() -> None:
    # Given the function's Jira settings and no desk configuration
    # When the target is built / Then the error names the variable of the file
    with pytest.raises(PermanentError) as caught:
        build_target(target_settings("jira", BASE), CREDENTIALS["jira"])
    assert caught.value.setting == Env.DESK_CONFIG_FILE
    assert "jira.project" in caught.value.reason


def test_a_configuration_of_another_kind_than_the_function_is_refused() -> None:
    # Given http settings and a ServiceNow configuration (a mismatched deployment)
    desk = single_target("servicenow", BASE)
    # When the target is built / Then the error names both kinds and the file's variable
    with pytest.raises(PermanentError, match=r"'servicenow' desk.*'http'") as caught:
        build_target(target_settings("http", BASE), CREDENTIALS["http"], desk=desk)
    assert caught.value.setting == Env.DESK_CONFIG_FILE
