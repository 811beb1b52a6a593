"""Each handler runs on what Lambda gives it and nothing else: the code asset, the Powertools
layer's packages (``lambda_set/layer.txt``) and the runtime's (``lambda_set/runtime.txt``).

The dev environment has newer versions and many more packages; a handler that imports one of
them passes every other test and fails in Lambda.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from isolation import Report, run_isolated

from bench.cold_start import Function, Stage
from lambda_set.interpreter import Interpreter

FUNCTIONS = ("ingest", "ticket-sync", "callback", "authorizer", "desk-events", "reconciler")


@pytest.mark.parametrize("name", FUNCTIONS)
def test_handler_runs_on_the_lambda_set_alone(
    name: str,
    interpreter: Interpreter,
    staged: Stage,
    deployed: dict[str, Function],
    lambda_roots: list[tuple[str, Path]],
    environment_of: Any,
) -> None:
    """Given the function's environment as the stack sets it and a real event of its source
    (an API Gateway proxy event, FIFO SQS records as Lambda delivers them, a REQUEST
    authorizer event), against moto and the local stand-ins,
    when its handler is imported and invoked in a fresh interpreter whose path holds only the
    code asset, the layer's packages and the runtime's,
    then it imports, answers as it does in the other tests, and every module it loaded comes
    from one of those or from the standard library."""
    function = deployed[name]

    report: Report = run_isolated(
        interpreter,
        lambda_roots,
        handler=function.handler,
        event=function.event(0),
        environment=environment_of(function),
        function_name=function.name,
        memory_mb=function.memory_mb,
    )

    assert report.import_error is None, (
        f"{function.handler} does not import from the Lambda set alone:\n{report.import_error}"
    )
    assert report.outside == [], (
        f"{function.handler} imported modules from outside the code asset, the layer, the "
        f"runtime's packages and the standard library:\n{report.strays()}"
    )
    assert report.error is None, f"{function.handler} raised:\n{report.error}"
    assert function.succeeded(report.answer), f"{function.handler} answered {report.answer!r}"


def test_a_module_from_outside_the_set_is_named_with_its_file(
    interpreter: Interpreter, tmp_path: Path
) -> None:
    """Given a handler that imports a module found only in a folder outside the allowed ones,
    when it runs isolated,
    then the report names that module and the file it came from."""
    asset, elsewhere = tmp_path / "asset", tmp_path / "elsewhere"
    asset.mkdir()
    elsewhere.mkdir()
    (asset / "stray_handler.py").write_text(
        "import stray\n\ndef handler(event, context):\n    return stray.VALUE\n"
    )
    (elsewhere / "stray.py").write_text("VALUE = 1\n")

    report = run_isolated(
        interpreter,
        [("asset", asset)],
        handler="stray_handler.handler",
        event={},
        environment={},
        extra_paths=[elsewhere],
    )

    assert (report.answer, report.outside) == (1, [("stray", str(elsewhere / "stray.py"))])
