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
    JIRA_CREATE_FIELDS,
    BigPandaAccess,
    DeskSetup,
    JiraExpectations,
    ServiceNowExpectations,
    TransitionStep,
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
    desk.add_argument("--target", metavar="NAME", help="the [targets.NAME] to check")
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


def setup_from_args(args: argparse.Namespace) -> DeskSetup:
    """The desk to check, as the flags, the configuration file and the secret describe it."""
    path = args.config or (_local_desk_config() if args.local else None)
    path = path or (CONFIG_FILE if CONFIG_FILE.exists() else None)
    name, target = _target(path, args.target) if path else ("desk", {})
    kind = args.kind or target.get("kind") or "http"
    base_url = args.base_url or (_local_desk_url() if args.local else target.get("base_url"))
    if not base_url:
        raise OpsError(f"no desk URL: set targets.{name}.base_url in the file, or pass --base-url")
    jira_table = dict(target.get("jira") or {})
    if args.jira_project:
        jira_table["project"] = args.jira_project
    return DeskSetup(
        kind=kind,
        base_url=str(base_url),
        credentials=_credentials(args),
        timeout_seconds=float(target.get("timeout_seconds", 10)),
        name=name,
        jira=_jira(target, jira_table) if kind == "jira" else None,
        servicenow=_servicenow(target) if kind == "servicenow" else None,
        link_tag=_link_tag(target),
        bigpanda=_bigpanda(args),
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


def _target(path: Path, wanted: str | None) -> tuple[str, Mapping[str, Any]]:
    try:
        document = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise OpsError(f"cannot read {path}: {error}") from None
    targets = document.get("targets") or {}
    if not targets and not wanted:
        return "desk", {}
    try:  # the schema the stack and the function validate with, so all three agree
        parse_config(document, source=str(path))
    except DeskConfigurationError as error:
        raise OpsError(str(error)) from None
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


def _credentials(args: argparse.Namespace) -> dict[str, str]:
    if args.credentials_file:
        try:
            raw = args.credentials_file.read_text()
        except OSError as error:
            raise OpsError(f"cannot read {args.credentials_file}: {error}") from None
        return _object(raw, str(args.credentials_file))
    target = discovery.resolve(args)
    name = target.resources[discovery.Resource.TICKET_SECRET]
    try:
        raw = target.aws.client("secretsmanager").get_secret_value(SecretId=name)["SecretString"]
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code == "ResourceNotFoundException":
            raise OpsError(
                f"the ticket credentials secret {name} has no value: set it (README, Deploy, "
                "step 2), or pass --credentials-file"
            ) from None
        raise
    return _object(raw, f"the secret {name}")


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
