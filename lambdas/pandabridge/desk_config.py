"""The desk configuration file (``pandabridge.toml``): which service desk tickets go to and how
an incident maps onto that desk's fields, workflow and update policy, as data an admin edits.

The same schema is validated at synth (the stack refuses a bad file), at the ticket-sync
function's cold start (``load_config``) and by the preflight. Every problem is reported with
its key path (``targets.ops-jira.fields.priority_map.P2``) and what is expected, all of them
at once. Secrets never live here: credentials stay in the stack's Secrets Manager secret.

A key left out keeps today's behaviour: the default summary is today's title, the default
description today's renderer (``pandabridge.tickets.mapping``), and the Jira and ServiceNow
options left unset are not passed to the adapter, which then uses its own default.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Final, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from pandabridge.identity import DEFAULT_INTEGRATION, INTEGRATION_NAME_PATTERN
from pandabridge.names import DEFAULT_LINK_TAG, Limits
from pandabridge.settings import ConfigurationError
from pandabridge.tickets.mapping import DEFAULT_DESCRIPTION, DEFAULT_SUMMARY, DraftMapping
from pandabridge.tickets.model import PRIORITIES
from pandabridge.tickets.servicenow import NOTE_PLACEHOLDER
from pandabridge.tickets.templates import TemplateError, placeholders_of

TargetKind = Literal["http", "jira", "servicenow"]
UpdateMode = Literal["sync", "create"]

# A message naming a key below the model it was raised on starts with this and the key.
_SUBKEY: Final = "@"
# Between the problems of one message that names several keys (each starting with _SUBKEY).
_MANY: Final = "\n"


class DeskConfigurationError(ConfigurationError):
    """The desk configuration is invalid; ``problems`` holds one line per key path."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.problems = tuple(problems)
        lines = "\n".join(f"  - {problem}" for problem in problems)
        where = f" {source}" if source else ""
        super().__init__(f"invalid desk configuration{where}:\n{lines}")


def _template(value: str) -> str:
    try:
        placeholders_of(value)
    except TemplateError as error:
        raise ValueError(str(error)) from None
    return value


Template = Annotated[str, AfterValidator(_template)]


_PLACEHOLDER_LIKE: Final = re.compile(r"\{[A-Za-z_][^{}]*\}")


def _constant_values(value: Any) -> Any:
    """A value inside an object or a list (a transition field, a Jira select option) is sent
    as written, so a placeholder in it would reach the desk as literal text and is refused."""
    if isinstance(value, str):
        match = _PLACEHOLDER_LIKE.search(value)
        if match:
            raise ValueError(
                f"{match.group(0)} would be sent as written: placeholders work in a text value "
                "of jira.custom_fields or servicenow.extra_fields, in fields.summary and in "
                "fields.description, not inside an object or a list"
            )
    elif isinstance(value, list):
        for item in value:
            _constant_values(item)
    elif isinstance(value, dict):
        for item in value.values():
            _constant_values(item)
    return value


FieldValue = Annotated[Any, AfterValidator(_constant_values)]


def _field_template(value: Any) -> Any:
    """A create-time field's value: text is a template rendered per incident, any other
    JSON value a constant."""
    return _template(value) if isinstance(value, str) else _constant_values(value)


FieldTemplate = Annotated[Any, AfterValidator(_field_template)]


def _close_notes(value: str) -> str:
    """ServiceNow's close notes: a text in which ``{note}`` is the resolve note."""
    for match in _PLACEHOLDER_LIKE.finditer(value):
        if match.group(0) != NOTE_PLACEHOLDER:
            raise ValueError(
                f"unknown placeholder {match.group(0)}; only {NOTE_PLACEHOLDER} (the resolve "
                "note) is filled in here"
            )
    return value


def _secret_name(value: str) -> str:
    """A Secrets Manager secret's name: what the stack grants and the function reads."""
    if value.startswith("arn:") or not _SECRET_NAME.match(value):
        raise ValueError(
            "a secret is named here, never inlined: give the secret's name (letters, digits "
            "and /_+=.@-)"
        )
    return value


