"""The secrets check of the reliability suite: no credential in any captured line.

Everything a test lets the code under test print is scanned after the test: pytest's captured
stdout, stderr and log records of the test, and the output of every local stack started
through ``tests.local_stack.harness.StackProcess`` (tracked from its start, read up to the
line printed last). A line that holds a known secret fails the test with the secret's name
and the line's source and number; the value itself is never printed, and pytest's own
"Captured ..." report sections and failure messages are redacted too, so a failing test does
not leak what it caught.

One exemption: the framed banner of ``python -m local`` prints the API key and the bearer
token on purpose, for a developer to paste into curl. Only lines inside that frame are exempt.

The module is a pytest plugin: the reliability suite's conftest imports its hooks and fixtures,
and a test runs it alone (``-p tests.reliability.leak_guard``) against a planted secret.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

import pytest

from local import defaults
from tests.local_stack import harness
from tests.local_stack.harness import StackProcess

# Shorter values would match ordinary words: a secret must be at least this long to be checked.
MIN_SECRET_CHARS: Final = 8
# The banner's frame: a line of dashes only, as wide as the terminal's usual 80 columns.
_BANNER_RULE_MIN_CHARS: Final = 40
# For tests whose code under test logs: a check that scanned nothing would pass vacuously.
EMITS_LOGS_MARKER: Final = "emits_logs"


@dataclass(frozen=True)
class Secret:
    name: str
    value: str

    def __repr__(self) -> str:
        """The name only: a secret printed in an assertion must not show its value."""
        return f"Secret({self.name!r})"


@dataclass(frozen=True)
class Leak:
    secret: str
    source: str
    line: int

    def __str__(self) -> str:
        return f"secret {self.secret} appears in {self.source}, line {self.line}"


class SecretRegistry:
    """The values that must never be printed: the local stack's and the local stack harness's
    credentials, and any a test adds (a secret it puts in Secrets Manager, say)."""

    def __init__(self, secrets: Iterable[Secret]) -> None:
        self._secrets: dict[str, Secret] = {}
        for secret in secrets:
            self.add(secret.name, secret.value)

    def add(self, name: str, value: str) -> str:
        """Check ``value`` from now on, reported as ``name``; returns ``value``."""
        if len(value) < MIN_SECRET_CHARS:
            raise ValueError(f"secret {name} is shorter than {MIN_SECRET_CHARS} characters")
        self._secrets[value] = Secret(name, value)
        return value

    def __iter__(self) -> Iterator[Secret]:
        return iter(list(self._secrets.values()))

    def leaks(self, lines: Iterable[tuple[int, str]], source: str) -> list[Leak]:
        return [
            Leak(secret.name, source, number)
            for number, line in lines
            for secret in self
            if secret.value in line
        ]

    def redact(self, text: str) -> str:
        for secret in self:
            text = text.replace(secret.value, f"<{secret.name}>")
        return text


SECRETS: Final = SecretRegistry(
    [
        Secret("local.defaults.API_KEY", defaults.API_KEY),
        Secret("local.defaults.BEARER_TOKEN", defaults.BEARER_TOKEN),
        Secret("local.defaults.DESK_SECRET", defaults.DESK_SECRET),
        Secret("local.defaults.BIGPANDA_API_KEY", defaults.BIGPANDA_API_KEY),
        Secret("tests.local_stack.harness.API_KEY", harness.API_KEY),
        Secret("tests.local_stack.harness.BEARER_TOKEN", harness.BEARER_TOKEN),
    ]
)


def numbered(text: str) -> list[tuple[int, str]]:
    return list(enumerate(text.splitlines(), start=1))


def outside_banners(lines: Sequence[str]) -> list[tuple[int, str]]:
    """The numbered lines that are not inside a banner's frame."""
    kept = []
    inside = False
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if len(stripped) >= _BANNER_RULE_MIN_CHARS and set(stripped) == {"-"}:
            inside = not inside
        elif not inside:
            kept.append((number, line))
    return kept


