"""``pandabridge-ops desk check`` against the desk fakes, in correct and misconfigured set-ups.

Each fake is started on a loopback port for the test and reached over real HTTP; the check is
run through the CLI's entry point, with the credentials in a file (or the local stack's secret).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from local import defaults
from local.aws import MotoServer, put_secret
from local.demo.service_desk import DemoDesk
from local.fakes.jira import DEFAULT_API_TOKEN, DEFAULT_EMAIL, JiraFake
from local.fakes.servicenow import ServiceNowFake
from ops.__main__ import main
from ops.desk_check import Finding, Outcome, TargetFindings, failed, report_targets
from pandabridge.http import HttpClient, basic_auth

SNOW_USER, SNOW_PASSWORD = "pandabridge", "snow-password-0123"
JIRA_CREDENTIALS = {"email": DEFAULT_EMAIL, "api_token": DEFAULT_API_TOKEN}
SNOW_CREDENTIALS = {"username": SNOW_USER, "password": SNOW_PASSWORD}
JIRA_TARGET = """
[targets.ops-jira]
kind = "jira"
base_url = "{url}"

[targets.ops-jira.jira]
project = "OPS"
issue_type = "Task"

[targets.ops-jira.workflow]
resolve = {{ transitions = [{resolve}], fields = {{ {resolve_fields} }} }}
reopen = {{ transitions = ["To Do", "Reopen Issue"] }}
"""
SNOW_TARGET = """
[targets.snow]
kind = "servicenow"
base_url = "{url}"

[targets.snow.servicenow]
assignment_group = "Service Desk"
caller_id = "bigpanda.integration"
category = "software"
close_code = "{close_code}"
"""


@dataclass(frozen=True)
class Check:
    code: int
    out: str

    @property
    def failures(self) -> list[str]:
        return [line for line in self.out.splitlines() if line.startswith("✘")]


CheckRun = Callable[..., Check]


@pytest.fixture
def check(tmp_path: Path) -> CheckRun:
    """Runs ``desk check`` on a configuration file's text, with the credentials in a file."""

    def run(config: str, credentials: dict[str, str], *flags: str) -> Check:
        config_file, secret_file = tmp_path / "pandabridge.toml", tmp_path / "credentials.json"
        config_file.write_text(config)
        secret_file.write_text(json.dumps(credentials))
        out, err = io.StringIO(), io.StringIO()
        argv = ["desk", "check", "--config", str(config_file)]
        code = main([*argv, "--credentials-file", str(secret_file), *flags], out=out, err=err)
        assert not err.getvalue()
        return Check(code, out.getvalue())

    return run


# --- Jira --------------------------------------------------------------------------------------


@pytest.fixture
def jira() -> Iterator[JiraFake]:
    fake = JiraFake().start()
    yield fake
    fake.stop()


def add_issue(jira: JiraFake, *, done: bool) -> str:
    """An issue in project OPS, moved to a done status if ``done`` (a transition that needs no
    screen field), as an agent would have it."""
    http = HttpClient(timeout_seconds=5)
    headers = {"Authorization": basic_auth(DEFAULT_EMAIL, DEFAULT_API_TOKEN)}
    api = f"{jira.url.rstrip('/')}/rest/api/3/issue"
    fields = {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "Disk full"}
    key = http.request("POST", api, json_body={"fields": fields}, headers=headers).data["key"]
    if done:
        listed = http.request("GET", f"{api}/{key}/transitions", headers=headers).data
        closing = next(
            t
            for t in listed["transitions"]
            if t["to"]["statusCategory"]["key"] == "done" and not t["hasScreen"]
        )
        body = {"transition": {"id": closing["id"]}}
        http.request("POST", f"{api}/{key}/transitions", json_body=body, headers=headers)
    return str(key)


def jira_config(jira: JiraFake, resolve: str = '"Done"', resolve_fields: str = "") -> str:
    return JIRA_TARGET.format(url=jira.url, resolve=resolve, resolve_fields=resolve_fields)


@pytest.fixture
def worked_on(jira: JiraFake) -> JiraFake:
    """Project OPS with an open and a done issue, from which the workflow can be read."""
    add_issue(jira, done=False)
    add_issue(jira, done=True)
    return jira


def test_a_correct_jira_set_up_passes_every_check(worked_on: JiraFake, check: CheckRun) -> None:
    # Given a project as the configuration describes it, with issues to read its workflow from
    # When the preflight runs
    result = check(jira_config(worked_on), JIRA_CREDENTIALS)
    # Then every check passes, the transitions included, and the exit status is 0
    assert (result.code, result.failures) == (0, []), result.out
    assert "⚠" not in result.out
    assert "✔ resolve: transition 'Done'" in result.out
    assert "✔ reopen: transition 'To Do'" in result.out