_SECRET_NAME: Final = re.compile(r"^[A-Za-z0-9/_+=.@-]{1,512}$")
SecretName = Annotated[str, AfterValidator(_secret_name)]


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DeskRef(_Section):
    """Something on the desk named by its display name or its id (a priority, an issue type,
    a component). A bare string in the file is a name."""

    id: str | None = Field(default=None, min_length=1)
    name: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _exactly_one(self) -> DeskRef:
        if (self.id is None) == (self.name is None):
            raise ValueError('expected a name ("High"), { id = "..." } or { name = "..." }')
        return self

    def plain(self) -> str | dict[str, str]:
        """The name as a string, an id as ``{"id": ...}``: what the adapters take."""
        return self.name if self.name is not None else {"id": str(self.id)}


def _name_or_ref(value: Any) -> Any:
    return {"name": value} if isinstance(value, str) else value


Named = Annotated[DeskRef, BeforeValidator(_name_or_ref)]
PriorityLevel = Literal["P1", "P2", "P3", "P4", "P5"]


def _every_priority(value: dict[str, DeskRef]) -> dict[str, DeskRef]:
    missing = [level for level in PRIORITIES if level not in value]
    if missing:
        raise ValueError(f"expected a value for each of P1..P5; missing {', '.join(missing)}")
    return value


class FieldsConfig(_Section):
    """What the ticket says: summary and description templates, and the priority names."""

    summary: Template = Field(default=DEFAULT_SUMMARY, min_length=1)
    description: Template = Field(default=DEFAULT_DESCRIPTION, min_length=1)
    priority_map: Annotated[dict[PriorityLevel, Named], AfterValidator(_every_priority)] | None = (
        None
    )


class UpdatePolicyConfig(_Section):
    """Per field: ``sync`` (kept in step with the incident) or ``create`` (written once)."""

    summary: UpdateMode = "sync"
    description: UpdateMode = "sync"
    priority: UpdateMode = "create"
    assignee: UpdateMode = "create"


class JiraConfig(_Section):
    project: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$")
    issue_type: Named | None = None
    labels: list[Annotated[str, Field(pattern=r"^\S{1,255}$")]] = Field(default_factory=list)
    components: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    custom_fields: dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+$")], FieldTemplate] = Field(
        default_factory=dict
    )


class TransitionConfig(_Section):
    """Candidate transition names in order, else a transition into the status category, and
    the fields the transition's screen requires."""

    transitions: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    category: Literal["new", "indeterminate", "done"] | None = None
    fields: dict[str, FieldValue] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _names_a_way(self) -> TransitionConfig:
        if not self.transitions and self.category is None:
            raise ValueError(f"{_SUBKEY}transitions: expected transition names or a category")
        return self


class WorkflowConfig(_Section):
    resolve: TransitionConfig | None = None
    reopen: TransitionConfig | None = None


class ServiceNowConfig(_Section):
    assignment_group: str | None = Field(default=None, min_length=1)
    caller_id: str | None = Field(default=None, min_length=1)
    category: str | None = Field(default=None, min_length=1)
    subcategory: str | None = None
    close_code: str | None = Field(default=None, min_length=1)
    close_notes: Annotated[str, AfterValidator(_close_notes)] | None = Field(
        default=None, min_length=1
    )
    extra_fields: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")], FieldTemplate] = Field(
        default_factory=dict
    )


# A Secrets Manager secret name: what the stack grants the functions by, and how they read it.
SECRET_NAME_PATTERN: Final = r"^[A-Za-z0-9/_+=.@-]{1,512}$"  # noqa: S105 - a pattern


class TwoWayConfig(_Section):
    """The desk talks back: its events reach ``POST /desk/<target>/events``, and what agents
    do there reaches BigPanda (``pandabridge.write_back``).

    ``events_secret`` names the Secrets Manager secret (``{"secret": "..."}``) the events are
    verified with: the Jira webhook's secret, the ServiceNow rule's bearer token, or the
    ``http`` desk's signing key. ``integration_user`` is our own user on the desk (a Jira
    accountId, a ServiceNow user name): its events are our own writes coming back and are
    dropped. Each switch turns one direction of write-back on or off; ``link_tag`` is the
    BigPanda incident tag the ticket link is written in (its definition must exist);
    ``loop_limit`` mirrored writes per incident in 10 minutes trip the circuit breaker.
    """

    events_secret: str = Field(pattern=SECRET_NAME_PATTERN)
    integration_user: str | None = Field(default=None, min_length=1)
    resolve: bool = True
    comments: bool = True
    link: bool = True
    assignee: bool = False
    link_tag: str = Field(default=DEFAULT_LINK_TAG, pattern=r"^\S{1,20}$")
    loop_limit: int = Field(default=Limits.LOOP_LIMIT, ge=1, le=1000)


