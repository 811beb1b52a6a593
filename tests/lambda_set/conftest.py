"""The handlers' isolated runs: the Lambda set installed, the stand-ins started once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.cold_start import Function, Stage, child_environment, functions, stage
from lambda_set.install import install, set_dirs
from lambda_set.interpreter import Interpreter


@pytest.fixture(scope="session")
def interpreter() -> Interpreter:
    """The test's interpreter, with the Lambda set installed for it (a no-op when current,
    as after ``make test``'s own install step)."""
    return install()


@pytest.fixture(scope="session")
def lambda_set(interpreter: Interpreter) -> dict[str, Path]:
    return set_dirs(interpreter)


@pytest.fixture(scope="module")
def staged() -> Iterator[Stage]:
    """moto with the stack's resources, the demo desk and the BigPanda stand-in, and a copy
    of the code asset as the stack packages it."""
    with stage(runs=1) as running:
        yield running


@pytest.fixture(scope="module")
def deployed(staged: Stage) -> dict[str, Function]:
    """The four functions as the stack configures them, by name."""
    return {function.name: function for function in functions(staged)}


@pytest.fixture
def lambda_roots(staged: Stage, lambda_set: dict[str, Path]) -> list[tuple[str, Path]]:
    """The path of a function in Lambda: its code, then the layer, then the runtime's."""
    return [("asset", staged.task_root), *lambda_set.items()]


@pytest.fixture
def environment_of(staged: Stage) -> Any:
    return lambda function: child_environment(function, staged)
