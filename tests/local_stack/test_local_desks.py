"""`make run` against the Jira and ServiceNow fakes (`--desk`), and with a desk configuration
of its own (`--config`): the sample becomes a ticket on the desk the flags name."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from local import defaults, state
from local.fakes.jira import DEFAULT_API_TOKEN, DEFAULT_EMAIL, DEFAULT_PROJECT
from tests.local_stack.harness import (
    StackProcess,
    http_request,
    run_as_developer,
    serving_stack,
)

SAMPLE_ID = json.loads(defaults.SAMPLE_EVENT.read_text())["incident"]["id"]
TICKET_WAIT_SECONDS = 10.0


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}", "Accept": "application/json"}


def eventually(read: Callable[[], list[Any]], stack: StackProcess) -> list[Any]:
    """What ``read`` returns once it is not empty, or the test fails with the stack's output."""
    deadline = time.monotonic() + TICKET_WAIT_SECONDS
    while not (found := read()):
        if time.monotonic() > deadline:
            pytest.fail(f"no ticket on the desk\noutput:\n{stack.output}")
        time.sleep(0.2)
    return found


@pytest.fixture(scope="module")
def jira_stack() -> Iterator[StackProcess]:
    with serving_stack("--desk", "jira") as running:
        yield running


@pytest.fixture(scope="module")
def servicenow_stack() -> Iterator[StackProcess]:
    with serving_stack("--desk", "servicenow") as running:
        yield running


def test_with_desk_jira_the_sample_becomes_an_issue_in_the_jira_fake(
    jira_stack: StackProcess,
) -> None:
    # Given a stack started with --desk jira, which posted the sample at start-up
    url = (
        f"{jira_stack.desk_url}rest/api/3/search/jql?jql=project%3D{DEFAULT_PROJECT}&fields=summary"
    )
    headers = basic(DEFAULT_EMAIL, DEFAULT_API_TOKEN)

    # When the Jira fake's project is searched
    def issues() -> list[Any]:
        return list(http_request("GET", url, headers=headers).json().get("issues", []))

    found = eventually(issues, jira_stack)
    # Then the sample is one issue there, titled by the default summary template
    assert len(found) == 1, found
    assert found[0]["fields"]["summary"].startswith("BigPanda Incident: ")
    assert "Jira fake at" in jira_stack.output


def test_with_desk_servicenow_the_sample_becomes_an_incident_in_the_servicenow_fake(
    servicenow_stack: StackProcess,
) -> None:
    # Given a stack started with --desk servicenow, which posted the sample at start-up
    query = f"sysparm_query=correlation_id%3D{SAMPLE_ID}&sysparm_fields=short_description"
    url = f"{servicenow_stack.desk_url}api/now/table/incident?{query}"
    headers = basic(defaults.SERVICENOW_USER, defaults.SERVICENOW_PASSWORD)

    # When the ServiceNow fake's incident table is read for the sample
    def incidents() -> list[Any]:
        return list(http_request("GET", url, headers=headers).json().get("result", []))

    found = eventually(incidents, servicenow_stack)
    # Then the sample is one incident there
    assert len(found) == 1, found
    assert found[0]["short_description"].startswith("BigPanda Incident: ")


def test_a_summary_template_in_the_config_file_reaches_the_ticket(tmp_path: Path) -> None:
    # Given a desk configuration whose summary template differs from the default
    config = tmp_path / "desk.toml"
    config.write_text(
        '[targets.desk]\nkind = "http"\nbase_url = "https://tickets.example.com"\n'
        '[targets.desk.fields]\nsummary = "Paged: {incident_id} ({priority})"\n',
        encoding="utf-8",
    )
    # When the stack runs with it and posts the sample
    with serving_stack("--config", str(config)) as running:
        tickets = eventually(lambda: running.desk_tickets(SAMPLE_ID), running)
    # Then the ticket's title is rendered from the template
    assert tickets[0]["title"].startswith(f"Paged: {SAMPLE_ID} (P")


def test_make_desk_check_checks_the_desk_that_make_run_was_started_with(tmp_path: Path) -> None:
    # Given a stack started with --desk jira, recording itself in a state file of its own
    env = {state.STATE_FILE_ENV: str(tmp_path / "stack.json")}
    with serving_stack("--desk", "jira", "--no-sample", env=env):
        # When `make desk-check` runs beside it
        checked = run_as_developer(["make", "-s", "desk-check"], env)
    # Then it checked the Jira fake with the configuration the stack runs with, not the repo's
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"✔ project {DEFAULT_PROJECT}" in checked.stdout
