"""Running a handler in a fresh interpreter whose path holds only given folders."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from lambda_set.interpreter import Interpreter

CHILD: Final = Path(__file__).resolve().parent / "isolated_invoke.py"
MARKER: Final = "@@lambda-set@@ "


@dataclass(frozen=True)
class Report:
    """What the child saw: whether the handler imported, its answer, and strays."""

    import_error: str | None
    answer: Any
    error: str | None
    outside: list[tuple[str, str]]

    def strays(self) -> str:
        return "\n".join(f"  {name}  from {file}" for name, file in self.outside)


def run_isolated(
    interpreter: Interpreter,
    roots: Sequence[tuple[str, Path]],
    *,
    handler: str,
    event: Any,
    environment: Mapping[str, str],
    function_name: str = "isolated",
    memory_mb: int = 128,
    extra_paths: Sequence[Path] = (),
) -> Report:
    """Import and invoke ``handler`` in a fresh ``interpreter`` whose path holds only
    ``roots`` (and ``extra_paths`` after them), with ``-I -S``: no site-packages, no user
    site, no PYTHON* variables, no working directory on the path."""
    spec = {
        "roots": [[kind, str(folder)] for kind, folder in roots],
        "extra_paths": [str(folder) for folder in extra_paths],
        "handler": handler,
        "event": event,
        "function_name": function_name,
        "function_arn": f"arn:aws:lambda:us-east-1:123456789012:function:{function_name}",
        "memory_mb": memory_mb,
    }
    done = subprocess.run(  # noqa: S603 - a Python interpreter, our own script
        [interpreter.path, "-I", "-S", "-B", str(CHILD)],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        env=dict(environment),
        cwd=roots[0][1],
        check=False,
        timeout=120,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith(MARKER)]
    if not lines:
        raise AssertionError(
            f"{handler}: the isolated run printed no report (exit {done.returncode})\n"
            + done.stderr[-4000:]
        )
    raw = json.loads(lines[-1].removeprefix(MARKER))
    return Report(
        import_error=raw["import_error"],
        answer=raw["answer"],
        error=raw["error"],
        outside=[(name, file) for name, file in raw["outside"]],
    )