def test_a_priority_missing_from_a_custom_scheme_names_its_key_and_the_schemes_names(
    worked_on: JiraFake, check: CheckRun
) -> None:
    # Given a project on a custom priority scheme, and the default priority map
    worked_on.configure_project(priorities="custom")
    # When the preflight runs
    result = check(jira_config(worked_on), JIRA_CREDENTIALS)
    # Then each level fails naming its key path, with the scheme's own names to choose from
    assert result.code == 1
    assert "✘ priority P2 = 'High' is not in project OPS's priority scheme" in result.out
    assert (
        "fix: set targets.ops-jira.fields.priority_map.P2 to one of: P1 - Critical, "
        "P2 - High, P3 - Medium, P4 - Low, P5 - Informational"
    ) in result.out


def test_a_missing_project_names_the_setting_and_stops(
    worked_on: JiraFake, check: CheckRun
) -> None:
    # Given a project key the site does not have (here from the flag that overrides the file)
    # When the preflight runs
    result = check(jira_config(worked_on), JIRA_CREDENTIALS, "--jira-project", "NOPE")
    # Then the project check fails naming its key path, and nothing that needs it runs
    assert result.failures == ["✘ project NOPE not found (or the API user may not browse it)"]
    assert "fix: set targets.ops-jira.jira.project" in result.out
    assert "permission" not in result.out


def test_a_classic_workflow_with_done_configured_names_the_available_transitions(
    jira: JiraFake, check: CheckRun
) -> None:
    # Given a classic-workflow project (no "Done") with an open and a closed issue
    jira.configure_project(workflow="classic")
    add_issue(jira, done=False)
    add_issue(jira, done=True)
    # When the preflight runs with resolve configured as "Done"
    result = check(jira_config(jira), JIRA_CREDENTIALS)
    # Then resolve fails, listing the transitions the workflow offers
    assert result.code == 1
    assert result.failures == ["✘ resolve: no transition matches 'Done' from OPS-1 (Open)"]
    assert (
        "fix: set targets.ops-jira.workflow.resolve.transitions to include one of: "
        "Start Progress, Resolve Issue, Close Issue"
    ) in result.out


def test_a_transition_screen_field_that_is_not_configured_is_named(
    jira: JiraFake, check: CheckRun
) -> None:
    # Given a classic workflow whose "Resolve Issue" screen requires a resolution
    jira.configure_project(workflow="classic")
    add_issue(jira, done=False)
    add_issue(jira, done=True)
    # When resolve is configured as "Resolve Issue" without fields
    result = check(jira_config(jira, resolve='"Resolve Issue"'), JIRA_CREDENTIALS)
    # Then the check names the field to configure
    assert result.failures == ["✘ resolve: transition 'Resolve Issue' requires resolution"]
    assert "fix: set targets.ops-jira.workflow.resolve.fields.resolution" in result.out


def test_a_configured_transition_screen_field_passes(jira: JiraFake, check: CheckRun) -> None:
    # Given the same classic workflow
    jira.configure_project(workflow="classic")
    add_issue(jira, done=False)
    add_issue(jira, done=True)
    # When resolve is configured with the resolution its screen requires
    config = jira_config(jira, '"Resolve Issue"', 'resolution = { name = "Done" }')
    result = check(config, JIRA_CREDENTIALS)
    # Then every check passes
    assert (result.code, result.failures) == (0, []), result.out


def test_a_missing_permission_is_named_for_the_desk_admin(
    worked_on: JiraFake, check: CheckRun
) -> None:
    # Given an API user who may not assign issues in the project
    worked_on.configure_project(denied_permissions=["ASSIGN_ISSUES"])
    # When the preflight runs
    result = check(jira_config(worked_on), JIRA_CREDENTIALS)
    # Then that permission, and only it, fails, saying what the admin must grant
    assert result.failures == ["✘ permission Assign Issues (ASSIGN_ISSUES) missing in project OPS"]
    assert "grant the API user Assign Issues (ASSIGN_ISSUES)" in result.out


def test_a_required_create_field_we_do_not_send_is_named(
    worked_on: JiraFake, check: CheckRun
) -> None:
    # Given a create screen that requires a custom field the configuration does not set
    worked_on.configure_project(required_fields={"customfield_10050": "customfield_10050"})
    # When the preflight runs
    result = check(jira_config(worked_on), JIRA_CREDENTIALS)
    # Then the field is named, with where to configure it
    assert result.failures == [
        "✘ the create screen requires fields we do not send: customfield_10050"
    ]
    assert "targets.ops-jira.jira.custom_fields" in result.out


