"""The README's settings table is generated from the settings model and kept current."""

from __future__ import annotations

from stacks.config import StackSettings
from stacks.paths import REPO_ROOT
from stacks.settings_table import render_table, updated_readme

README = REPO_ROOT / "README.md"


def test_readme_settings_table_is_current() -> None:
    # Given the README as committed
    readme = README.read_text(encoding="utf-8")
    # When the table is generated again from the settings model
    regenerated = updated_readme(readme)
    # Then nothing changes (else: make settings-table)
    assert regenerated == readme, "README.md's settings table is stale: run make settings-table"


def test_table_lists_every_setting_with_its_default_and_description() -> None:
    # Given the settings model / When the table is rendered
    table = render_table()
    # Then each setting has a row with its key, its default and its description
    for key, field in StackSettings.model_fields.items():
        row = next(line for line in table.splitlines() if line.startswith(f"| `{key}` |"))
        assert str(field.description).replace("|", "\\|") in row
    assert "| `ticket_sync_max_receive_count` | `20` |" in table
    assert "| `quota_limit_per_day` | `null` |" in table
    assert "| `allowed_source_ips` | `[]` |" in table
