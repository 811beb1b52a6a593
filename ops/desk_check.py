"""``pandabridge-ops desk check``: the desk preflight, run by an admin before going live.

It checks the desk configuration against the live desk, read-only, and prints one line per
check: ✔ passed, ✘ failed (with the fix: the configuration key to change, or what the desk's
admin must grant), ⚠ could not be verified. Exit status 0 only when no check failed.

- Jira: the credentials (``/myself``), the project, the issue type and the create fields it
  requires that we do not send (createmeta), each configured priority (the project's scheme,
  listed on ✘), the resolve and reopen transitions and their required fields (read from an
  existing issue of the project: a probe issue would be a stray ticket on a production desk),
  and the API user's project permissions.
- ServiceNow: the credentials and read access to the tables the adapter uses, the choice values
  we write (state, close_code, category), the assignment group and the caller (active).
- http: the contract's harmless signed lookup (``GET {base}/tickets?incident_id=...``).
- two-way with the ticket link on: BigPanda's incident tag definition named ``link_tag``
  exists and is active (with ``--bigpanda-key-file``; otherwise not verified).

When the credentials fail, nothing else is attempted: every later answer would be a 401.
Credentials are sent only as headers and removed from every message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final, TextIO

from pandabridge.errors import RetryableError
from pandabridge.http import (
    HttpClient,
    RejectedRequestError,
    basic_auth,
    bearer_auth,
    path_segment,
)
from pandabridge.tickets import generic, jira, servicenow

JIRA_PERMISSIONS: Final = {
    "BROWSE_PROJECTS": "Browse Projects",
    "CREATE_ISSUES": "Create Issues",
    "ADD_COMMENTS": "Add Comments",
    "TRANSITION_ISSUES": "Transition Issues",
    "ASSIGN_ISSUES": "Assign Issues",
}
# What the Jira adapter sends on every create; configured components and custom fields add to it.
JIRA_CREATE_FIELDS: Final = frozenset(
    {"project", "issuetype", "summary", "description", "priority", "labels"}
)
# The tables the ServiceNow adapter reads or writes, and the role that usually grants it.
SERVICENOW_TABLES: Final = ("sys_user", "sys_user_group", "sys_journal_field", "sys_choice")
# The incident states the ServiceNow adapter writes.
SERVICENOW_STATES: Final = (servicenow.STATE_IN_PROGRESS, servicenow.STATE_RESOLVED)
# A lookup the contract answers without side effects; no incident has this id.
HTTP_PROBE_ID: Final = "pandabridge-desk-check"
CREDENTIALS: Final = "the ticket credentials secret (output TicketSecretName)"
_SYS_ID = re.compile(r"^[0-9a-f]{32}$")
_TABLE_NAME = re.compile(r"^[a-z0-9_]+$")
# Characters that would change an encoded query instead of being part of a value.
_QUERY_UNSAFE = re.compile(r"[\^\r\n]|javascript:", re.IGNORECASE)
_PAGE: Final = 100


@dataclass(frozen=True)
class TransitionStep:
    """How resolve (or reopen) finds its transition: candidate names in order (a transition
    or its target status with that name), else any transition into ``category``; ``fields``
    are sent with it (e.g. ``{"resolution": {"name": "Done"}}``)."""

    transitions: tuple[str, ...]
    category: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class JiraExpectations:
    project: str
    issue_type: str | Mapping[str, str] = "Task"
    # P1..P5 to a priority name, or {"id": ...} / {"name": ...}.
    priority_map: Mapping[str, str | Mapping[str, str]] = field(
        default_factory=lambda: dict(jira.DEFAULT_PRIORITY_MAP)
    )
    # The adapter's own defaults, so that an unconfigured step is checked as it will run.
    resolve: TransitionStep = TransitionStep(
        jira.DEFAULT_RESOLVE_TRANSITIONS, jira.DONE_CATEGORY, jira.DEFAULT_RESOLVE_FIELDS
    )
    reopen: TransitionStep = TransitionStep(jira.DEFAULT_REOPEN_TRANSITIONS, jira.NEW_CATEGORY)
    # The create fields we send: JIRA_CREATE_FIELDS, plus components and custom fields if set.
    create_fields: frozenset[str] = JIRA_CREATE_FIELDS


@dataclass(frozen=True)
class ServiceNowExpectations:
    table: str = "incident"
    assignment_group: str | None = None  # sys_id or name
    caller_id: str | None = None  # sys_id, user_name or name
    category: str | None = None
    subcategory: str | None = None
    close_code: str = servicenow.CLOSE_CODE


@dataclass(frozen=True)
class BigPandaAccess:
    """BigPanda's API as the preflight reads it: the API base and a User API key."""

    api_base: str
    api_key: str = field(repr=False)