def test_transitions_of_a_project_without_issues_are_reported_as_not_verified(
    jira: JiraFake, check: CheckRun
) -> None:
    # Given a project without any issue (and no probe issue may be created on a live desk)
    # When the preflight runs
    result = check(jira_config(jira), JIRA_CREDENTIALS)
    # Then the transitions are marked not verified, nothing failed, and no issue was created
    assert "⚠ resolve transition cannot be verified without an issue" in result.out
    assert (result.code, result.failures) == (0, [])
    assert jira.issues() == []


def test_bad_jira_credentials_fail_once_and_nothing_else_is_attempted(
    worked_on: JiraFake, check: CheckRun
) -> None:
    # Given a wrong API token
    before = len(worked_on.requests)
    wrong = {**JIRA_CREDENTIALS, "api_token": "not-the-token-0123"}
    # When the preflight runs
    result = check(jira_config(worked_on), wrong)
    # Then the credentials check fails, alone, after one request, and the token is not shown
    assert result.code == 1
    assert len(result.failures) == 1
    assert result.failures[0].startswith("✘ credentials refused: GET ")
    assert [r.path for r in worked_on.requests[before:]] == ["/rest/api/3/myself"]
    assert "not-the-token-0123" not in result.out


# --- ServiceNow --------------------------------------------------------------------------------


@pytest.fixture
def snow() -> Iterator[ServiceNowFake]:
    """An instance with the group and the active caller the configuration names."""
    fake = ServiceNowFake(username=SNOW_USER, password=SNOW_PASSWORD).start()
    fake.tables.add_group("Service Desk")
    fake.tables.add_user("bigpanda.integration", "bigpanda@example.com", name="BigPanda")
    yield fake
    fake.stop()


def snow_config(snow: ServiceNowFake, close_code: str = "Solution provided") -> str:
    return SNOW_TARGET.format(url=snow.url, close_code=close_code)


def test_a_correct_servicenow_set_up_passes_every_check(
    snow: ServiceNowFake, check: CheckRun
) -> None:
    # Given an instance with the configured group, caller, category and close code
    # When the preflight runs
    result = check(snow_config(snow), SNOW_CREDENTIALS)
    # Then every check passes
    assert (result.code, result.failures) == (0, []), result.out
    assert "✔ caller 'bigpanda.integration' (active)" in result.out
    assert "✔ assignment group 'Service Desk'" in result.out


def test_a_close_code_outside_the_choices_names_the_setting(
    snow: ServiceNowFake, check: CheckRun
) -> None:
    # Given a close code that current releases no longer offer
    # When the preflight runs
    result = check(snow_config(snow, "Solved (Permanently)"), SNOW_CREDENTIALS)
    # Then it fails naming the key path and the instance's codes
    assert result.failures == ["✘ close_code 'Solved (Permanently)' not among the choices"]
    assert "fix: set targets.snow.servicenow.close_code to one of: Duplicate," in result.out


def test_an_inactive_caller_fails(snow: ServiceNowFake, check: CheckRun) -> None:
    # Given a caller whose account was deactivated (the only one of that name)
    inactive = snow.tables.find_by_display("sys_user", "BigPanda")
    assert inactive is not None
    snow.tables.update("sys_user", inactive, {"active": "false"}, "admin")
    # When the preflight runs
    result = check(snow_config(snow), SNOW_CREDENTIALS)
    # Then the caller check fails, naming the setting
    assert result.failures == ["✘ caller 'bigpanda.integration' is inactive"]
    assert "targets.snow.servicenow.caller_id" in result.out


def test_bad_servicenow_credentials_fail_once_and_nothing_else_is_attempted(
    snow: ServiceNowFake, check: CheckRun
) -> None:
    # Given a wrong password
    wrong = {**SNOW_CREDENTIALS, "password": "not-the-password"}
    # When the preflight runs
    result = check(snow_config(snow), wrong)
    # Then one failure, after one request, and the password is not shown
    assert result.code == 1
    assert len(result.failures) == 1
    assert "credentials refused" in result.failures[0]
    assert len(snow.requests) == 1
    assert "not-the-password" not in result.out


# --- http --------------------------------------------------------------------------------------


@pytest.fixture
def desk() -> Iterator[DemoDesk]:
    running = DemoDesk(defaults.DESK_SECRET).start()
    yield running
    running.stop()


