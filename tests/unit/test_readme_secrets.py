"""The README's shell commands never put a secret on a command line.

A value passed as an argument stays in the shell's history and is visible to every user of the
machine in the process list while the command runs. The commands that write a secret read it
from a file (``--secret-string file://...``) that a prompt without echo filled.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest

README: Final = Path(__file__).resolve().parents[2] / "README.md"
_SHELL_BLOCK: Final = re.compile(r"^```(?:sh|bash|shell|console)\n(.*?)^```", re.M | re.S)
# The Secrets Manager commands that take a secret's value, and the options that carry it.
_WRITING_COMMANDS: Final = frozenset({"put-secret-value", "create-secret", "update-secret"})
_VALUE_OPTIONS: Final = ("--secret-string", "--secret-binary")
_FROM_A_FILE: Final = ("file://", "fileb://")


@dataclass(frozen=True)
class Inline:
    """A command that passes a secret's value itself."""

    command: str
    option: str


def shell_commands(markdown: str) -> list[list[str]]:
    """Each command of each shell block, as the shell splits it (continuations joined)."""
    commands = []
    for block in _SHELL_BLOCK.findall(markdown):
        for line in block.replace("\\\n", " ").splitlines():
            for command in re.split(r"\s*(?:&&|\|\||;)\s*", line):
                words = shlex.split(command, comments=True)
                if words:
                    commands.append(words)
    return commands


def inline_secrets(markdown: str) -> list[Inline]:
    """Every Secrets Manager command in ``markdown`` whose value is not read from a file."""
    found = []
    for words in shell_commands(markdown):
        if words[:2] != ["aws", "secretsmanager"] or len(words) < 3:
            continue
        if words[2] not in _WRITING_COMMANDS:
            continue
        for index, word in enumerate(words):
            option, _, attached = word.partition("=")
            if option not in _VALUE_OPTIONS:
                continue
            value = attached or (words[index + 1] if index + 1 < len(words) else "")
            if not value.startswith(_FROM_A_FILE):
                found.append(Inline(shlex.join(words), option))
    return found


@pytest.mark.parametrize(
    "line",
    [
        "aws secretsmanager put-secret-value --secret-id X --secret-string '<User API key>'",
        'aws secretsmanager create-secret --name X --secret-string=\'{"k": "v"}\'',
        "umask 077 && aws secretsmanager update-secret --secret-id X --secret-binary abc",
    ],
    ids=["put", "create-with-equals", "update-after-and"],
)
def test_the_check_finds_a_secret_passed_inline(line: str) -> None:
    # Given a shell block that passes a value on the command line
    markdown = f"```sh\n{line}\n```\n"
    # When it is checked / Then the command is reported
    assert len(inline_secrets(markdown)) == 1


def test_the_check_accepts_a_secret_read_from_a_file() -> None:
    # Given a shell block that reads the value from a file
    markdown = (
        "```sh\naws secretsmanager put-secret-value --secret-id X "
        '--secret-string "file://$secret_file"\n```\n'
    )
    # When it is checked / Then nothing is reported
    assert inline_secrets(markdown) == []


def test_readme_commands_never_pass_a_secret_on_the_command_line() -> None:
    # Given the README's shell blocks
    markdown = README.read_text(encoding="utf-8")
    # When their Secrets Manager commands are checked
    # Then every value is read from a file, none is typed into the command
    assert inline_secrets(markdown) == []


def test_readme_removes_every_secret_file_it_writes() -> None:
    # Given the README's shell commands that read a secret from a file
    commands = shell_commands(README.read_text(encoding="utf-8"))
    read_from = {
        word.partition("://")[2]
        for words in commands
        for word in words
        if word.startswith(_FROM_A_FILE)
    }
    removed = {word for words in commands if words[0] == "rm" for word in words[1:]}
    # When the files they read are compared with the files removed
    # Then each is removed again, so no secret is left on the disk
    assert read_from
    assert read_from <= removed