@dataclass(frozen=True)
class DeskSetup:
    """What the preflight checks: one target of the configuration, with its credentials.

    ``name`` is the target's name in the configuration file, so that each fix names its key
    path (``targets.<name>.jira.project``). ``credentials`` is the JSON object of the ticket
    credentials secret.
    """

    kind: str  # "http" | "jira" | "servicenow"
    base_url: str
    credentials: Mapping[str, str] = field(repr=False)
    timeout_seconds: float = 10.0
    name: str = "desk"
    jira: JiraExpectations | None = None
    servicenow: ServiceNowExpectations | None = None
    # Write-back's ticket-link tag (``two_way.link_tag``), when the link is written; and how
    # to read BigPanda's tag definitions, when given.
    link_tag: str | None = None
    bigpanda: BigPandaAccess | None = None
    # Where ``credentials`` came from, as a fix names it: the stack's secret, or the secret
    # the target names (``targets.<name>.secret``).
    credentials_source: str = CREDENTIALS

    def key(self, path: str) -> str:
        """The configuration key path of one of this target's settings."""
        return f"targets.{self.name}.{path}"


class Outcome(Enum):
    PASSED = "✔"
    FAILED = "✘"
    UNVERIFIED = "⚠"


@dataclass(frozen=True)
class Finding:
    """One check's result; ``fix`` says what to change when it did not pass."""

    outcome: Outcome
    what: str
    fix: str = ""


def passed(what: str) -> Finding:
    return Finding(Outcome.PASSED, what)


def failed(what: str, fix: str) -> Finding:
    return Finding(Outcome.FAILED, what, fix)


class _StopChecksError(Exception):
    """A call that every later check would fail the same way: stop here."""


DeskError = (RejectedRequestError, RetryableError)


class _Desk:
    """GETs against the desk, authenticated, with the credentials redacted from messages."""

    def __init__(
        self, setup: DeskSetup, http: HttpClient, headers: Callable[[], dict[str, str]]
    ) -> None:
        self._base = setup.base_url.rstrip("/")
        self._http = http.redacting(*(v for v in setup.credentials.values() if isinstance(v, str)))
        self._headers = headers

    def get(self, path: str, query: Mapping[str, str] | None = None) -> Any:
        return self._http.request("GET", self._base + path, query=query, headers=self._headers())


def run(setup: DeskSetup, http: HttpClient | None = None) -> list[Finding]:
    """Every check of ``setup``'s desk, in order; stops after a failure later checks need."""
    client = http or HttpClient(timeout_seconds=setup.timeout_seconds)
    checks = {"jira": _jira, "servicenow": _servicenow, "http": _generic}
    check = checks.get(setup.kind)
    if check is None:
        return [
            failed(
                f"unknown kind {setup.kind!r}",
                f"set {setup.key('kind')} to one of " + ", ".join(sorted(checks)),
            )
        ]
    return [*check(setup, client), *_link_tag(setup, client)]


TAG_DEFINITIONS_PATH: Final = "/resources/v2.0/incidents/tags/definitions"


def _link_tag(setup: DeskSetup, http: HttpClient) -> Iterator[Finding]:
    """The ticket link needs BigPanda's incident tag definition named ``link_tag``: without
    it, BigPanda refuses the tag value and the link step waits for an operator."""
    if setup.link_tag is None:
        return
    what = f"BigPanda incident tag definition {setup.link_tag!r}"
    setting = setup.key("two_way.link_tag")
    if setup.bigpanda is None:
        yield Finding(
            Outcome.UNVERIFIED,
            what,
            "pass --bigpanda-key-file (a file holding the BigPanda User API key) to check it",
        )
        return
    access = setup.bigpanda
    client = http.redacting(access.api_key)
    try:
        answer = client.request(
            "GET",
            access.api_base.rstrip("/") + TAG_DEFINITIONS_PATH,
            headers={"Authorization": bearer_auth(access.api_key)},
        )
    except DeskError as error:
        yield failed(f"{what}: BigPanda refused the listing ({error})", "check the API key")
        return
    # A bare array, as BigPanda documents it; an object with "items" is read too.
    listed = answer.data if isinstance(answer.data, list) else _listing(answer.data, "items")
    definitions = [d for d in listed if isinstance(d, dict) and d.get("name") == setup.link_tag]
    if not definitions:
        yield failed(
            f"{what}: not defined",
            f"create it in BigPanda (POST {TAG_DEFINITIONS_PATH}, type Text) or set {setting} "
            "to an existing one",
        )
    elif definitions[0].get("active") is False:
        yield failed(f"{what}: inactive", f"activate it in BigPanda, or change {setting}")
    else:
        yield passed(what)


