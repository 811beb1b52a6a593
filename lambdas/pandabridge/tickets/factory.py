"""The ticket target that the settings ask for, wired to its credentials.

The credentials are the JSON object of the secret named by ``TICKET_SECRET_ID``; the keys each
target reads are in its module docstring (and its ``CREDENTIAL_KEYS``). A missing key is a
``PermanentError`` naming the secret and the key, never a value.
"""

from __future__ import annotations

from collections.abc import Mapping

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
) -> TicketTarget:
    """The adapter for ``settings.target``; ``http`` defaults to a client on the shared pool
    with the settings' timeout."""
    client = http or HttpClient(timeout_seconds=settings.timeout_seconds)
    if settings.target == "jira":
        email, api_token = _require(credentials, *jira.CREDENTIAL_KEYS)
        if not settings.jira_project_key:
            raise PermanentError("no Jira project key is set", setting=Env.JIRA_PROJECT_KEY)
        return jira.JiraTarget(
            settings.api_base,
            email=email,
            api_token=api_token,
            project_key=settings.jira_project_key,
            issue_type=settings.jira_issue_type,
            http=client,
            # The transition settings stay the first candidates, ahead of Jira's defaults.
            resolve_transitions=_first(
                settings.jira_resolve_transition, jira.DEFAULT_RESOLVE_TRANSITIONS
            ),
            reopen_transitions=_first(
                settings.jira_reopen_transition, jira.DEFAULT_REOPEN_TRANSITIONS
            ),
        )
    if settings.target == "servicenow":
        if _present(credentials, servicenow.TOKEN_KEY):
            return servicenow.ServiceNowTarget(
                settings.api_base, token=credentials[servicenow.TOKEN_KEY], http=client
            )
        username, password = _require(
            credentials, *servicenow.BASIC_KEYS, alternative=servicenow.TOKEN_KEY
        )
        return servicenow.ServiceNowTarget(
            settings.api_base, username=username, password=password, http=client
        )
    (hmac_secret,) = _require(credentials, *generic.CREDENTIAL_KEYS)
    return generic.GenericTarget(settings.api_base, hmac_secret=hmac_secret, http=client)


def _first(name: str, defaults: tuple[str, ...]) -> tuple[str, ...]:
    """``name`` (when set) ahead of ``defaults``, each name once."""
    return tuple(dict.fromkeys(n for n in (name, *defaults) if n.strip()))


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
