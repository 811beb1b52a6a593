"""The ticket target that the settings ask for, wired to its credentials and its configuration.

The credentials are the JSON object of the secret named by ``TICKET_SECRET_ID``; the keys each
target reads are in its module docstring (and its ``CREDENTIAL_KEYS``). A missing key is a
``PermanentError`` naming the secret and the key, never a value.

The desk configuration's target section (``pandabridge.desk_config.TargetConfig``) becomes the
adapter's keyword arguments, one function per kind (``jira_options``, ``servicenow_options``):
each names the adapter keyword of every configured key. An option left unset is not passed, so
the adapter keeps its own default.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pandabridge.desk_config import DeskConfig, TargetConfig, TransitionConfig, single_target
from pandabridge.errors import PermanentError
from pandabridge.http import HttpClient
from pandabridge.names import Env
from pandabridge.settings import TicketTargetSettings
from pandabridge.tickets import generic, jira, servicenow
from pandabridge.tickets.model import TicketTarget


def build_target(
    settings: TicketTargetSettings,
    credentials: Mapping[str, str],
    http: HttpClient | None = None,
    *,
    desk: DeskConfig | None = None,
) -> TicketTarget:
    """The adapter for ``settings.target``, configured by ``desk``'s chosen target (every key
    at its default when none). ``http`` defaults to a client on the shared pool with the
    settings' timeout."""
    client = http or HttpClient(timeout_seconds=settings.timeout_seconds)
    desk = desk or _default_config(settings)
    config = desk.selected
    if config.kind != settings.target:
        raise PermanentError(
            f"the desk configuration's target is a '{config.kind}' desk, the function's "
            f"{Env.TICKET_TARGET} is '{settings.target}'",
            setting=Env.DESK_CONFIG_FILE,
        )
    if settings.target == "jira":
        return _jira_target(settings, credentials, client, desk)
    if settings.target == "servicenow":
        return _servicenow_target(settings, credentials, client, desk)
    return _generic_target(settings, credentials, client, config)


def _jira_target(
    settings: TicketTargetSettings,
    credentials: Mapping[str, str],
    client: HttpClient,
    desk: DeskConfig,
) -> TicketTarget:
    email, api_token = _require(credentials, *jira.CREDENTIAL_KEYS)
    return jira.JiraTarget(
        settings.api_base,
        email=email,
        api_token=api_token,
        http=client,
        # The adapter names the settings to fix under this key path.
        config_path=desk.key(),
        **jira_options(desk.selected),
    )


def _servicenow_target(
    settings: TicketTargetSettings,
    credentials: Mapping[str, str],
    client: HttpClient,
    desk: DeskConfig,
) -> TicketTarget:
    # The adapter names the settings to fix under this key path.
    options = {"config_path": desk.key(), **servicenow_options(desk.selected)}
    if _present(credentials, servicenow.TOKEN_KEY):
        return servicenow.ServiceNowTarget(
            settings.api_base, token=credentials[servicenow.TOKEN_KEY], http=client, **options
        )
    username, password = _require(
        credentials, *servicenow.BASIC_KEYS, alternative=servicenow.TOKEN_KEY
    )
    return servicenow.ServiceNowTarget(
        settings.api_base, username=username, password=password, http=client, **options
    )


def _generic_target(
    settings: TicketTargetSettings,
    credentials: Mapping[str, str],
    client: HttpClient,
    config: TargetConfig,
) -> TicketTarget:
    (hmac_secret,) = _require(credentials, *generic.CREDENTIAL_KEYS)
    return generic.GenericTarget(
        settings.api_base,
        hmac_secret=hmac_secret,
        http=client,
        **http_options(config),
    )


_JIRA_DEFAULT_ISSUE_TYPE = "Task"


def jira_options(config: TargetConfig) -> dict[str, Any]:
    """The Jira adapter's keyword arguments from ``targets.<name>`` (its ``jira``,
    ``workflow`` and ``fields.priority_map``)."""
    section = config.jira
    if section is None:
        return {}
    options: dict[str, Any] = {"project_key": section.project}
    # The adapter takes an issue type's name, or its id (all digits).
    chosen = section.issue_type
    options["issue_type"] = (chosen.id or chosen.name) if chosen else _JIRA_DEFAULT_ISSUE_TYPE
    if config.fields.priority_map is not None:
        options["priority_map"] = {p: ref.plain() for p, ref in config.fields.priority_map.items()}
    if section.labels:
        options["labels"] = list(section.labels)
    if section.components:
        options["components"] = list(section.components)
    workflow = config.workflow
    for way in ("resolve", "reopen"):
        step: TransitionConfig | None = getattr(workflow, way) if workflow else None
        if step is not None:
            if step.transitions:
                options[f"{way}_transitions"] = list(step.transitions)
            if step.category is not None:
                options[f"{way}_category"] = step.category
            if step.fields:
                options[f"{way}_fields"] = dict(step.fields)
    return options


def servicenow_options(config: TargetConfig) -> dict[str, Any]:
    """The ServiceNow adapter's keyword arguments from ``targets.<name>.servicenow``."""
    section = config.servicenow
    if section is None:
        return {}
    # ``extra_fields`` travel with each draft, rendered per incident (``draft_mapping``).
    return section.model_dump(exclude_none=True, exclude={"extra_fields"})


def http_options(config: TargetConfig) -> dict[str, Any]:  # noqa: ARG001 - one signature per kind
    """The http adapter takes no configured options: its contract carries the draft as is."""
    return {}


def _default_config(settings: TicketTargetSettings) -> DeskConfig:
    """Every key at its default, for a function run without a configuration file."""
    if settings.target == "jira":
        raise PermanentError(
            "a Jira target needs the desk configuration file (targets.<name>.jira.project)",
            setting=Env.DESK_CONFIG_FILE,
        )
    return single_target(settings.target, settings.base_url)


def _present(credentials: Mapping[str, str], key: str) -> bool:
    value = credentials.get(key)
    return isinstance(value, str) and bool(value.strip())


def _require(
    credentials: Mapping[str, str], *keys: str, alternative: str | None = None
) -> tuple[str, ...]:
    """The values of ``keys``; a missing or empty one is named (with the ``alternative`` key
    that would also do), its value never."""
    missing = [key for key in keys if not _present(credentials, key)]
    if missing:
        names = ", ".join(f"'{key}'" for key in missing)
        instead = f" (or '{alternative}')" if alternative else ""
        raise PermanentError(
            f"the ticket credentials secret lacks the key(s) {names}{instead}",
            setting=Env.TICKET_SECRET_ID,
        )
    return tuple(credentials[key] for key in keys)
