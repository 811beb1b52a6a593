"""Where the recorded sets live, and where they are installed."""

from __future__ import annotations

from pathlib import Path
from typing import Final

HERE: Final = Path(__file__).resolve().parent
REPO_ROOT: Final = HERE.parent
# The sets, in the order the functions' path holds them after the code asset: the layer
# (/opt/python) before the runtime's own packages.
LAYER_FILE: Final = HERE / "layer.txt"
RUNTIME_FILE: Final = HERE / "runtime.txt"
SET_FILES: Final = {"layer": LAYER_FILE, "runtime": RUNTIME_FILE}
INSTALL_ROOT: Final = REPO_ROOT / ".venv" / "lambda-set"
