"""Every setting an adapter names for a refused field or step is a key path of the desk
configuration file: the path an operator opens the file at to fix it.

The adapters are built by the factory from a configuration whose targets are not named after
their kind (``ops-jira``, ``snow``), on the Jira and ServiceNow stand-ins, and each refusal a
desk can make is provoked in turn. A named path resolves in the validated configuration,
save its last element when that is an entry the file may add to a mapping (a field id).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import pytest
from adapter_support import ticket_draft
from fakes_support import SNOW_PASSWORD, SNOW_USER
from pydantic import BaseModel

from local.fakes.jira import DEFAULT_API_TOKEN, DEFAULT_EMAIL, JiraFake
from local.fakes.servicenow import ServiceNowFake
from pandabridge.desk_config import DeskConfig, parse_config
from pandabridge.errors import PermanentError
from pandabridge.http import HttpClient
from pandabridge.names import Env
from pandabridge.settings import TicketTargetSettings
from pandabridge.tickets.factory import build_target
from pandabridge.tickets.model import TicketTarget

JIRA_TARGET = "ops-jira"
SNOW_TARGET = "snow"

# A refusal: sets the stand-in up, and returns the target section and the adapter's action.
Action = Callable[[TicketTarget], object]
Refusal = Callable[[Any], tuple[dict[str, Any], Action]]

JIRA_SECTION = {"project": "OPS", "issue_type": "Task"}
# The names of Jira's default scheme, which the custom scheme lacks.
PRIORITY_MAP = {"P1": "Highest", "P2": "High", "P3": "Medium", "P4": "Low", "P5": "Lowest"}


# A refusal: sets the stand-in up, and returns the target section and the adapter's action.
Action = Callable[[TicketTarget], object]
Refusal = Callable[[Any], tuple[dict[str, Any], Action]]

JIRA_SECTION = {"project": "OPS", "issue_type": "Task"}
# The names of Jira's default scheme, which the custom scheme lacks.
PRIORITY_MAP = {"P1": "Highest", "P2": "High", "P3": "Medium", "P4": "Low", "P5": "Lowest"}


def created(target: TicketTarget) -> object:
    return target.create(ticket_draft())


def resolved(target: TicketTarget) -> object:
    return target.resolve(target.create(ticket_draft()), "")


def unknown_priority(jira: JiraFake) -> tuple[dict[str, Any], Action]:
    jira.configure_project(priorities="custom")
    return {"jira": JIRA_SECTION, "fields": {"priority_map": PRIORITY_MAP}}, created


def required_custom_field(jira: JiraFake) -> tuple[dict[str, Any], Action]:
    jira.configure_project(required_fields={"customfield_10050": "Service"})
    return {"jira": JIRA_SECTION}, created


def required_components(jira: JiraFake) -> tuple[dict[str, Any], Action]:
    jira.configure_project(required_fields={"components": "Components"})
    return {"jira": JIRA_SECTION}, created


def unknown_issue_type(_: JiraFake) -> tuple[dict[str, Any], Action]:
    return {"jira": {**JIRA_SECTION, "issue_type": "Epic"}}, created


def unknown_project(_: JiraFake) -> tuple[dict[str, Any], Action]:
    return {"jira": {**JIRA_SECTION, "project": "NOPE"}}, created


def no_such_transition(_: JiraFake) -> tuple[dict[str, Any], Action]:
    # No status of the "new" category is reachable from a new issue either.
    resolve = {"transitions": ["Finish"], "category": "new"}
    return {"jira": JIRA_SECTION, "workflow": {"resolve": resolve}}, resolved


def unconfigured_transition_field(jira: JiraFake) -> tuple[dict[str, Any], Action]:
    # The classic "Resolve Issue" screen requires a resolution, which these fields lack.
    jira.configure_project(workflow="classic")
    resolve = {
        "transitions": ["Resolve Issue"],
        "category": "new",
        "fields": {"customfield_10060": "x"},
    }
    return {"jira": JIRA_SECTION, "workflow": {"resolve": resolve}}, resolved


def refused_transition(jira: JiraFake) -> tuple[dict[str, Any], Action]:
    def act(target: TicketTarget) -> object:
        ref = target.create(ticket_draft())
        jira.fail(400, 1, method="POST", path="*/transitions")
        return target.resolve(ref, "")

    return {"jira": JIRA_SECTION, "workflow": {"resolve": {"transitions": ["Done"]}}}, act


def refused_close_code(_: ServiceNowFake) -> tuple[dict[str, Any], Action]:
    return {"servicenow": {"close_code": "Solved (Permanently)"}}, resolved


def refused_routing(_: ServiceNowFake) -> tuple[dict[str, Any], Action]:
    routing = {"category": "software", "extra_fields": {"close_code": "Solved (Permanently)"}}
    # The extra field reaches the create on the draft, as the reconciler renders it.
    return {"servicenow": routing}, lambda target: target.create(
        ticket_draft(close_code="Solved (Permanently)")
    )


JIRA_REFUSALS: list[Refusal] = [
    unknown_priority,
    required_custom_field,
    required_components,
    unknown_issue_type,
    unknown_project,
    no_such_transition,
    unconfigured_transition_field,
    refused_transition,
]
SNOW_REFUSALS: list[Refusal] = [refused_close_code, refused_routing]


def named_paths(
    desk: DeskConfig,
    fake_url: str,
    credentials: Mapping[str, str],
    client: HttpClient,
    act: Callable[[TicketTarget], object],
) -> list[str]:
    """The key paths the adapter names when ``act`` is refused."""
    settings = TicketTargetSettings.model_validate(
        {
            Env.TICKET_TARGET: desk.selected.kind,
            Env.TICKET_BASE_URL: fake_url,
            Env.TICKET_SECRET_ID: "pandabridge/ticket-credentials",
        }
    )
    target = build_target(settings, credentials, client, desk=desk)
    with pytest.raises(PermanentError) as caught:
        act(target)
    # "<path> (available: a, b)" lists what the desk offers after the path.
    return re.sub(r" \(available: [^)]*\)", "", caught.value.setting).split(", ")


def resolves(desk: DeskConfig, path: str) -> bool:
    """Whether ``path`` is a key path of ``desk``: every element a key of its section, the
    last one aside when it is a new entry of a mapping the file holds (a field id, say)."""
    parts = path.split(".")
    node: Any = desk
    for index, part in enumerate(parts):
        if isinstance(node, BaseModel) and part in type(node).model_fields:
            node = getattr(node, part)
        elif isinstance(node, Mapping) and part in node:
            node = node[part]
        else:
            return isinstance(node, Mapping) and index == len(parts) - 1
    return True


def desk_of(name: str, kind: str, url: str, section: dict[str, Any]) -> DeskConfig:
    return parse_config({"targets": {name: {"kind": kind, "base_url": url, **section}}})


@pytest.mark.parametrize("refusal", JIRA_REFUSALS, ids=lambda refusal: refusal.__name__)
def test_every_setting_jira_names_is_a_key_path_of_the_desk_file(
    jira: JiraFake, client: HttpClient, refusal: Refusal
) -> None:
    # Given a Jira target named ops-jira and a desk that refuses one field or step
    section, act = refusal(jira)
    desk = desk_of(JIRA_TARGET, "jira", jira.url, section)
    credentials = {"email": DEFAULT_EMAIL, "api_token": DEFAULT_API_TOKEN}
    # When the adapter meets the refusal
    paths = named_paths(desk, jira.url, credentials, client, act)
    # Then every setting it names is a key path of that target in the file
    assert paths
    assert [p for p in paths if not p.startswith(f"targets.{JIRA_TARGET}.")] == []
    assert [p for p in paths if not resolves(desk, p)] == []


@pytest.mark.parametrize("refusal", SNOW_REFUSALS, ids=lambda refusal: refusal.__name__)
def test_every_setting_servicenow_names_is_a_key_path_of_the_desk_file(
    snow_fake: ServiceNowFake, client: HttpClient, refusal: Refusal
) -> None:
    # Given a ServiceNow target named snow and an instance that refuses one write
    section, act = refusal(snow_fake)
    desk = desk_of(SNOW_TARGET, "servicenow", snow_fake.url.rstrip("/"), section)
    credentials = {"username": SNOW_USER, "password": SNOW_PASSWORD}
    # When the adapter meets the refusal
    paths = named_paths(desk, snow_fake.url.rstrip("/"), credentials, client, act)
    # Then every setting it names is a key path of that target in the file
    assert paths
    assert [p for p in paths if not p.startswith(f"targets.{SNOW_TARGET}.")] == []
    assert [p for p in paths if not resolves(desk, p)] == []