class TargetConfig(_Section):
    """One desk: where it is, and how incidents map onto it."""

    kind: TargetKind
    base_url: str = Field(pattern=r"^https?://[^\s]+$")
    # The Secrets Manager secret NAME with this desk's credentials; default: the stack's.
    secret: SecretName | None = None
    timeout_seconds: float = Field(default=10, gt=0, le=30)
    priority_tag: str | None = Field(default=None, min_length=1)
    # After a create whose answer never came, how long an empty lookup is not trusted: the
    # desk's search may lag behind its writes (Jira's does, by seconds, with no bound stated).
    create_outcome_window_seconds: int = Field(
        default=Limits.CREATE_OUTCOME_WINDOW_SECONDS, ge=30, le=3600
    )
    fields: FieldsConfig = FieldsConfig()
    update: UpdatePolicyConfig = UpdatePolicyConfig()
    jira: JiraConfig | None = None
    workflow: WorkflowConfig | None = None
    servicenow: ServiceNowConfig | None = None
    two_way: TwoWayConfig | None = None

    @model_validator(mode="after")
    def _sections_fit_the_kind(self) -> TargetConfig:
        if self.kind == "jira" and self.jira is None:
            raise ValueError(f"{_SUBKEY}jira.project: required for a jira target")
        owners = {"jira": "jira", "workflow": "jira", "servicenow": "servicenow"}
        for section, kind in owners.items():
            if getattr(self, section) is not None and self.kind != kind:
                raise ValueError(
                    f"{_SUBKEY}{section}: only a '{kind}' target takes this section "
                    f"(kind is '{self.kind}')"
                )
        return self

    @property
    def api_base(self) -> str:
        return self.base_url.rstrip("/")

    @property
    def draft_mapping(self) -> DraftMapping:
        """The priority tag, text templates and create-time fields the draft is rendered
        with."""
        extra = (self.jira.custom_fields if self.jira else {}) | (
            self.servicenow.extra_fields if self.servicenow else {}
        )
        return DraftMapping(
            priority_tag=self.priority_tag,
            summary=self.fields.summary,
            description=self.fields.description,
            extra_fields=MappingProxyType(extra),
        )


class RouteConfig(_Section):
    """One routing rule: every condition given must hold (a list: any of its values; tags and
    alert properties: all of them, on the incident or on one alert); none given matches all."""

    target: str
    environments: list[Annotated[str, Field(min_length=1)]] | None = None
    severities: list[Annotated[str, Field(min_length=1)]] | None = None
    tags: dict[str, str] | None = None
    alert_properties: dict[str, str] | None = None

    @model_validator(mode="after")
    def _can_match(self) -> RouteConfig:
        for key in CONDITION_KEYS:
            value = getattr(self, key)
            if value is not None and not value:
                raise ValueError(
                    f"{_SUBKEY}{key}: empty, so the route can never match; leave the key out "
                    "to match any value"
                )
        return self

    def condition(self, key: str) -> frozenset[Any]:
        """A condition's values as a set (tags and alert properties as (key, value) pairs)."""
        value = getattr(self, key)
        return frozenset(value.items() if isinstance(value, dict) else value)

    @property
    def catch_all(self) -> bool:
        return all(getattr(self, key) is None for key in CONDITION_KEYS)

    def covers(self, later: RouteConfig) -> bool:
        """Whether every incident ``later`` matches is matched by this route already: each of
        this route's conditions is at least as loose as ``later``'s."""
        for key in CONDITION_KEYS:
            if getattr(self, key) is None:
                continue
            if getattr(later, key) is None:
                return False
            mine, theirs = self.condition(key), later.condition(key)
            # Lists match any of their values; tags and alert properties need all of theirs.
            looser = theirs <= mine if key in ANY_OF_KEYS else mine <= theirs
            if not looser:
                return False
        return True


ANY_OF_KEYS: Final = ("environments", "severities")
CONDITION_KEYS: Final = (*ANY_OF_KEYS, "tags", "alert_properties")
API_BASES: Final = {"us": "https://api.bigpanda.io", "eu": "https://eu-api.bigpanda.io"}