def report(findings: Sequence[Finding], out: TextIO) -> int:
    """Print the findings; 0 when none failed, 1 otherwise."""
    for finding in findings:
        out.write(f"{finding.outcome.value} {finding.what}\n")
        if finding.fix:
            out.write(f"    fix: {finding.fix}\n")
    failures = sum(f.outcome is Outcome.FAILED for f in findings)
    unverified = sum(f.outcome is Outcome.UNVERIFIED for f in findings)
    verdict = f"{failures} failed" if failures else "all checks passed"
    out.write(f"{verdict}" + (f", {unverified} not verified" if unverified else "") + "\n")
    return 1 if failures else 0


@dataclass(frozen=True)
class TargetFindings:
    """One target's findings, when a file with several targets is checked."""

    name: str
    desk: str  # "jira at https://..." (or why it was not reached)
    findings: Sequence[Finding]

    @property
    def failures(self) -> int:
        return sum(f.outcome is Outcome.FAILED for f in self.findings)


def run_targets(
    setups: Sequence[DeskSetup | TargetFindings], http: HttpClient | None = None
) -> list[TargetFindings]:
    """Every target's checks, in the file's order; a target already judged (its credentials
    could not be read) keeps its findings and the others are checked all the same."""
    return [
        setup
        if isinstance(setup, TargetFindings)
        else TargetFindings(setup.name, f"{setup.kind} at {setup.base_url}", run(setup, http))
        for setup in setups
    ]


def report_targets(results: Sequence[TargetFindings], out: TextIO) -> int:
    """Each target's findings under its name, then one line per target; 0 when none failed."""
    for result in results:
        out.write(f"target {result.name} ({result.desk})\n")
        for finding in result.findings:
            out.write(f"  {finding.outcome.value} {finding.what}\n")
            if finding.fix:
                out.write(f"      fix: {finding.fix}\n")
    verdicts = [_target_verdict(r) for r in results]
    out.write(f"{len(results)} targets; " + "; ".join(verdicts) + "\n")
    return 1 if any(r.failures for r in results) else 0


def _target_verdict(result: TargetFindings) -> str:
    unverified = sum(f.outcome is Outcome.UNVERIFIED for f in result.findings)
    verdict = f"{result.failures} failed" if result.failures else "passed"
    return f"{result.name}: {verdict}" + (f", {unverified} not verified" if unverified else "")


def _missing_keys(setup: DeskSetup, *keys: str) -> Finding | None:
    missing = [k for k in keys if not str(setup.credentials.get(k) or "").strip()]
    if not missing:
        return None
    names = ", ".join(f"'{k}'" for k in missing)
    return failed(
        f"credentials: the secret lacks {names}", f"add {names} to {setup.credentials_source}"
    )


def _reach(
    desk: _Desk,
    setup: DeskSetup,
    path: str,
    what: str,
    credentials: str,
    *,
    forbidden: str | None = None,
) -> Any:
    """The first call: its data, or ``_StopChecksError`` carrying the finding that says why.
    ``forbidden`` is the fix for a 403 that means an access rule rather than the credentials."""
    try:
        return desk.get(path, {"sysparm_limit": "1"} if setup.kind == "servicenow" else None).data
    except RejectedRequestError as error:
        if error.status == 403 and forbidden:
            raise _StopChecksError(failed(f"{what} refused: {error}", forbidden)) from None
        if error.status in (401, 403):
            fix = f"put working {credentials} in {setup.credentials_source}"
            raise _StopChecksError(failed(f"credentials refused: {error}", fix)) from None
        fix = f"check {setup.key('base_url')} ({setup.base_url})"
        raise _StopChecksError(failed(f"{what}: {error}", fix)) from None
    except RetryableError as error:
        fix = f"check {setup.key('base_url')} ({setup.base_url}) and the network to it"
        raise _StopChecksError(failed(f"desk not reachable: {error}", fix)) from None


