"""The local stack's state file: what `make run` records and what the helpers read back."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from local import state
from local.state import NoRunningStackError, StackState


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / ".local" / "stack.json"


def recorded(pid: int) -> StackState:
    return StackState(
        pid=pid,
        webhook_url="http://127.0.0.1:18080/webhook",
        aws_endpoint="http://127.0.0.1:14566",
        api_key="a-key",
        bearer_token="a-token-0123456789abcdef0123456789",
    )


@pytest.fixture
def gone_pid() -> int:
    """The id of a process that has exited."""
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                           capture_output=True, text=True)  # fmt: skip
    return int(child.stdout)


def test_a_recorded_stack_reads_back_while_its_process_runs(path: Path) -> None:
    # Given this process recorded as the stack
    state.write(recorded(os.getpid()), path)
    # When a helper reads the file, then it gets the stack's URL, endpoint and keys
    assert state.read(path) == recorded(os.getpid())


def test_the_file_is_readable_by_its_owner_only(path: Path) -> None:
    # When a stack is recorded, then its file (which holds the keys) has mode 0600
    state.write(recorded(os.getpid()), path)
    assert path.stat().st_mode & 0o777 == 0o600


def test_no_file_says_to_start_make_run(path: Path) -> None:
    # Given no stack was ever started, when a helper reads, then it is told to start one
    with pytest.raises(NoRunningStackError, match=r"no local stack is running .*`make run`"):
        state.read(path)


def test_a_file_whose_process_is_gone_is_stale(path: Path, gone_pid: int) -> None:
    # Given a stack that was killed before it could remove its file
    state.write(recorded(gone_pid), path)
    # When a helper reads it, then it is told the stack stopped and to start one
    with pytest.raises(NoRunningStackError, match=rf"process {gone_pid}\) has stopped: start"):
        state.read(path)


def test_a_stack_removes_only_its_own_file(path: Path, gone_pid: int) -> None:
    # Given the file of another stack
    state.write(recorded(os.getpid()), path)
    # When a stack with another process id stops, then the file stays
    state.remove(gone_pid, path)
    assert path.exists()
    # When its own stack stops, then it goes
    state.remove(os.getpid(), path)
    assert not path.exists()


def test_the_environment_moves_the_file(monkeypatch: pytest.MonkeyPatch, path: Path) -> None:
    # Given the state file's variable set, then the default path is that one
    monkeypatch.setenv(state.STATE_FILE_ENV, str(path))
    assert state.state_file() == path
    # Given it unset, then it is .local/stack.json in the repository
    monkeypatch.delenv(state.STATE_FILE_ENV)
    assert state.state_file().parts[-2:] == (".local", "stack.json")