def http_config(desk: DemoDesk) -> str:
    return f'[targets.demo]\nkind = "http"\nbase_url = "{desk.url}"\n'


def test_the_http_contract_answers_the_signed_lookup(desk: DemoDesk, check: CheckRun) -> None:
    # Given the demo desk and its HMAC secret
    # When the preflight runs
    result = check(http_config(desk), {"hmac_secret": defaults.DESK_SECRET})
    # Then the signed lookup passes
    assert (result.code, result.failures) == (0, []), result.out
    assert "✔ signed contract lookup" in result.out


def test_a_wrong_hmac_secret_fails_naming_the_secret(desk: DemoDesk, check: CheckRun) -> None:
    # Given a secret the desk does not share
    # When the preflight runs
    result = check(http_config(desk), {"hmac_secret": "another-secret"})
    # Then the signature is refused, pointing at the credentials secret
    assert result.code == 1
    assert "✘ signature refused" in result.out
    assert "'hmac_secret' in the ticket credentials secret" in result.out


# --- where the credentials come from ------------------------------------------------------------


@pytest.fixture
def moto() -> Iterator[MotoServer]:
    server = MotoServer().start()
    yield server
    server.stop()


def test_local_reads_the_local_stacks_ticket_secret(
    desk: DemoDesk, moto: MotoServer, tmp_path: Path
) -> None:
    # Given the local stack's ticket secret holding the demo desk's credentials
    put_secret(moto.endpoint, defaults.TICKET_SECRET_NAME, {"hmac_secret": defaults.DESK_SECRET})
    (tmp_path / "none.toml").write_text("")
    out = io.StringIO()
    # When the preflight runs with --local (no credentials file)
    argv: list[str] = ["desk", "check", "--local", "--endpoint-url", moto.endpoint]
    code = main(
        [*argv, "--base-url", desk.url, "--config", str(tmp_path / "none.toml")],
        out=out,
        err=io.StringIO(),
    )
    # Then the desk is checked with the secret's credentials
    assert code == 0, out.getvalue()
    assert "✔ signed contract lookup" in out.getvalue()


def test_an_invalid_configuration_stops_the_preflight_naming_the_key_path(tmp_path: Path) -> None:
    # Given a configuration whose target has a kind that does not exist
    config = tmp_path / "pandabridge.toml"
    config.write_text('[targets.desk]\nkind = "email"\nbase_url = "https://desk.example.com"\n')
    credentials = tmp_path / "credentials.json"
    credentials.write_text('{"hmac_secret": "s"}')
    out, err = io.StringIO(), io.StringIO()
    # When the preflight runs on it
    argv = ["desk", "check", "--config", str(config), "--credentials-file", str(credentials)]
    code = main(argv, out=out, err=err)
    # Then it stops before calling the desk, naming the key path as the stack would
    assert code != 0
    assert "targets.desk.kind: Input should be 'http', 'jira' or 'servicenow'" in err.getvalue()


# --- several targets ------------------------------------------------------------------------------

SNOW_SECRET = "pandabridge/snow-desk"


@pytest.fixture
def several(desk: DemoDesk, snow: ServiceNowFake, moto: MotoServer, tmp_path: Path) -> Path:
    """A file with two targets: the demo desk (the stack's ticket secret, the file's default)
    and ServiceNow with a secret of its own; both secrets set on the moto server."""
    put_secret(moto.endpoint, defaults.TICKET_SECRET_NAME, {"hmac_secret": defaults.DESK_SECRET})
    put_secret(moto.endpoint, SNOW_SECRET, SNOW_CREDENTIALS)
    config = tmp_path / "pandabridge.toml"
    config.write_text(
        'target = "demo"\n'
        + http_config(desk)
        + snow_config(snow).replace(
            "[targets.snow]\n", f'[targets.snow]\nsecret = "{SNOW_SECRET}"\n'
        )
    )
    return config


SeveralRun = Callable[..., tuple[int, str, str]]


@pytest.fixture
def check_several(several: Path, moto: MotoServer) -> SeveralRun:
    """Runs ``desk check`` on the two-target file, its credentials read from the secrets."""

    def run(*flags: str) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        argv = ["desk", "check", "--config", str(several), "--local"]
        code = main([*argv, "--endpoint-url", moto.endpoint, *flags], out=out, err=err)
        return code, out.getvalue(), err.getvalue()

    return run


