"""The desk configuration file: every problem names its key path and what is expected, all at
once; a key left out keeps today's behaviour; the shipped files are valid."""

from __future__ import annotations

import copy
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from pandabridge.desk_config import (
    DeskConfig,
    DeskConfigurationError,
    load_config,
    parse_config,
    single_target,
)
from pandabridge.settings import ConfigurationError

REPO = Path(__file__).resolve().parents[3]
SHIPPED = [REPO / "pandabridge.toml", *sorted((REPO / "examples").glob("*.toml"))]

JIRA: dict[str, Any] = {
    "target": "ops-jira",
    "targets": {
        "ops-jira": {
            "kind": "jira",
            "base_url": "https://acme.atlassian.net",
            "jira": {"project": "OPS"},
            "fields": {
                "priority_map": {"P1": "Highest", "P2": "High", "P3": "Medium", "P4": "Low"}
                | {"P5": {"id": "10005"}}
            },
        },
        "snow": {"kind": "servicenow", "base_url": "https://acme.service-now.com"},
    },
}


def problems_of(document: dict[str, Any]) -> tuple[str, ...]:
    with pytest.raises(DeskConfigurationError) as caught:
        parse_config(document)
    return caught.value.problems


def changed(path: str, value: Any) -> dict[str, Any]:
    """The Jira document with the value at the dotted ``path`` replaced (or added)."""
    document = copy.deepcopy(JIRA)
    *parents, last = path.split(".")
    node = document
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    return document


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("targets.ops-jira.fields.priority_map.P2", {"label": "High"}, "P2.label: unknown key"),
        ("targets.ops-jira.fields.priority_map.P2", {}, "P2: expected a name"),
        (
            "targets.ops-jira.fields.priority_map.P9",
            "Meh",
            "priority_map.P9: the key name: Input should be",
        ),
        ("targets.ops-jira.fields.summary", "{host}", "fields.summary: unknown placeholder {host}"),
        ("targets.ops-jira.fields.description", "50% {", "fields.description: unbalanced '{'"),
        ("targets.ops-jira.kind", "email", "ops-jira.kind: Input should be 'http'"),
        ("targets.ops-jira.base_url", "acme.atlassian.net", "ops-jira.base_url: String should"),
        ("targets.ops-jira.timeout_seconds", 31, "ops-jira.timeout_seconds: Input should be"),
        (
            "targets.ops-jira.create_outcome_window_seconds",
            10,
            "ops-jira.create_outcome_window_seconds: Input should be greater than or equal to 30",
        ),
        ("targets.ops-jira.update.priority", "always", "update.priority: Input should be 'sync'"),
        ("targets.ops-jira.jira.project", "O P S", "jira.project: String should match"),
        ("targets.ops-jira.jira.labels", ["two words"], "jira.labels.0: String should match"),
        (
            "targets.ops-jira.jira.custom_fields",
            {"cf": "{env}"},
            "targets.ops-jira.jira.custom_fields.cf: unknown placeholder {env}",
        ),
        (
            "targets.ops-jira.jira.custom_fields",
            {"cf": {"value": "{environment}"}},
            "custom_fields.cf: {environment} would be sent as written",
        ),
        (
            "targets.snow.servicenow.extra_fields",
            {"u_team": "{tag:}"},
            "targets.snow.servicenow.extra_fields.u_team: unknown placeholder {tag:}",
        ),
        ("targets.ops-jira.workflow.resolve", {}, "workflow.resolve.transitions: expected"),
        ("targets.ops-jira.workflow.reopen.category", "closed", "reopen.category: Input should"),
        ("targets.snow.servicenow.close_code", "", "snow.servicenow.close_code: String should"),
        (
            "targets.snow.servicenow.extra_fields",
            {"U-x": "1"},
            "extra_fields.U-x: the key name: String",
        ),
        ("targets.snow.servicenow.close_notes", "{why}", "close_notes: unknown placeholder {why}"),
        ("targets.snow.servicenow.urgency", "1", "snow.servicenow.urgency: unknown key"),
        ("targets.snow.jira", {"project": "X"}, "targets.snow.jira: only a 'jira' target"),
        ("targets.ops-jira.jira", None, "targets.ops-jira.jira.project: required"),
        ("target", "elsewhere", "target: 'elsewhere' is not defined; one of ops-jira, snow"),
        ("target", None, "target: required with several targets"),
        ("targets", {}, "targets: Dictionary should have at least 1 item"),
    ],
)
def test_every_problem_names_its_key_path(path: str, value: Any, expected: str) -> None:
    # Given the Jira document with one bad value
    document = changed(path, value)
    if value is None:
        *parents, last = path.split(".")
        node = document
        for part in parents:
            node = node[part]
        del node[last]
    # When it is validated / Then the one problem names the key path and what is expected
    problems = problems_of(document)
    assert len(problems) == 1, problems
    assert expected in problems[0]