class IntegrationConfig(_Section):
    """One BigPanda integration: its path ``/webhook/<name>`` (``/webhook`` for ``default``),
    its credentials by secret name, its BigPanda account, and where its incidents go."""

    app_key: str | None = Field(default=None, pattern=r"^\S+$")
    api_base: Annotated[str, Field(pattern=r"^(us|eu|https?://[^\s]+)$")] = "us"
    key_secret: SecretName | None = None
    token_secret: SecretName | None = None
    target: str | None = None
    routes: list[RouteConfig] = Field(default_factory=list)
    # The reconciler: the BigPanda environment ids it searches ("All" by name: every one), and
    # the share target naming this integration in BigPanda's ``incident_shared`` activities
    # (without it, an incident never stored is never taken).
    environments: list[Annotated[str, Field(min_length=1)]] = Field(
        default_factory=lambda: ["All"], min_length=1
    )
    share_target: str | None = Field(default=None, min_length=1)

    @property
    def api_url(self) -> str:
        """BigPanda's API base URL: ``us`` and ``eu`` name BigPanda's regions."""
        return API_BASES.get(self.api_base, self.api_base).rstrip("/")


class ReconcilerConfig(_Section):
    """``[reconciler]``: the scheduled search of BigPanda's Incidents API that recovers missed
    deliveries (``pandabridge.reconcile``). The search covers the time since the last run plus
    ``overlap_seconds``, so a change BigPanda's search shows late is still found."""

    enabled: bool = True
    every_minutes: int = Field(default=5, ge=1, le=1440)
    overlap_seconds: int = Field(default=300, ge=0, le=86_400)


class DeskConfig(_Section):
    """The whole file: the targets, which one tickets go to by default, and the BigPanda
    integrations with their routes."""

    target: str | None = None
    targets: dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")], TargetConfig] = Field(
        min_length=1
    )
    # Absent: the one integration "default", from the stack's settings.
    integrations: dict[
        Annotated[str, Field(pattern=INTEGRATION_NAME_PATTERN)], IntegrationConfig
    ] = Field(default_factory=dict)
    reconciler: ReconcilerConfig = ReconcilerConfig()

    @model_validator(mode="after")
    def _one_target_chosen(self) -> DeskConfig:
        names = ", ".join(self.targets)
        if self.target is None and len(self.targets) > 1:
            raise ValueError(f"{_SUBKEY}target: required with several targets; one of {names}")
        if self.target is not None and self.target not in self.targets:
            raise ValueError(f"{_SUBKEY}target: {self.target!r} is not defined; one of {names}")
        return self

    @model_validator(mode="after")
    def _integrations_fit(self) -> DeskConfig:
        """Refuse what cannot work: an unknown target, one BigPanda integration configured
        twice (its app key) or one token opening two paths, and a route that can never match."""
        problems: list[str] = []
        for name, integration in self.integrations.items():
            where = f"integrations.{name}"
            if integration.target is not None and integration.target not in self.targets:
                problems.append(f"{where}.target: {self._unknown(integration.target)}")
            if name != DEFAULT_INTEGRATION and integration.token_secret is None:
                problems.append(
                    f"{where}.token_secret: required: each integration but default needs its "
                    "own bearer tokens, so that no other integration's token opens its path"
                )
            for index, route in enumerate(integration.routes):
                problems.extend(self._route_problems(f"{where}.routes.{index}", route, integration))
        for key in ("app_key", "token_secret"):
            problems.extend(self._shared(key))
        if problems:
            raise ValueError(_MANY.join(f"{_SUBKEY}{problem}" for problem in problems))
        return self

    def _route_problems(
        self, where: str, route: RouteConfig, integration: IntegrationConfig
    ) -> list[str]:
        problems = []
        if route.target not in self.targets:
            problems.append(f"{where}.target: {self._unknown(route.target)}")
        for index, earlier in enumerate(integration.routes):
            if earlier is route:
                break
            if earlier.covers(route):
                why = "matches every incident" if earlier.catch_all else "matches all it would"
                problems.append(
                    f"{where}: can never match: the route before it at index {index} {why}"
                )
                break
        return problems

    def _shared(self, key: str) -> list[str]:
        owners: dict[str, str] = {}
        problems = []
        for name, integration in self.integrations.items():
            value = getattr(integration, key)
            if value is None:
                continue
            if value in owners:
                what = (
                    "the same BigPanda integration configured twice"
                    if key == "app_key"
                    else f"{owners[value]}'s token would open this integration's path"
                )
                problems.append(
                    f"integrations.{name}.{key}: duplicate of integrations.{owners[value]}."
                    f"{key}: {what}"
                )
            else:
                owners[value] = name
        return problems

    def _unknown(self, target: str) -> str:
        return f"{target!r} is not defined; one of {', '.join(self.targets)}"

    @property
    def integration_settings(self) -> dict[str, IntegrationConfig]:
        """Every integration, ``default`` included (built from the defaults when absent)."""
        return {DEFAULT_INTEGRATION: IntegrationConfig()} | dict(self.integrations)

    @property
    def extra_integrations(self) -> tuple[str, ...]:
        """The integrations with a path of their own: all but ``default``."""
        return tuple(name for name in self.integrations if name != DEFAULT_INTEGRATION)

    def routed_targets(self) -> tuple[str, ...]:
        """The targets some incident may go to: the default one and every one named."""
        named = [self.target_name]
        for integration in self.integration_settings.values():
            named.extend([integration.target or self.target_name])
            named.extend(route.target for route in integration.routes)
        return tuple(dict.fromkeys(named))

    @property
    def target_name(self) -> str:
        return self.target or next(iter(self.targets))

    @property
    def selected(self) -> TargetConfig:
        """The target this deployment sends tickets to."""
        return self.targets[self.target_name]

    def key(self, *parts: str) -> str:
        """The key path of a setting of the selected target, to name in an error."""
        return ".".join(("targets", self.target_name, *parts))

    @property
    def update_policy(self) -> dict[str, UpdateMode]:
        """Field → ``sync`` or ``create``, for the reconciler's update policy."""
        return dict(self.selected.update.model_dump())