def test_every_target_of_a_file_with_several_is_checked_with_its_own_secret(
    check_several: SeveralRun,
) -> None:
    # Given two targets, each with working credentials in its own secret
    # When the preflight runs without --target
    code, out, err = check_several()
    # Then both targets are checked, each under its name, and both pass
    assert (code, err) == (0, ""), out
    assert "target demo (http at " in out
    assert "  ✔ signed contract lookup" in out
    assert "target snow (servicenow at " in out
    assert "  ✔ caller 'bigpanda.integration' (active)" in out
    assert out.endswith("2 targets; demo: passed; snow: passed\n")


def deactivate_caller(snow: ServiceNowFake, moto: MotoServer) -> None:
    inactive = snow.tables.find_by_display("sys_user", "BigPanda")
    assert inactive is not None
    snow.tables.update("sys_user", inactive, {"active": "false"}, "admin")


def break_own_secret(snow: ServiceNowFake, moto: MotoServer) -> None:
    put_secret(moto.endpoint, SNOW_SECRET, {**SNOW_CREDENTIALS, "password": "not-it"})


@pytest.mark.parametrize(
    ("fault", "named"),
    [
        (deactivate_caller, "targets.snow.servicenow.caller_id"),
        (break_own_secret, f"in the secret {SNOW_SECRET} (targets.snow.secret)"),
    ],
    ids=["inactive-caller", "wrong-own-secret"],
)
def test_a_failing_target_is_named_with_its_setting_while_the_others_pass(
    check_several: SeveralRun,
    snow: ServiceNowFake,
    moto: MotoServer,
    fault: Callable[[ServiceNowFake, MotoServer], None],
    named: str,
) -> None:
    # Given the ServiceNow target broken (its caller deactivated, or its own secret wrong)
    fault(snow, moto)
    # When the preflight runs
    code, out, _ = check_several()
    # Then only that target fails, naming the key path of its setting; the other passes
    assert code == 1
    assert named in out
    assert out.endswith("2 targets; demo: passed; snow: 1 failed\n")


def test_a_target_whose_secret_has_no_value_fails_alone(
    desk: DemoDesk, snow: ServiceNowFake, moto: MotoServer, tmp_path: Path
) -> None:
    # Given a second target naming a secret that was never set
    put_secret(moto.endpoint, defaults.TICKET_SECRET_NAME, {"hmac_secret": defaults.DESK_SECRET})
    config = tmp_path / "pandabridge.toml"
    config.write_text(
        'target = "demo"\n'
        + http_config(desk)
        + snow_config(snow).replace("[targets.snow]\n", '[targets.snow]\nsecret = "absent"\n')
    )
    out = io.StringIO()
    # When the preflight runs
    argv = ["desk", "check", "--config", str(config), "--local", "--endpoint-url", moto.endpoint]
    code = main(argv, out=out, err=io.StringIO())
    # Then that target fails naming its secret setting, and the other is still checked
    assert code == 1
    assert "fix: set the secret's value, or name another in targets.snow.secret" in out.getvalue()
    assert "  ✔ signed contract lookup" in out.getvalue()
    assert len(snow.requests) == 0


def test_the_target_flag_checks_only_the_named_target_with_its_secret(
    check_several: SeveralRun, snow: ServiceNowFake
) -> None:
    # Given the two-target file
    # When the preflight runs for the ServiceNow target alone
    code, out, err = check_several("--target", "snow")
    # Then only ServiceNow is checked, with its own secret, in the one-target report
    assert (code, err) == (0, ""), out
    assert "signed contract lookup" not in out
    assert out.startswith("✔ credentials work; table incident readable\n")
    assert out.endswith("all checks passed\n")


def test_a_one_target_flag_with_several_targets_asks_for_the_target(
    check_several: SeveralRun,
) -> None:
    # Given the two-target file
    # When the preflight is given a desk URL without naming a target
    code, out, err = check_several("--base-url", "https://desk.example.com")
    # Then it refuses, asking for --target and listing the targets
    assert (code, out) == (1, "")
    assert "--base-url describes one target: pass --target NAME" in err
    assert "(targets: demo, snow)" in err


def test_the_last_line_counts_each_targets_failures_and_unverified_checks() -> None:
    # Given one target with a failure and one with a check that could not be verified
    results = [
        TargetFindings("a", "jira at https://a", [failed("project", "set targets.a.jira")]),
        TargetFindings("b", "http at https://b", [Finding(Outcome.UNVERIFIED, "tag", "pass it")]),
    ]
    out = io.StringIO()
    # When they are reported
    code = report_targets(results, out)
    # Then the run fails, and the last line says what each target came to
    assert code == 1
    assert out.getvalue().endswith("2 targets; a: 1 failed; b: passed, 1 not verified\n")
