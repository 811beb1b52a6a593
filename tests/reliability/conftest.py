"""The reliability suite: its scale, its fuzzing policy and its secrets check.

Fuzzing policy. ``make test`` (``SOAK_FACTOR`` 1) runs every property derandomized: the
examples follow from each test's name, so the CI run is the same run every time and a red
build is a real regression, never luck. ``make soak`` (factor > 1) explores: it draws fresh
examples from a seed picked per run and printed in the report header, and
``make soak ARGS=--hypothesis-seed=N`` replays a run. Either way a failure prints its minimal
example and the blob that ``@reproduce_failure`` replays.

No example database is written: the working tree stays clean and a CI run cannot depend on
what an earlier run found.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Final

import pytest
from hypothesis import HealthCheck, seed, settings
from hypothesis import is_hypothesis_test as _is_hypothesis_test

from tests.handlers.conftest import (  # noqa: F401 - fixtures shared with the handler tests
    _aws_environment,
    aws,
    invoke,
    moto_server,
)
from tests.reliability.leak_guard import (  # noqa: F401 - the secrets check, as conftest hooks
    known_secrets,
    no_secret_in_output,
    pytest_runtest_makereport,
    stack_outputs,
)
from tests.reliability.leak_guard import pytest_configure as _register_leak_marker
from tests.reliability.scale import SOAK_FACTOR

HERE: Final = Path(__file__).resolve().parent
PROFILE: Final = "reliability" if SOAK_FACTOR == 1 else "reliability-soak"
# Drawn once per soak run; shown in the header, so that a run can be replayed.
SOAK_SEED: Final = random.SystemRandom().randrange(2**32)

settings.register_profile(
    "reliability",
    # Timing varies with the shared machine; a deadline would make the run flaky, not stricter.
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    # One moto server per test, not per example: the examples use unique incident ids.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile(
    "reliability-soak", settings.get_profile("reliability"), derandomize=False
)


def pytest_configure(config: pytest.Config) -> None:
    _register_leak_marker(config)
    if not config.getoption("hypothesis_profile", None):  # a profile asked for wins
        settings.load_profile(PROFILE)


def pytest_report_header(config: pytest.Config) -> str:
    if SOAK_FACTOR == 1:
        return "reliability: SOAK_FACTOR=1, hypothesis derandomized"
    chosen = config.getoption("hypothesis_seed", None)
    origin = "given" if chosen is not None else "drawn"
    return (
        f"reliability: SOAK_FACTOR={SOAK_FACTOR}, hypothesis seed {chosen or SOAK_SEED} "
        f"({origin}; replay with ARGS=--hypothesis-seed={chosen or SOAK_SEED})"
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In a soak run without ``--hypothesis-seed``, seed every property with the run's seed."""
    if SOAK_FACTOR == 1 or config.getoption("hypothesis_seed", None) is not None:
        return
    for item in items:
        function = getattr(item, "function", None)
        mine = item.path.is_relative_to(HERE)
        if mine and function is not None and _is_hypothesis_test(function):
            seed(SOAK_SEED)(function)


_FIGURES: list[str] = []


@pytest.fixture(scope="session")
def report_figure() -> Callable[[str], None]:
    """Adds a line to the figures shown at the end of the run (throughput, settle time):
    reported, never asserted, since they depend on the machine."""

    def report(line: str) -> None:
        print(line)
        _FIGURES.append(line)

    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _FIGURES:
        terminalreporter.section("reliability figures")
        for line in _FIGURES:
            terminalreporter.write_line(line)
