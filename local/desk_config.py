"""The desk configuration the local stack gives ticket sync: the repository's file (or the one
``--config`` names), pointed at the local desk.

Ticket sync reads the configuration from a file, as deployed; the local stack writes one next
to nothing else (a temporary directory it removes on stop). When the file's target is of the
local desk's kind, all of it is kept and only its address changes; otherwise only the keys
every kind shares (priority tag, timeout, summary and description templates, update policy)
are kept, with what the local desk needs: the Jira fake's project for ``jira``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from local.defaults import DESK_EVENTS_SECRET_NAME
from local.fakes.jira import DEFAULT_PROJECT
from pandabridge.desk_config import DeskConfig, TargetConfig, TargetKind, load_config, parse_config
from pandabridge.identity import DEFAULT_INTEGRATION

LOCAL_TARGET: Final = "local"
# The keys a target of any kind takes.
_SHARED_KEYS: Final = ("timeout_seconds", "priority_tag", "update", "secret", "two_way")
_SHARED_FIELDS: Final = ("summary", "description")


def local_desk_config(
    source: DeskConfig,
    kind: TargetKind,
    base_url: str,
    *,
    fake: bool = True,
    routed: Mapping[str, str] | None = None,
    share_target: str | None = None,
) -> DeskConfig:
    """``source``'s chosen target as a ``kind`` desk at ``base_url``; for a real desk
    (``fake=False``) no project is made up, so a file of another kind is refused.

    A file with integrations keeps them, their routes naming the chosen target by its local
    name: each other routed target becomes an ``http`` demo desk at its URL in ``routed``.
    ``[reconciler]`` is kept, and ``share_target`` (the BigPanda stand-in's) becomes the
    default integration's unless the file gives one."""
    target = _as_kind(source.selected, kind, base_url, fake=fake)
    # The local desk always talks back, with the local stack's events secret.
    target["two_way"] = {**target.get("two_way", {}), "events_secret": DESK_EVENTS_SECRET_NAME}
    reconciler = {"reconciler": source.reconciler.model_dump()}
    if not source.integrations:
        document: dict[str, Any] = {"targets": {LOCAL_TARGET: target}} | reconciler
        return parse_config(_shared_to(document, share_target), source="(local)")
    targets = {LOCAL_TARGET: target} | {
        name: _as_kind(source.targets[name], "http", url, fake=True)
        for name, url in (routed or {}).items()
    }
    local = {source.target_name: LOCAL_TARGET}
    integrations = {}
    for name, integration in source.integrations.items():
        section = integration.model_dump(exclude_none=True)
        if "target" in section:
            section["target"] = local.get(section["target"], section["target"])
        for route in section.get("routes", []):
            route["target"] = local.get(route["target"], route["target"])
        integrations[name] = section
    document = {"target": LOCAL_TARGET, "targets": targets, "integrations": integrations}
    return parse_config(_shared_to(document | reconciler, share_target), source="(local)")


def _shared_to(document: dict[str, Any], share_target: str | None) -> dict[str, Any]:
    """``document`` whose default integration names ``share_target``, unless it names one."""
    if share_target is None:
        return document
    integrations = document.setdefault("integrations", {})
    default = integrations.setdefault(DEFAULT_INTEGRATION, {})
    default.setdefault("share_target", share_target)
    return document


def _as_kind(
    config: TargetConfig, kind: TargetKind, base_url: str, *, fake: bool
) -> dict[str, Any]:
    """A target's section as a ``kind`` desk at ``base_url``: all of it when it is of that
    kind, else the keys every kind shares."""
    target = config.model_dump(exclude_none=True)
    if config.kind != kind:
        shared = {key: target[key] for key in _SHARED_KEYS if key in target}
        fields = {key: target["fields"][key] for key in _SHARED_FIELDS}
        target = {**shared, "fields": fields}
        if kind == "jira" and fake:
            target["jira"] = {"project": DEFAULT_PROJECT}
    return target | {"kind": kind, "base_url": base_url}


def write_local_config(
    source_file: Path,
    kind: TargetKind,
    base_url: str,
    directory: Path,
    *,
    fake: bool = True,
    routed: Mapping[str, str] | None = None,
    share_target: str | None = None,
) -> tuple[Path, DeskConfig]:
    """Validate ``source_file``, point it at the desk (and its other routed targets at theirs,
    ``routed``), write it as TOML into ``directory``; returns the file and what it holds."""
    config = local_desk_config(
        load_config(source_file),
        kind,
        base_url,
        fake=fake,
        routed=routed,
        share_target=share_target,
    )
    path = directory / "pandabridge.local.toml"
    path.write_text(to_toml(config.model_dump(exclude_none=True)), encoding="utf-8")
    return path, config


def to_toml(document: Mapping[str, Any]) -> str:
    """``document`` as TOML, one ``key = value`` line per top-level key, nested tables inline
    (the standard library reads TOML but writes none). JSON's string escapes are TOML's."""
    return "".join(f"{_key(key)} = {_value(value)}\n" for key, value in document.items())


def _key(key: str) -> str:
    return json.dumps(key, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML form for {type(value).__name__}")
