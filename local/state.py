"""Where the running local stack is: one state file that ``make run`` writes and the helpers read.

``make run`` may listen on any ports (``--port``, ``--moto-port``) with any keys (``--api-key``,
``--bearer-token``); ``make send``, ``make status``, ``make show`` and ``pandabridge-ops --local``
read the file so that they reach that stack without repeating its flags. The file holds the
keys, so it is created readable by its owner only; it is removed when the stack stops, and a
file whose process is gone (the stack was killed) is stale.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

from local import defaults

# Overrides the state file's path, e.g. for a stack started beside a developer's own.
STATE_FILE_ENV: Final = "PANDABRIDGE_LOCAL_STATE"
DEFAULT_STATE_FILE: Final = defaults.REPO_ROOT / ".local" / "stack.json"
START_HINT: Final = "start it with `make run`"


class NoRunningStackError(Exception):
    """No state file, or one whose stack has stopped."""


@dataclass(frozen=True)
class StackState:
    """What a helper needs to reach the running stack."""

    pid: int
    webhook_url: str
    aws_endpoint: str
    api_key: str
    bearer_token: str
    # The desk configuration its ticket sync runs with (pointed at its local desk).
    desk_config: str | None = None


def state_file() -> Path:
    """The state file's path: ``$PANDABRIDGE_LOCAL_STATE`` or ``.local/stack.json``."""
    return Path(os.environ.get(STATE_FILE_ENV) or DEFAULT_STATE_FILE)


def write(state: StackState, path: Path | None = None) -> Path:
    """Record the stack, readable and writable by its owner only (mode 0600)."""
    path = path or state_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(asdict(state), file, indent=2)
        file.write("\n")
    temporary.replace(path)
    return path


def remove(pid: int, path: Path | None = None) -> None:
    """Remove the file if it is still this stack's (another may have taken it over)."""
    path = path or state_file()
    with contextlib.suppress(OSError, ValueError, NoRunningStackError):
        if _load(path).pid == pid:
            path.unlink()


def read(path: Path | None = None) -> StackState:
    """The running stack's state; :class:`NoRunningStackError` (saying what to do) if none runs."""
    path = path or state_file()
    try:
        state = _load(path)
    except FileNotFoundError:
        raise NoRunningStackError(f"no local stack is running (no {path}): {START_HINT}") from None
    except (OSError, ValueError, TypeError, KeyError) as error:
        raise NoRunningStackError(f"cannot read {path} ({error}): {START_HINT}") from None
    if not _alive(state.pid):
        raise NoRunningStackError(
            f"the local stack recorded in {path} (process {state.pid}) has stopped: {START_HINT}"
        )
    return state


def _load(path: Path) -> StackState:
    raw = json.loads(path.read_text())
    return StackState(
        pid=int(raw["pid"]),
        webhook_url=str(raw["webhook_url"]),
        aws_endpoint=str(raw["aws_endpoint"]),
        api_key=str(raw["api_key"]),
        bearer_token=str(raw["bearer_token"]),
        desk_config=str(raw["desk_config"]) if raw.get("desk_config") else None,
    )


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process holds the id: not our stack
        return False
    return True
