"""Where ``desk check`` gets its ``DeskSetup``: the configuration file, the flags, and the
ticket credentials secret.

``setup_from_args`` is the one function that builds it. The desk settings come from the
configuration file (``pandabridge.toml``, read with ``tomllib``, only the keys the preflight
checks), overridden by flags; the credentials from ``--credentials-file``, else the ticket
credentials secret: the local stack's (``--local``) or the deployed stack's (output
``TicketSecretName``, or ``--ticket-secret``). With ``--local`` the desk is the running local
stack's (its URL from the stack's health answer), the demo desk unless configured otherwise.
"""

from __future__ import annotations

import argparse
import json
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from botocore.exceptions import ClientError

from ops import discovery
from ops.desk_check import (
    CREDENTIALS,
    JIRA_CREATE_FIELDS,
    BigPandaAccess,
    DeskSetup,
    JiraExpectations,
    ServiceNowExpectations,
    TargetFindings,
    TransitionStep,
    failed,
)
from ops.errors import OpsError
from pandabridge.desk_config import DeskConfigurationError, parse_config
from pandabridge.names import BIGPANDA_API_BASE, DEFAULT_LINK_TAG

CONFIG_FILE: Final = discovery.CDK_JSON.parent / "pandabridge.toml"
KINDS: Final = ("http", "jira", "servicenow")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The flags that say which desk to check and how."""
    desk = parser.add_argument_group("which desk")
    desk.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help=f"the desk configuration file (default: {CONFIG_FILE.name} if it exists)",
    )
    desk.add_argument(
        "--target",
        metavar="NAME",
        help="check only [targets.NAME], at its own base_url (default: every target of the file)",
    )
    desk.add_argument("--kind", choices=KINDS, help="the desk's kind (overrides the file)")
    desk.add_argument("--base-url", metavar="URL", help="the desk's URL (overrides the file)")
    desk.add_argument("--jira-project", metavar="KEY", help="the Jira project (overrides the file)")
    desk.add_argument(
        "--credentials-file",
        type=Path,
        metavar="FILE",
        help="the credentials as the secret's JSON, instead of reading the secret",
    )
    bigpanda = parser.add_argument_group("BigPanda (two-way targets)")
    bigpanda.add_argument(
        "--bigpanda-key-file",
        type=Path,
        metavar="FILE",
        help="a file holding the BigPanda User API key, to check the link tag definition",
    )
    bigpanda.add_argument(
        "--bigpanda-api-base",
        metavar="URL",
        default=BIGPANDA_API_BASE,
        help=f"BigPanda's API (default {BIGPANDA_API_BASE}; EU: https://eu-api.bigpanda.io)",
    )


def setups_from_args(args: argparse.Namespace) -> list[DeskSetup | TargetFindings]:
    """The targets to check: the one ``--target`` names, else every target of the file, in
    its order; a file with one target (or none) is checked as ``setup_from_args`` says.

    Each target's credentials come from its own secret (``targets.<name>.secret``, else the
    stack's ticket secret); a secret that cannot be read fails that target alone."""
    path = _config_path(args)
    targets = _targets(path, args.target) if path else {}
    if len(targets) <= 1:
        return [setup_from_args(args)]
    flags = {
        "--kind": args.kind,
        "--base-url": args.base_url,
        "--jira-project": args.jira_project,
        "--credentials-file": args.credentials_file,
    }
    if given := [flag for flag, value in flags.items() if value]:
        raise OpsError(
            f"{', '.join(given)} describes one target: pass --target NAME as well "
            f"(targets: {', '.join(targets)})"
        )
    setups: list[DeskSetup | TargetFindings] = []
    for name, target in targets.items():
        kind = str(target.get("kind") or "http")
        try:
            credentials, source = _credentials_of(args, name, target)
        except (OpsError, ClientError) as error:
            fix = f"set the secret's value, or name another in targets.{name}.secret"
            what = f"credentials could not be read: {error}"
            desk = f"{kind} at {target.get('base_url')}"
            setups.append(TargetFindings(name, desk, [failed(what, fix)]))
            continue
        setups.append(_setup(args, name, target, str(target.get("base_url")), credentials, source))
    return setups


def setup_from_args(args: argparse.Namespace) -> DeskSetup:
    """The one desk to check, as the flags, the configuration file and the secret describe it."""
    path = _config_path(args)
    name, target = _target(path, args.target) if path else ("desk", {})
    # --local points the file's default target at the local stack's desk; a target named by
    # --target keeps its own URL.
    local = args.local and not args.target
    base_url = args.base_url or (_local_desk_url() if local else target.get("base_url"))
    if not base_url:
        raise OpsError(f"no desk URL: set targets.{name}.base_url in the file, or pass --base-url")
    credentials, source = _credentials_of(args, name, target)
    return _setup(args, name, target, str(base_url), credentials, source)


def _config_path(args: argparse.Namespace) -> Path | None:
    path = args.config or (_local_desk_config() if args.local else None)
    return path or (CONFIG_FILE if CONFIG_FILE.exists() else None)


def _setup(
    args: argparse.Namespace,
    name: str,
    target: Mapping[str, Any],
    base_url: str,
    credentials: Mapping[str, str],
    source: str,
) -> DeskSetup:
    kind = args.kind or target.get("kind") or "http"
    jira_table = dict(target.get("jira") or {})
    if args.jira_project:
        jira_table["project"] = args.jira_project
    return DeskSetup(
        kind=kind,
        base_url=base_url,
        credentials=credentials,
        timeout_seconds=float(target.get("timeout_seconds", 10)),
        name=name,
        jira=_jira(target, jira_table) if kind == "jira" else None,
        servicenow=_servicenow(target) if kind == "servicenow" else None,
        link_tag=_link_tag(target),
        bigpanda=_bigpanda(args),
        credentials_source=source,
    )


