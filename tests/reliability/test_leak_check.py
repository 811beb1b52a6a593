"""The secrets check itself: it must catch what it is for, or every green run means nothing.

The check's verdicts are tested on lines (a stack's banner, a log line) and, end to end, by
running pytest with the check on a test file that prints and logs planted secrets.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from local import defaults
from tests.local_stack import harness
from tests.reliability.leak_guard import Secret, SecretRegistry, outside_banners

INNER_RUN_SECONDS = 60

PLANTED = textwrap.dedent(
    """
    import logging

    from local import defaults


    def test_prints_the_bearer_token():
        print("about to call with", defaults.BEARER_TOKEN)


    def test_logs_the_bigpanda_key():
        logging.getLogger("planted").warning("calling with key %s", defaults.BIGPANDA_API_KEY)


    def test_prints_nothing_secret():
        print("an ordinary line")
    """
)

FAILING = textwrap.dedent(
    """
    from local import defaults


    def test_fails_quoting_the_desk_secret():
        assert defaults.DESK_SECRET == ""
    """
)

QUIET = textwrap.dedent(
    """
    import pytest


    @pytest.mark.emits_logs
    def test_logs_but_nothing_is_captured():
        print("a line that the check never sees under -s")
    """
)


@pytest.fixture
def registry() -> SecretRegistry:
    return SecretRegistry([Secret("the.TOKEN", "tok-0123456789")])


def run_with_check(tmp_path: Path, source: str, *flags: str) -> subprocess.CompletedProcess[str]:
    """pytest with only the secrets check as plugin, on a test file holding ``source``."""
    (tmp_path / "test_planted.py").write_text(source)
    return subprocess.run(  # noqa: S603 - this interpreter, pytest on a file we wrote
        [
            sys.executable, "-m", "pytest", "-p", "tests.reliability.leak_guard",
            "-p", "no:cacheprovider", "-q", "-rA", *flags, "test_planted.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=INNER_RUN_SECONDS,
        check=False,
    )  # fmt: skip


def test_a_line_holding_a_secret_is_reported_by_name_source_and_line(
    registry: SecretRegistry,
) -> None:
    # Given two lines, the second holding the token
    lines = [(1, "calling the desk"), (2, "Authorization: Bearer tok-0123456789")]
    # When they are checked
    leaks = registry.leaks(lines, "the output of a stack")
    # Then the leak names the secret and where it is, and never its value
    assert [str(leak) for leak in leaks] == [
        "secret the.TOKEN appears in the output of a stack, line 2"
    ]
    assert "tok-0123456789" not in repr(list(registry))


def test_only_lines_inside_the_banner_frame_are_exempt() -> None:
    # Given a stack's output: a step line, the framed banner with the key, then a log line
    rule = "-" * 78
    output = ["  ok   aws  moto", "", rule, "  API key   key-1", rule, "", "  gateway key-1"]
    # When the lines to check are picked
    kept = outside_banners(output)
    # Then every line but the frame and what it holds is checked
    assert kept == [(1, "  ok   aws  moto"), (2, ""), (6, ""), (7, "  gateway key-1")]


def test_a_secret_too_short_to_tell_from_ordinary_text_is_refused(
    registry: SecretRegistry,
) -> None:
    # Given the registry
    # When a four-character secret is added
    # Then it is refused: it would match ordinary words and fail clean runs
    with pytest.raises(ValueError, match="shorter than"):
        registry.add("short", "abcd")


def test_every_credential_of_the_local_stack_and_the_harness_is_checked(
    known_secrets: SecretRegistry,
) -> None:
    # Given the credentials that the local stack and the end-to-end harness use
    credentials = {
        defaults.API_KEY,
        defaults.BEARER_TOKEN,
        defaults.DESK_SECRET,
        defaults.BIGPANDA_API_KEY,
        harness.API_KEY,
        harness.BEARER_TOKEN,
    }
    # When the registry's values are listed
    checked = {secret.value for secret in known_secrets}
    # Then each of them is among them
    assert credentials <= checked


def test_a_test_that_prints_or_logs_a_secret_fails_naming_it_without_showing_it(
    tmp_path: Path,
) -> None:
    # Given tests that print the bearer token, log the BigPanda key, and print nothing secret
    # When pytest runs them with the secrets check
    run = run_with_check(tmp_path, PLANTED)
    output = run.stdout + run.stderr
    # Then the two that leaked fail at teardown, each naming the secret and the section
    assert run.returncode == 1, output
    assert "secret local.defaults.BEARER_TOKEN appears in captured stdout call, line 1" in output
    assert "secret local.defaults.BIGPANDA_API_KEY appears in captured log call, line 1" in output
    assert "3 passed, 2 errors" in output, output
    assert "PASSED test_planted.py::test_prints_nothing_secret" in output
    # And neither value is shown, not even in pytest's report of the captured output
    assert "Captured stdout call" in output
    assert defaults.BEARER_TOKEN not in output
    assert defaults.BIGPANDA_API_KEY not in output


def test_a_failure_message_quoting_a_secret_is_shown_redacted(tmp_path: Path) -> None:
    # Given a test whose failing assertion compares the desk secret
    # When pytest runs it with the secrets check
    run = run_with_check(tmp_path, FAILING)
    output = run.stdout + run.stderr
    # Then the failure is reported with the secret's name in place of its value
    assert "1 failed" in output, output
    assert "<local.defaults.DESK_SECRET>" in output
    assert defaults.DESK_SECRET not in output


def test_a_logging_test_whose_output_was_not_captured_fails(tmp_path: Path) -> None:
    # Given a test marked as logging
    # When pytest runs it with the secrets check but without output capture
    run = run_with_check(tmp_path, QUIET, "-s")
    output = run.stdout + run.stderr
    # Then it fails: the check scanned nothing and would have passed whatever was logged
    assert run.returncode == 1, output
    assert "the secrets check scanned no output" in output