def test_all_problems_are_reported_at_once() -> None:
    # Given a document with three independent mistakes
    document = changed("targets.ops-jira.timeout_seconds", 0)
    document["targets"]["snow"]["base_url"] = "snow"
    document["targets"]["ops-jira"]["fields"]["summary"] = "{x}"
    # When it is validated / Then each is listed with its path, and the error is the
    # ConfigurationError the consumer logs at ERROR
    with pytest.raises(ConfigurationError) as caught:
        parse_config(document, source="desk.toml")
    message = str(caught.value)
    assert message.startswith("invalid desk configuration desk.toml:")
    for path in ("ops-jira.timeout_seconds", "snow.base_url", "ops-jira.fields.summary"):
        assert f"targets.{path}:" in message


def test_a_key_left_out_keeps_todays_behaviour() -> None:
    # Given a target with only its kind and address
    target = single_target("http", "https://desk.example.com").selected
    # When its defaults are read
    # Then the templates are today's title and description, the priority tag and the
    # adapter options unset, and the update policy keeps agents' triage edits
    assert target.fields.summary == "BigPanda Incident: {priority} - {primary_property} - {status}"
    assert target.fields.description == "{default_description}"
    assert (target.timeout_seconds, target.priority_tag, target.fields.priority_map) == (
        10,
        None,
        None,
    )
    assert (target.jira, target.workflow, target.servicenow) == (None, None, None)


def test_the_update_policy_is_given_in_plain_form() -> None:
    # Given the Jira document with summary written on create only
    config = parse_config(changed("targets.ops-jira.update.summary", "create"))
    # When the update policy is read / Then each field maps to "sync" or "create"
    assert config.update_policy == {
        "summary": "create",
        "description": "sync",
        "priority": "create",
        "assignee": "create",
    }


def test_one_target_needs_no_choice() -> None:
    # Given one target and no `target` key / When the configuration is read
    config = single_target("servicenow", "https://acme.service-now.com")
    # Then that target is the chosen one, and key paths name it
    assert (config.target_name, config.selected.kind) == ("servicenow", "servicenow")
    assert config.key("servicenow", "close_code") == "targets.servicenow.servicenow.close_code"


def test_a_file_that_is_not_toml_names_the_file(tmp_path: Path) -> None:
    # Given a file with a TOML syntax error
    path = tmp_path / "desk.toml"
    path.write_text('[targets.desk]\nkind = "http\n', encoding="utf-8")
    # When it is loaded / Then the error names the file and says it is not TOML
    with pytest.raises(DeskConfigurationError, match=r"desk\.toml:\n  - is not valid TOML"):
        load_config(path)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.name)
def test_the_shipped_files_are_valid(path: Path) -> None:
    # Given the repository's configuration and its worked examples / When each is loaded
    config = load_config(path)
    # Then it is valid and chooses a target
    assert isinstance(config, DeskConfig)
    assert config.selected.kind in {"http", "jira", "servicenow"}


def test_the_repository_file_keeps_todays_behaviour() -> None:
    # Given the shipped pandabridge.toml / When it is loaded
    target = load_config(REPO / "pandabridge.toml").selected
    # Then it is today's http target at the placeholder address, every other key at its default
    assert target.model_dump(exclude={"base_url"}) == (
        single_target("http", "https://desk.example.com").selected.model_dump(exclude={"base_url"})
    )
    assert target.base_url == "https://tickets.example.com"


def test_the_readmes_worked_examples_are_the_shipped_ones() -> None:
    # Given the TOML blocks of the README's admin guide
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```toml\n(.*?)```", readme, flags=re.DOTALL)
    # When each is compared with the example file it shows
    shipped = {path.name: path.read_text(encoding="utf-8") for path in SHIPPED}
    # Then each is a valid configuration and the body of one of the shipped examples
    assert len(blocks) == 2
    for block in blocks:
        parse_config(tomllib.loads(block))
        assert any(text.endswith(block) for text in shipped.values()), block