# --- Jira ------------------------------------------------------------------------------------


def _jira(setup: DeskSetup, http: HttpClient) -> Iterator[Finding]:
    missing = _missing_keys(setup, *jira.CREDENTIAL_KEYS)
    if missing:
        yield missing
        return
    expected = setup.jira or JiraExpectations(project="")
    if not expected.project:
        yield failed("no Jira project is configured", f"set {setup.key('jira.project')}")
        return
    auth = basic_auth(setup.credentials["email"], setup.credentials["api_token"])
    desk = _Desk(setup, http, lambda: {"Authorization": auth})
    try:
        me = _reach(desk, setup, f"{jira.API}/myself", "Jira", "'email' and 'api_token'")
    except _StopChecksError as stop:
        yield stop.args[0]
        return
    who = me.get("displayName") or me.get("accountId") if isinstance(me, dict) else None
    yield passed(f"credentials work (as {who or 'the API user'})")
    setting = setup.key("jira.project")
    try:
        project = desk.get(f"{jira.API}/project/{path_segment(expected.project)}").data
    except DeskError as error:
        absent = isinstance(error, RejectedRequestError) and error.status == 404
        yield failed(
            f"project {expected.project} not found (or the API user may not browse it)"
            if absent
            else f"project {expected.project} could not be read: {error}",
            f"set {setting} to the project's key, or have the Jira admin grant the API user "
            "Browse Projects in it",
        )
        return
    project = project if isinstance(project, dict) else {}
    yield passed(f"project {project.get('key', expected.project)} ({project.get('name', '')})")
    yield from _jira_permissions(desk, expected)
    yield from _jira_issue_type(desk, setup, expected)
    yield from _jira_priorities(desk, setup, expected, str(project.get("id", "")))
    yield from _jira_workflow(desk, setup, expected)


def _jira_permissions(desk: _Desk, expected: JiraExpectations) -> Iterator[Finding]:
    query = {"projectKey": expected.project, "permissions": ",".join(JIRA_PERMISSIONS)}
    try:
        held = desk.get(f"{jira.API}/mypermissions", query).data.get("permissions", {})
    except DeskError as error:
        yield failed(f"permissions could not be read: {error}", "see the desk's answer")
        return
    for key, name in JIRA_PERMISSIONS.items():
        if (held.get(key) or {}).get("havePermission"):
            yield passed(f"permission {name} ({key})")
        else:
            yield failed(
                f"permission {name} ({key}) missing in project {expected.project}",
                f"the Jira admin must grant the API user {name} ({key}) in the permission "
                f"scheme of project {expected.project}",
            )


def _matches(reference: str | Mapping[str, str], item: Mapping[str, Any]) -> bool:
    """Whether a configured name (or ``{"id"}``/``{"name"}``) is ``item``, exactly as the
    desk compares it on a create."""
    if isinstance(reference, str):
        return item.get("name") == reference
    return any(str(item.get(k)) == str(v) for k, v in reference.items() if k in ("id", "name"))


def _shown(reference: str | Mapping[str, str]) -> str:
    if isinstance(reference, str):
        return repr(reference)
    if set(reference) == {"name"}:  # a priority by name reads as the name alone
        return repr(reference["name"])
    return ", ".join(f"{k} {v!r}" for k, v in reference.items())


def _listing(data: Any, *keys: str) -> list[dict[str, Any]]:
    """A page's items, whichever of Jira's list keys the endpoint uses."""
    if isinstance(data, dict):
        for key in keys:
            if isinstance(data.get(key), list):
                return [item for item in data[key] if isinstance(item, dict)]
    return []


