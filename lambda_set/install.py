"""Install the recorded sets for the test's interpreter, once per change of the set files.

Each set goes into a folder of its own (``--target``), never into a virtualenv: the test puts
exactly these folders on the path, as Lambda puts the layer and the runtime's packages there.
Exact pins and ``--no-deps``: what is installed is what the file says, nothing resolved anew.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path

from lambda_set.files import INSTALL_ROOT, SET_FILES
from lambda_set.interpreter import Interpreter, find

STAMP = ".installed"


def install_dir(interpreter: Interpreter) -> Path:
    return INSTALL_ROOT / interpreter.tag


def set_dirs(interpreter: Interpreter) -> dict[str, Path]:
    """Each set's folder, by set name (``layer``, ``runtime``)."""
    return {name: install_dir(interpreter) / name for name in SET_FILES}


def _fingerprint(interpreter: Interpreter) -> str:
    digest = hashlib.sha256(interpreter.path.encode())
    for path in SET_FILES.values():
        digest.update(path.read_bytes())
    return digest.hexdigest()


def is_current(interpreter: Interpreter) -> bool:
    stamp = install_dir(interpreter) / STAMP
    return stamp.is_file() and stamp.read_text(encoding="utf-8") == _fingerprint(interpreter)


def install(interpreter: Interpreter | None = None) -> Interpreter:
    """Install both sets for ``interpreter`` (the test's by default) unless already current."""
    interpreter = interpreter or find()
    if is_current(interpreter):
        return interpreter
    root = install_dir(interpreter)
    shutil.rmtree(root, ignore_errors=True)
    for name, target in set_dirs(interpreter).items():
        subprocess.run(  # noqa: S603 - uv from this environment, the repo's own files
            [
                sys.executable,
                "-m",
                "uv",
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--compile-bytecode",
                "--python",
                interpreter.path,
                "--target",
                str(target),
                "-r",
                str(SET_FILES[name]),
            ],
            check=True,
        )
    (root / STAMP).write_text(_fingerprint(interpreter), encoding="utf-8")
    return interpreter
