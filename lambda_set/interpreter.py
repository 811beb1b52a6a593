"""Which Python runs the handlers in the Lambda-set test: the newest 3.12+ on PATH, else this one.

The functions run on a newer Python (see ``stacks.functions.PYTHON_RUNTIME``) than the oldest
the project supports, and a package can import differently from one version to the next, so
the newest interpreter at hand is the closer stand-in.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from typing import Final

# Newest first; the runtime's own version leads the list.
CANDIDATES: Final = ("python3.14", "python3.13", "python3.12")
_PROBE: Final = "import platform, sys; print(sys.executable); print(platform.python_version())"


@dataclass(frozen=True)
class Interpreter:
    """An interpreter that answered, and why it was chosen (for the test report's header)."""

    path: str
    version: str
    reason: str

    @property
    def tag(self) -> str:
        """A folder name per Python minor version: compiled packages differ between them."""
        major, minor, *_ = self.version.split(".")
        return f"cp{major}{minor}"

    def describe(self) -> str:
        return f"Python {self.version} at {self.path} ({self.reason})"


def _probe(command: str) -> tuple[str, str] | None:
    """(executable, version) of ``command``, or ``None`` when it does not run.

    A pyenv shim for a version that is installed but not selected refuses to run; it is asked
    again with every installed version selected, so an installed interpreter is found.
    """
    environments = [dict(os.environ)]
    pyenv = shutil.which("pyenv")
    if pyenv is not None:
        listed = subprocess.run(  # noqa: S603 - pyenv, found on PATH
            [pyenv, "versions", "--bare"], capture_output=True, text=True, check=False
        )
        versions = ":".join(listed.stdout.split())
        if listed.returncode == 0 and versions:
            environments.append(dict(os.environ, PYENV_VERSION=versions))
    for environment in environments:
        done = subprocess.run(  # noqa: S603 - an interpreter found on PATH
            [command, "-I", "-c", _PROBE],
            capture_output=True,
            text=True,
            env=environment,
            check=False,
            timeout=30,
        )
        lines = done.stdout.split()
        if done.returncode == 0 and len(lines) == 2:
            return lines[0], lines[1]
    return None


@cache
def find() -> Interpreter:
    """The newest Python 3.12+ on PATH that runs, else the interpreter running this code."""
    for name in CANDIDATES:
        command = shutil.which(name)
        if command is None:
            continue
        found = _probe(command)
        if found is not None:
            return Interpreter(path=found[0], version=found[1], reason=f"{name} on PATH")
    version = ".".join(map(str, sys.version_info[:3]))
    return Interpreter(
        path=sys.executable,
        version=version,
        reason="the interpreter running the tests: no Python 3.12+ on PATH",
    )