class StackOutputs:
    """The local stacks started during the run, and how far each one's output is checked."""

    def __init__(self) -> None:
        self._checked: dict[int, tuple[StackProcess, int]] = {}

    def track(self, stack: StackProcess) -> StackProcess:
        self._checked[id(stack)] = (stack, 0)
        return stack

    def tracking(self, start: Callable[..., StackProcess]) -> Callable[..., StackProcess]:
        """``StackProcess.start`` that tracks each stack it starts."""

        def start_tracked(*args: Any, **kwargs: Any) -> StackProcess:
            return self.track(start(*args, **kwargs))

        return start_tracked

    def tracks(self, stack: StackProcess) -> bool:
        """Whether every line ``stack`` prints is checked."""
        return id(stack) in self._checked

    def check_new_lines(self, secrets: SecretRegistry) -> tuple[int, list[Leak]]:
        """Scan every line printed since the last call: (how many, the leaks among them)."""
        scanned, leaks = 0, []
        for key, (stack, checked) in list(self._checked.items()):
            lines = stack.output.splitlines()
            fresh = [(n, line) for n, line in outside_banners(lines) if n > checked]
            source = f"the output of local stack pid {stack.process.pid}"
            leaks += secrets.leaks(fresh, source)
            scanned += len(fresh)
            self._checked[key] = (stack, len(lines))
        return scanned, leaks


_SECTIONS: Final = pytest.StashKey[list[tuple[str, str]]]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{EMITS_LOGS_MARKER}: the code under test logs, so the secrets check must have "
        "scanned some captured output",
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Keep the phase's captured sections for the check; show pytest's copy redacted."""
    report = yield
    item.stash[_SECTIONS] = list(report.sections)
    report.sections = [(title, SECRETS.redact(content)) for title, content in report.sections]
    # A failure message may quote a stack's whole output, banner included.
    if report.longrepr is not None:
        text = str(report.longrepr)
        redacted = SECRETS.redact(text)
        if redacted != text:
            report.longrepr = redacted
    return report


@pytest.fixture(scope="session")
def known_secrets() -> SecretRegistry:
    """The registry of checked secrets; ``known_secrets.add(name, value)`` adds one."""
    return SECRETS


@pytest.fixture(scope="session", autouse=True)
def stack_outputs(known_secrets: SecretRegistry) -> Iterator[StackOutputs]:
    """Tracks every ``StackProcess`` started from now on; at the end of the run, scans what
    the stacks printed after the last test's check (their shutdown lines)."""
    outputs = StackOutputs()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(StackProcess, "start", outputs.tracking(StackProcess.start))
        yield outputs
    _, leaks = outputs.check_new_lines(known_secrets)
    if leaks:
        pytest.fail("\n".join(map(str, leaks)), pytrace=False)


@pytest.fixture(autouse=True)
def no_secret_in_output(
    request: pytest.FixtureRequest, stack_outputs: StackOutputs, known_secrets: SecretRegistry
) -> Iterator[None]:
    """After the test: fail if any captured line or stack output line holds a secret."""
    yield
    leaks: list[Leak] = []
    scanned = 0
    for title, content in request.node.stash.get(_SECTIONS, []):
        lines = numbered(content)
        leaks += known_secrets.leaks(lines, title.lower())
        scanned += len(lines)
    stack_lines, stack_leaks = stack_outputs.check_new_lines(known_secrets)
    leaks += stack_leaks
    if leaks:
        pytest.fail("\n".join(map(str, leaks)), pytrace=False)
    if request.node.get_closest_marker(EMITS_LOGS_MARKER) and scanned + stack_lines == 0:
        pytest.fail(
            "the secrets check scanned no output of a test whose code logs: it would pass "
            "whatever was logged (is output capture off, -s?)",
            pytrace=False,
        )
