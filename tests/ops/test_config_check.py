"""config check: the configuration file validated offline, its integrations, paths and routes
shown; every problem named by its key path, exit 1."""

from __future__ import annotations

import io
from pathlib import Path

from ops.__main__ import main

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "integrations.toml"


def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(["config", "check", *args], out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_a_valid_file_shows_each_integrations_path_and_routes_in_order() -> None:
    code, out, _ = run("--config", str(EXAMPLE))
    assert code == 0
    assert "integration default: POST /webhook\n" in out
    assert "integration payments: POST /webhook/payments\n" in out
    assert "tokens pandabridge/payments-tokens, API key pandabridge/payments-bigpanda" in out
    assert "route 0    alert_properties {'service': 'billing-db'} -> db-jira" in out


def test_every_problem_is_named_by_its_key_path_and_exits_1(tmp_path: Path) -> None:
    broken = EXAMPLE.read_text().replace(
        'target = "db-jira"\nalert_properties', 'target = "db-jra"\nalert_properties'
    )
    broken += '\n[integrations.billing]\napp_key = "fedcba9876543210fedcba9876543210"\n'
    file = tmp_path / "desk.toml"
    file.write_text(broken)
    code, out, err = run("--config", str(file))
    assert code == 1
    assert out == ""
    assert "integrations.payments.routes.0.target: 'db-jra' is not defined" in err
    assert "integrations.billing.token_secret: required" in err
    assert "integrations.billing.app_key: duplicate of integrations.payments.app_key" in err


def test_the_shipped_file_is_checked_by_default() -> None:
    code, out, _ = run()
    assert code == 0
    assert f"{REPO / 'pandabridge.toml'} is valid" in out


def test_each_integration_shows_what_the_reconciler_searches(tmp_path: Path) -> None:
    # Given an integration with its environments and share target, and one without
    file = tmp_path / "desk.toml"
    file.write_text(
        EXAMPLE.read_text().replace(
            "[integrations.payments]\n",
            '[integrations.payments]\nenvironments = ["env-1"]\nshare_target = "webhook.bp"\n',
        )
        + "\n[reconciler]\nevery_minutes = 10\n"
    )
    # When the file is checked
    code, out, _ = run("--config", str(file))
    # Then each integration says what the reconciler searches and which shares it takes
    assert code == 0, out
    assert "  reconciler environments env-1, takes shares to webhook.bp\n" in out
    assert "  reconciler environments All, no share_target: only incidents already stored\n" in out
    assert "reconciler: every 10 min, overlap 300 s\n" in out