def _jira_issue_type(
    desk: _Desk, setup: DeskSetup, expected: JiraExpectations
) -> Iterator[Finding]:
    base = f"{jira.API}/issue/createmeta/{path_segment(expected.project)}/issuetypes"
    setting = setup.key("jira.issue_type")
    try:
        types = _listing(desk.get(base).data, "issueTypes", "values")
    except DeskError as error:
        yield failed(f"issue types could not be read: {error}", f"check {setting}")
        return
    issue_type = next((t for t in types if _matches(expected.issue_type, t)), None)
    if issue_type is None:
        names = ", ".join(str(t.get("name")) for t in types) or "none"
        yield failed(
            f"issue type {_shown(expected.issue_type)} not in project {expected.project}",
            f"set {setting} to one of: {names}",
        )
        return
    yield passed(f"issue type {issue_type.get('name')}")
    try:
        data = desk.get(f"{base}/{path_segment(str(issue_type.get('id')))}").data
    except DeskError as error:
        yield failed(f"create fields could not be read: {error}", f"check {setting}")
        return
    unsent = [
        _field_name(f)
        for f in _listing(data, "fields", "values")
        if f.get("required")
        and not f.get("hasDefaultValue")
        and (f.get("fieldId") or f.get("key")) not in expected.create_fields
    ]
    if unsent:
        yield failed(
            f"the create screen requires fields we do not send: {', '.join(unsent)}",
            f"set them in {setup.key('jira.custom_fields')} (or {setup.key('jira.components')}"
            "), or have the Jira admin make them optional",
        )
    else:
        yield passed("every required create field is sent")


def _field_name(meta: Mapping[str, Any]) -> str:
    """A field's id, with its name when that says more ("customfield_10050 (Team)")."""
    field_id = str(meta.get("fieldId") or meta.get("key"))
    name = meta.get("name")
    return f"{field_id} ({name})" if name and name != field_id else field_id


def _jira_priorities(
    desk: _Desk, setup: DeskSetup, expected: JiraExpectations, project_id: str
) -> Iterator[Finding]:
    priorities: list[dict[str, Any]] = []
    try:
        start = 0
        while True:
            query = {"projectId": project_id, "startAt": str(start), "maxResults": str(_PAGE)}
            data = desk.get(f"{jira.API}/priority/search", query).data
            page = _listing(data, "values")
            priorities += page
            if not page or data.get("isLast", True):
                break
            start += len(page)
    except DeskError as error:
        yield failed(f"priorities could not be read: {error}", "see the desk's answer")
        return
    names = ", ".join(str(p.get("name")) for p in priorities)
    missing = False
    for level, reference in sorted(expected.priority_map.items()):
        if not any(_matches(reference, p) for p in priorities):
            missing = True
            yield failed(
                f"priority {level} = {_shown(reference)} is not in project "
                f"{expected.project}'s priority scheme",
                f"set {setup.key(f'fields.priority_map.{level}')} to one of: {names}",
            )
    if not missing:
        yield passed(f"priorities {', '.join(sorted(expected.priority_map))} exist")


def _jira_workflow(desk: _Desk, setup: DeskSetup, expected: JiraExpectations) -> Iterator[Finding]:
    # Resolve leaves a status that is not done; reopen leaves a done one.
    for step, side in (("resolve", "!="), ("reopen", "=")):
        wanted: TransitionStep = getattr(expected, step)
        setting = setup.key(f"workflow.{step}")
        jql = (
            f"project = {jira.jql_string(expected.project)} AND statusCategory {side} Done "
            "ORDER BY created DESC"
        )
        try:
            found = _listing(
                desk.get(
                    f"{jira.API}/search/jql", {"jql": jql, "maxResults": "1", "fields": "status"}
                ).data,
                "issues",
            )
            if not found:
                status = "done" if side == "=" else "not done"
                yield Finding(
                    Outcome.UNVERIFIED,
                    f"{step} transition cannot be verified without an issue "
                    f"(no {status} issue in project {expected.project})",
                    f"run the check again once the project has such an issue, or check "
                    f"{setting} against the project's workflow by hand",
                )
                continue
            key = str(found[0].get("key") or found[0].get("id"))
            status = ((found[0].get("fields") or {}).get("status") or {}).get("name")
            key += f" ({status})" if status else ""
            answer = desk.get(
                f"{jira.API}/issue/{path_segment(str(found[0].get('id') or key))}/transitions",
                {"expand": "transitions.fields"},
            ).data
        except DeskError as error:
            yield failed(f"{step} transitions could not be read: {error}", f"check {setting}")
            continue
        yield from _transition(setup, step, wanted, _listing(answer, "transitions"), key)


