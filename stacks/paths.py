"""Where the CDK app finds the repository files it reads at synth time.

Paths are anchored on this file, not on the working directory, so the app synthesizes the
same way from ``make``, from the CDK CLI and from the tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

REPO_ROOT: Final = Path(__file__).resolve().parent.parent
LAMBDAS_DIR: Final = REPO_ROOT / "lambdas"
REQUIREMENTS_FILE: Final = REPO_ROOT / "requirements.txt"
CDK_JSON: Final = REPO_ROOT / "cdk.json"
