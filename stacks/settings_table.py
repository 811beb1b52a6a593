"""Writes the README's settings table from ``StackSettings``: each key, default and description.

The settings model is the one place a default or a meaning is written; the README shows them
between two markers, and a test fails when the table there differs from what this renders.
Run ``make settings-table`` (``python -m stacks.settings_table``) after changing a setting.
"""

from __future__ import annotations

import json
import sys
from typing import Any, Final

from stacks.config import StackSettings
from stacks.paths import REPO_ROOT

README: Final = REPO_ROOT / "README.md"
BEGIN: Final = "<!-- settings-table:begin (make settings-table writes this table) -->"
END: Final = "<!-- settings-table:end -->"


def _default(value: Any) -> str:
    """A default as an operator writes it in cdk.json: JSON, strings bare."""
    return value if isinstance(value, str) else json.dumps(value)


def render_table() -> str:
    """The Markdown table of every setting, in the model's order."""
    defaults = StackSettings.defaults()
    rows = [
        f"| `{key}` | `{_default(defaults[key])}` | "
        f"{str(field.description).replace('|', chr(92) + '|')} |"
        for key, field in StackSettings.model_fields.items()
    ]
    return "\n".join(["| key | default | meaning |", "|---|---|---|", *rows])


def updated_readme(readme: str) -> str:
    """``readme`` with the text between the markers replaced by the current table."""
    start, end = readme.find(BEGIN), readme.find(END)
    if start < 0 or end < start:
        raise ValueError(f"README.md lacks the markers {BEGIN!r} ... {END!r}")
    return readme[: start + len(BEGIN)] + "\n" + render_table() + "\n" + readme[end:]


def main() -> int:
    readme = README.read_text(encoding="utf-8")
    updated = updated_readme(readme)
    if updated != readme:
        README.write_text(updated, encoding="utf-8")
        print(f"{README.name}: settings table updated")
    else:
        print(f"{README.name}: settings table already current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