def _link_tag(target: Mapping[str, Any]) -> str | None:
    """The tag write-back writes the ticket link in, when the target is two-way with the
    link on."""
    two_way = target.get("two_way")
    if not isinstance(two_way, Mapping) or not two_way.get("link", True):
        return None
    return str(two_way.get("link_tag", DEFAULT_LINK_TAG))


def _bigpanda(args: argparse.Namespace) -> BigPandaAccess | None:
    if not args.bigpanda_key_file:
        return None
    try:
        key = args.bigpanda_key_file.read_text().strip()
    except OSError as error:
        raise OpsError(f"cannot read {args.bigpanda_key_file}: {error}") from None
    if not key:
        raise OpsError(f"{args.bigpanda_key_file} holds no BigPanda API key")
    return BigPandaAccess(api_base=args.bigpanda_api_base, api_key=key)


def _document(path: Path) -> dict[str, Any]:
    """The file's TOML, validated with the schema the stack and the functions use, so that
    all three agree (a file without targets is the flags' alone)."""
    try:
        document = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise OpsError(f"cannot read {path}: {error}") from None
    if document.get("targets"):
        try:
            parse_config(document, source=str(path))
        except DeskConfigurationError as error:
            raise OpsError(str(error)) from None
    return document


def _targets(path: Path, wanted: str | None) -> dict[str, Mapping[str, Any]]:
    """The targets to check: ``wanted`` alone, else all of the file's."""
    if wanted:
        name, target = _target(path, wanted)
        return {name: target}
    return dict(_document(path).get("targets") or {})


def _target(path: Path, wanted: str | None) -> tuple[str, Mapping[str, Any]]:
    document = _document(path)
    targets = document.get("targets") or {}
    if not targets and not wanted:
        return "desk", {}
    name = wanted or document.get("target") or (next(iter(targets)) if len(targets) == 1 else None)
    if name not in targets:
        names = ", ".join(targets) or "none"
        raise OpsError(f"{path}: no target {name!r} (targets: {names}); pass --target NAME")
    return str(name), targets[name]


def _jira(target: Mapping[str, Any], table: Mapping[str, Any]) -> JiraExpectations:
    fields = target.get("fields") or {}
    workflow = target.get("workflow") or {}
    sent = set(JIRA_CREATE_FIELDS) | set(table.get("custom_fields") or {})
    if table.get("components"):
        sent.add("components")
    defaults = JiraExpectations(project="")
    return JiraExpectations(
        project=str(table.get("project") or ""),
        issue_type=table.get("issue_type", defaults.issue_type),
        priority_map=fields.get("priority_map", defaults.priority_map),
        resolve=_step(workflow.get("resolve"), defaults.resolve),
        reopen=_step(workflow.get("reopen"), defaults.reopen),
        create_fields=frozenset(sent),
    )


def _step(table: Mapping[str, Any] | None, default: TransitionStep) -> TransitionStep:
    if not table:
        return default
    return TransitionStep(
        transitions=tuple(table.get("transitions", default.transitions)),
        category=table.get("category"),
        fields=dict(table.get("fields") or {}),
    )


def _servicenow(target: Mapping[str, Any]) -> ServiceNowExpectations:
    table = target.get("servicenow") or {}
    known = ServiceNowExpectations.__dataclass_fields__
    return ServiceNowExpectations(**{k: v for k, v in table.items() if k in known and v != ""})


def _credentials_of(
    args: argparse.Namespace, name: str, target: Mapping[str, Any]
) -> tuple[dict[str, str], str]:
    """A target's credentials, and where they came from as a fix names it: the file given,
    the secret the target names, or the stack's ticket secret."""
    if args.credentials_file:
        try:
            raw = args.credentials_file.read_text()
        except OSError as error:
            raise OpsError(f"cannot read {args.credentials_file}: {error}") from None
        return _object(raw, str(args.credentials_file)), CREDENTIALS
    own = target.get("secret")
    stack = discovery.resolve(args)
    secret = str(own) if own else stack.resources[discovery.Resource.TICKET_SECRET]
    source = f"the secret {secret} (targets.{name}.secret)" if own else CREDENTIALS
    try:
        raw = stack.aws.client("secretsmanager").get_secret_value(SecretId=secret)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":
            raise OpsError(
                f"the ticket credentials secret {secret} has no value: set it (README, Deploy, "
                "step 2), or pass --credentials-file"
            ) from None
        raise
    return _object(raw["SecretString"], f"the secret {secret}"), source


def _object(raw: str, where: str) -> dict[str, str]:
    try:
        document = json.loads(raw)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise OpsError(f'{where} is not a JSON object such as {{"email": ..., "api_token": ...}}')
    return {str(k): str(v) for k, v in document.items()}


def _local_desk_config() -> Path | None:
    """The configuration the running ``make run`` gave its ticket sync (its desk, its kind)."""
    from local import state

    try:
        recorded = state.read().desk_config
    except state.NoRunningStackError:
        return None  # _local_desk_url says what to do
    return Path(recorded) if recorded else None


def _local_desk_url() -> str:
    """The ticket target of the running ``make run``, as its gateway's health answer says."""
    from local import state
    from local.client import probe_stack

    try:
        webhook = urlsplit(state.read().webhook_url)
    except state.NoRunningStackError as error:
        raise OpsError(f"{error}, or pass --base-url") from None
    try:
        health = probe_stack(f"{webhook.scheme}://{webhook.netloc}") or {}
    except OSError as error:
        raise OpsError(f"the local stack does not answer ({error}): pass --base-url") from None
    url = health.get("ticket_url")
    if not url:
        raise OpsError("the local stack did not say where its desk is: pass --base-url")
    return str(url)
