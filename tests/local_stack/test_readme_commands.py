"""The commands README.md shows, run as written: make targets and the scripts in ``.venv/bin``.

The safe ones run for real: ``make help``, each script's ``--help``, and ``make send``,
``make status``, ``make show`` and ``pandabridge-ops --local`` against a stack started on
ports other than the defaults, which they find through its state file only.
"""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from local import defaults, state
from tests.local_stack.harness import SERVING_MARK, StackProcess, run_as_developer

README = defaults.REPO_ROOT / "README.md"
VENV_BIN = defaults.REPO_ROOT / ".venv" / "bin"
SAMPLE_ID = json.loads(defaults.SAMPLE_EVENT.read_text())["incident"]["id"]
# `python -m X` that is not `.venv/bin/python -m X`: it fails outside the venv.
BARE_PYTHON_M = re.compile(r"(?<![/\w])python3? -m\b")
SHOWN_SCRIPT = re.compile(r"\.venv/bin/([a-z][\w-]*)")
SHOWN_TARGET = re.compile(r"\bmake ([a-z][a-z-]*)")
HELP_TARGET = re.compile(r"^  make (\S+)", re.MULTILINE)


def readme_text() -> str:
    return README.read_text()


def scripts() -> list[str]:
    """The scripts the README shows as .venv/bin/<script>, and every one the project declares."""
    declared = tomllib.loads((defaults.REPO_ROOT / "pyproject.toml").read_text())["project"]
    shown = set(SHOWN_SCRIPT.findall(readme_text())) - {"python"}
    return sorted(shown | set(declared["scripts"]))


@pytest.fixture(scope="module")
def state_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Where this module's stack records itself."""
    path = tmp_path_factory.mktemp("state") / "stack.json"
    return {state.STATE_FILE_ENV: str(path)}


@pytest.fixture(scope="module")
def custom_stack(state_env: dict[str, str]) -> Iterator[StackProcess]:
    """`make run ARGS="--port P --moto-port M ..."` on ports other than the defaults."""
    running = StackProcess.start(env=state_env)
    try:
        running.wait_until_healthy()
        running.wait_for_output(SERVING_MARK)
        assert (running.port, running.moto_port) != (defaults.GATEWAY_PORT, defaults.MOTO_PORT)
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def make(state_env: dict[str, str]) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``make -s <args>``, pointed at this module's state file only."""
    return lambda *args: run_as_developer(["make", "-s", *args], state_env)


def test_readme_shows_no_bare_python_m() -> None:
    # Given the README, then every `python -m` it shows is the venv's
    bare = [line for line in readme_text().splitlines() if BARE_PYTHON_M.search(line)]
    assert bare == []


def test_every_make_target_the_readme_shows_is_listed_by_make_help() -> None:
    # When `make help` runs
    helped = run_as_developer(["make", "-s", "help"])
    assert helped.returncode == 0, helped.stderr
    # Then it lists every target the README uses
    listed = set(HELP_TARGET.findall(helped.stdout))
    shown = set(SHOWN_TARGET.findall(readme_text()))
    assert shown <= listed, f"shown but not targets: {sorted(shown - listed)}"


@pytest.mark.parametrize("script", scripts())
def test_every_script_the_readme_shows_is_installed_and_answers_help(script: str) -> None:
    # Given a script the README shows as .venv/bin/<script>
    path = VENV_BIN / script
    assert path.is_file(), f"{path} missing: does `make test` install the project's scripts?"
    # When it is asked for help, then it answers with its usage
    helped = run_as_developer([str(path), "--help"])
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.startswith("usage:")


def test_the_state_file_names_the_stack_and_only_its_owner_reads_it(
    custom_stack: StackProcess, state_env: dict[str, str]
) -> None:
    # Given the stack on custom ports, when its state file is read
    path = Path(state_env[state.STATE_FILE_ENV])
    recorded = json.loads(path.read_text())
    # Then it names that stack's URL, endpoint and keys, and it is mode 0600
    assert recorded["webhook_url"] == custom_stack.webhook_url
    assert recorded["aws_endpoint"] == custom_stack.aws_endpoint
    assert (recorded["api_key"], recorded["bearer_token"]) == (
        custom_stack.api_key,
        custom_stack.bearer_token,
    )
    assert path.stat().st_mode & 0o777 == 0o600


def test_make_send_reaches_the_stack_on_its_custom_port(custom_stack: StackProcess, make) -> None:
    # When `make send` posts the sample that the stack posted at start-up
    sent = make("send")
    # Then it reached the stack with its keys: the answer is "duplicate"
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert sent.stdout.startswith("HTTP 200"), sent.stdout
    assert '"result": "duplicate"' in sent.stdout


def test_make_status_reads_the_stacks_moto_server(custom_stack: StackProcess, make) -> None:
    # When `make status` runs, then it lists the sample from the stack's own moto server
    status = make("status")
    assert status.returncode == 0, status.stdout + status.stderr
    assert SAMPLE_ID in status.stdout
    assert f"moto at {custom_stack.aws_endpoint}" in status.stdout


def test_make_show_reads_the_stacks_moto_server(custom_stack: StackProcess, make) -> None:
    # When `make show ID=<the sample>` runs, then it shows the stored incident
    shown = make("show", f"ID={SAMPLE_ID}")
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert shown.stdout.startswith(f"incident  {SAMPLE_ID}")


def test_ops_local_reads_the_stacks_moto_server(
    custom_stack: StackProcess, state_env: dict[str, str]
) -> None:
    # When the on-call script inspects the sample with --local and no endpoint
    inspected = run_as_developer(
        [str(VENV_BIN / "pandabridge-ops"), "inspect", SAMPLE_ID, "--local", "--json"], state_env
    )
    # Then it found the stack's moto server and the incident in it
    assert inspected.returncode == 0, inspected.stdout + inspected.stderr
    assert json.loads(inspected.stdout)["incident"]["incident_id"] == SAMPLE_ID


def test_make_smoke_local_reads_the_stacks_url_and_keys(custom_stack: StackProcess, make) -> None:
    # When `make smoke ARGS=--local` runs with no URL, keys or endpoint of its own
    smoked = make("smoke", "ARGS=--local")
    # Then it reached the stack on its custom ports and saw every step through to the callback
    assert smoked.returncode == 0, smoked.stdout + smoked.stderr
    assert custom_stack.api_key not in smoked.stdout + smoked.stderr


def test_after_the_stack_stops_the_helpers_say_to_start_make_run(
    start_stack: Callable[..., StackProcess], tmp_path: Path
) -> None:
    # Given a stack that ran and stopped
    env = {state.STATE_FILE_ENV: str(tmp_path / "stack.json")}
    stopped = start_stack("--no-sample", env=env)
    stopped.wait_for_output(SERVING_MARK)
    assert stopped.stop() == 0
    # When `make send` and `make status` run, then each fails and says to start `make run`
    for target in ("send", "status"):
        ran = run_as_developer(["make", "-s", target], env)
        assert ran.returncode != 0
        assert "no local stack is running" in ran.stderr
        assert "start it with `make run`" in ran.stderr
    assert not Path(env[state.STATE_FILE_ENV]).exists()