def _transition(
    setup: DeskSetup,
    step: str,
    wanted: TransitionStep,
    available: list[dict[str, Any]],
    issue: str,
) -> Iterator[Finding]:
    def target(t: dict[str, Any]) -> dict[str, Any]:
        return t.get("to") if isinstance(t.get("to"), dict) else {}

    chosen = next(
        (
            t
            for name in wanted.transitions
            for t in available
            if name.casefold()
            in (str(t.get("name", "")).casefold(), str(target(t).get("name", "")).casefold())
        ),
        None,
    )
    if chosen is None and wanted.category:
        chosen = next(
            (
                t
                for t in available
                if (target(t).get("statusCategory") or {}).get("key") == wanted.category
            ),
            None,
        )
    if chosen is None:
        names = ", ".join(str(t.get("name")) for t in available) or "none"
        how = " or ".join(
            filter(
                None,
                (
                    ", ".join(repr(n) for n in wanted.transitions),
                    f"category {wanted.category!r}" if wanted.category else "",
                ),
            )
        )
        yield failed(
            f"{step}: no transition matches {how or 'nothing configured'} from {issue}",
            f"set {setup.key(f'workflow.{step}.transitions')} to include one of: {names}",
        )
        return
    fields = chosen.get("fields") if isinstance(chosen.get("fields"), dict) else {}
    required = [
        name
        for name, meta in fields.items()
        if isinstance(meta, dict)
        and meta.get("required")
        and not meta.get("hasDefaultValue")
        and name not in wanted.fields
    ]
    if required:
        yield failed(
            f"{step}: transition {chosen.get('name')!r} requires {', '.join(required)}",
            " and ".join(f"set {setup.key(f'workflow.{step}.fields.{name}')}" for name in required),
        )
        return
    yield passed(f"{step}: transition {chosen.get('name')!r} (checked on {issue})")


# --- ServiceNow ------------------------------------------------------------------------------


def _servicenow(setup: DeskSetup, http: HttpClient) -> Iterator[Finding]:
    token = str(setup.credentials.get(servicenow.TOKEN_KEY) or "").strip()
    if token:
        header = bearer_auth(token)
    else:
        missing = _missing_keys(setup, *servicenow.BASIC_KEYS)
        if missing:
            alternative = f" (or '{servicenow.TOKEN_KEY}')"
            yield failed(
                missing.what + alternative, missing.fix.replace(" to ", alternative + " to ", 1)
            )
            return
        header = basic_auth(setup.credentials["username"], setup.credentials["password"])
    expected = setup.servicenow or ServiceNowExpectations()
    if not _TABLE_NAME.match(expected.table):
        yield failed(f"table {expected.table!r} is not a table name", "set a table name")
        return
    desk = _Desk(setup, http, lambda: {"Authorization": header})
    table = f"/api/now/table/{expected.table}"
    try:
        _reach(
            desk,
            setup,
            table,
            f"table {expected.table}",
            "'token' or 'username'/'password'",
            forbidden=f"the ServiceNow admin must let the API user read and write "
            f"{expected.table} (e.g. the itil role)",
        )
    except _StopChecksError as stop:
        yield stop.args[0]
        return
    yield passed(f"credentials work; table {expected.table} readable")
    readable = set()
    for name in SERVICENOW_TABLES:
        if _readable(desk, name):
            readable.add(name)
            yield passed(f"table {name} readable")
        else:
            yield failed(
                f"table {name} not readable",
                f"the ServiceNow admin must let the API user read {name} (e.g. the itil role)",
            )
    if "sys_choice" in readable:
        yield from _choices(desk, setup, expected)
    if "sys_user_group" in readable and expected.assignment_group:
        yield from _group(desk, setup, expected.assignment_group)
    if "sys_user" in readable and expected.caller_id:
        yield from _caller(desk, setup, expected.caller_id)


def _readable(desk: _Desk, name: str) -> bool:
    try:
        desk.get(f"/api/now/table/{name}", {"sysparm_limit": "1"})
    except DeskError:
        return False
    return True


def _records(desk: _Desk, table: str, query: str, fields: str) -> list[dict[str, Any]]:
    data = desk.get(
        f"/api/now/table/{table}",
        {"sysparm_query": query, "sysparm_fields": fields, "sysparm_limit": str(_PAGE)},
    ).data
    return _listing(data, "result")