def parse_config(document: Mapping[str, Any], *, source: str = "") -> DeskConfig:
    """The validated configuration of an already parsed document."""
    try:
        return DeskConfig.model_validate(document)
    except ValidationError as error:
        problems = [line for e in error.errors() for line in _problems(e)]
        raise DeskConfigurationError(source, problems) from None


def load_config(path: str | Path) -> DeskConfig:
    """Read and validate the TOML file at ``path``; ``DeskConfigurationError`` naming the file
    and, for each problem, its key path."""
    file = Path(path)
    try:
        document = tomllib.loads(file.read_text(encoding="utf-8"))
    except OSError as error:
        raise DeskConfigurationError(str(file), [f"cannot be read: {error.strerror}"]) from None
    except tomllib.TOMLDecodeError as error:
        raise DeskConfigurationError(str(file), [f"is not valid TOML: {error}"]) from None
    return parse_config(document, source=str(file))


def single_target(kind: TargetKind, base_url: str, **options: Any) -> DeskConfig:
    """A configuration of one target with every other key at its default (tests, local)."""
    return parse_config({"targets": {kind: {"kind": kind, "base_url": base_url, **options}}})


def _problems(error: Any) -> list[str]:
    """The problem lines of one error: a check across keys names several at once."""
    message = str(error["msg"]).removeprefix("Value error, ")
    if _MANY not in message:
        return [_problem(error)]
    return [_problem(error | {"msg": line}) for line in message.split(_MANY)]


def _problem(error: Any) -> str:
    """One line: the key path, then what is expected (and what was given, when short)."""
    # pydantic marks a refused key (not its value) with a "[key]" element after it.
    parts = [str(part) for part in error["loc"]]
    path = ".".join(part for part in parts if part != "[key]")
    message = str(error["msg"]).removeprefix("Value error, ")
    if "[key]" in parts:
        message = f"the key name: {message}"
    if message.startswith(_SUBKEY):
        key, _, message = message[len(_SUBKEY) :].partition(": ")
        path = f"{path}.{key}" if path else key
    elif error["type"] == "extra_forbidden":
        message = "unknown key (check its spelling and its section)"
    elif error["type"] == "missing":
        message = "required"
    given = error.get("input")
    if error["type"] not in ("missing", "extra_forbidden") and isinstance(given, str | int | float):
        message += f" (got {given!r})"
    return f"{path or '(top level)'}: {message}"
