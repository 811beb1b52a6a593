"""``desk check`` on a two-way target: BigPanda must define the tag the ticket link goes in."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from local import defaults
from local.demo.bigpanda import BigPandaStandIn
from local.demo.service_desk import DemoDesk
from ops.__main__ import main
from tests.conftest import BIGPANDA_STAND_IN_KEY


@pytest.fixture
def desk() -> Iterator[DemoDesk]:
    running = DemoDesk(defaults.DESK_SECRET).start()
    yield running
    running.stop()


def _check(tmp_path: Path, config: str, *flags: str) -> tuple[int, str]:
    """Run ``desk check`` on a configuration text with the demo desk's credentials."""
    config_file, secret_file = tmp_path / "pandabridge.toml", tmp_path / "credentials.json"
    config_file.write_text(config)
    secret_file.write_text(json.dumps({"hmac_secret": defaults.DESK_SECRET}))
    out = io.StringIO()
    argv = ["desk", "check", "--config", str(config_file), "--credentials-file", str(secret_file)]
    code = main([*argv, *flags], out=out, err=io.StringIO())
    return code, out.getvalue()


def _two_way(desk: DemoDesk, link_tag: str = "ticket_link") -> str:
    return (
        f'[targets.demo]\nkind = "http"\nbase_url = "{desk.url}"\n'
        f'[targets.demo.two_way]\nevents_secret = "desk-events"\nlink_tag = "{link_tag}"\n'
    )


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "bigpanda-key"
    path.write_text(BIGPANDA_STAND_IN_KEY + "\n")
    return path


def test_a_defined_link_tag_passes(
    tmp_path: Path, desk: DemoDesk, bigpanda_stand_in: BigPandaStandIn, key_file: Path
) -> None:
    # Given BigPanda defining the configured tag
    bigpanda_stand_in.api.define_tag("ticket_link")
    # When the preflight runs with BigPanda's key
    code, out = _check(
        tmp_path,
        _two_way(desk),
        "--bigpanda-key-file",
        str(key_file),
        "--bigpanda-api-base",
        bigpanda_stand_in.api_base,
    )
    # Then the tag check passes
    assert code == 0, out
    assert "✔ BigPanda incident tag definition 'ticket_link'" in out


def test_a_missing_link_tag_fails_naming_the_setting(
    tmp_path: Path, desk: DemoDesk, bigpanda_stand_in: BigPandaStandIn, key_file: Path
) -> None:
    # Given BigPanda without the configured tag
    # When the preflight runs
    code, out = _check(
        tmp_path,
        _two_way(desk, "ops_ticket"),
        "--bigpanda-key-file",
        str(key_file),
        "--bigpanda-api-base",
        bigpanda_stand_in.api_base,
    )
    # Then it fails, naming the key path to change
    assert code == 1
    assert "✘ BigPanda incident tag definition 'ops_ticket': not defined" in out
    assert "targets.demo.two_way.link_tag" in out


def test_without_a_bigpanda_key_the_tag_is_not_verified(tmp_path: Path, desk: DemoDesk) -> None:
    code, out = _check(tmp_path, _two_way(desk))
    assert code == 0, out
    assert "⚠ BigPanda incident tag definition 'ticket_link'" in out