def _choices(desk: _Desk, setup: DeskSetup, expected: ServiceNowExpectations) -> Iterator[Finding]:
    wanted: list[tuple[str, tuple[str, ...], str]] = [
        ("state", SERVICENOW_STATES, "the ServiceNow admin must restore these incident states"),
        ("close_code", (expected.close_code,), f"set {setup.key('servicenow.close_code')}"),
    ]
    if expected.category:
        wanted.append(("category", (expected.category,), f"set {setup.key('servicenow.category')}"))
    for element, values, fix in wanted:
        query = f"name={expected.table}^element={element}^inactive=false"
        try:
            rows = _records(desk, "sys_choice", query, "value,label")
        except DeskError as error:
            yield failed(f"{element} choices could not be read: {error}", fix)
            continue
        known = {str(r.get("value")) for r in rows}
        absent = [v for v in values if v not in known]
        if absent:
            listed = ", ".join(sorted(known)) or "none"
            yield failed(
                f"{element} {', '.join(repr(v) for v in absent)} not among the choices",
                f"{fix} to one of: {listed}",
            )
        else:
            yield passed(f"{element} {', '.join(repr(v) for v in values)} among the choices")


def _lookup(
    desk: _Desk, table: str, value: str, names: Sequence[str], fields: str
) -> dict[str, Any] | None:
    """The record ``value`` names: by sys_id, else by each of ``names`` in turn."""
    if _SYS_ID.match(value):
        try:
            record = desk.get(f"/api/now/table/{table}/{value}", {"sysparm_fields": fields}).data
        except RejectedRequestError as error:
            if error.status != 404:
                raise
        else:
            return record.get("result") if isinstance(record, dict) else None
    if _QUERY_UNSAFE.search(value):
        return None
    for name in names:
        rows = _records(desk, table, f"{name}={value}", fields)
        if rows:
            return rows[0]
    return None


def _group(desk: _Desk, setup: DeskSetup, group: str) -> Iterator[Finding]:
    setting = setup.key("servicenow.assignment_group")
    try:
        record = _lookup(desk, "sys_user_group", group, ("name",), "sys_id,name,active")
    except DeskError as error:
        yield failed(f"assignment group could not be read: {error}", f"check {setting}")
        return
    if record is None:
        yield failed(f"assignment group {group!r} not found", f"set {setting} (sys_id or name)")
    else:
        yield passed(f"assignment group {record.get('name') or group!r}")


def _caller(desk: _Desk, setup: DeskSetup, caller: str) -> Iterator[Finding]:
    setting = setup.key("servicenow.caller_id")
    try:
        record = _lookup(
            desk, "sys_user", caller, ("user_name", "name", "email"), "sys_id,user_name,active"
        )
    except DeskError as error:
        yield failed(f"caller could not be read: {error}", f"check {setting}")
        return
    if record is None:
        yield failed(f"caller {caller!r} not found", f"set {setting} (sys_id or user_name)")
    elif str(record.get("active")).lower() != "true":
        yield failed(
            f"caller {caller!r} is inactive",
            f"have the ServiceNow admin reactivate the account, or set {setting}",
        )
    else:
        yield passed(f"caller {record.get('user_name') or caller!r} (active)")


# --- http ------------------------------------------------------------------------------------


def _generic(setup: DeskSetup, http: HttpClient) -> Iterator[Finding]:
    missing = _missing_keys(setup, *generic.CREDENTIAL_KEYS)
    if missing:
        yield missing
        return
    secret = setup.credentials["hmac_secret"]
    signature = generic.sign(b"", secret)
    desk = _Desk(setup, http, lambda: {generic.SIGNATURE_HEADER: signature})
    try:
        data = desk.get("/tickets", {"incident_id": HTTP_PROBE_ID}).data
    except RejectedRequestError as error:
        if error.status in (401, 403):
            yield failed(
                f"signature refused: {error}",
                f"put the desk's 'hmac_secret' in {setup.credentials_source}",
            )
        else:
            yield failed(f"contract lookup refused: {error}", f"check {setup.key('base_url')}")
        return
    except RetryableError as error:
        yield failed(f"desk not reachable: {error}", f"check {setup.key('base_url')}")
        return
    if not isinstance(data, dict) or not isinstance(data.get("tickets"), list):
        yield failed(
            'GET /tickets did not answer {"tickets": [...]}',
            f"check that {setup.key('base_url')} is the contract's base URL",
        )
        return
    yield passed("signed contract lookup (GET /tickets) answered")
