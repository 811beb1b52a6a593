"""Each function loads its own collaborators and no other function's: what it imports is its
cold start, which the benchmarks measure and the composition keeps apart per function."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

LAMBDAS = Path(__file__).resolve().parents[2] / "lambdas"

# What each function must never load: another function's stack, or what its own cold start
# was measured without.
FORBIDDEN = {
    "ingest": ("aws_lambda_powertools.utilities.parameters", "pandabridge.sync"),
    # Ticket sync writes back through BigPanda's Incidents API (``pandabridge.bigpanda_api``),
    # never through the callback's client or its composition.
    "ticket_sync": ("pandabridge.callbacks", "pandabridge.composition.callback"),
    # The callback function never pays for the ticket stack.
    "callback": (
        "pandabridge.stores.incidents",
        "pandabridge.sync",
        "pandabridge.tickets.factory",
        "pandabridge.tickets.mapping",
    ),
    # The authorizer stands in front of every webhook: no pydantic, no settings model.
    "authorizer": ("pydantic", "pandabridge.settings", "pandabridge.stores"),
    # Desk events are stored and queued: no ticket stack, no incident store, no BigPanda.
    "desk_events": (
        "pandabridge.sync",
        "pandabridge.stores.incidents",
        "pandabridge.tickets.factory",
        "pandabridge.bigpanda",
    ),
    # The reconciler stores through ingest's path; ticket sync is the pipe's business.
    "reconciler": ("pandabridge.sync", "pandabridge.tickets.factory", "pandabridge.consumer"),
}

# What each function needs from its first event on, so loaded during its init.
EXPECTED = {
    "ingest": ("pandabridge.stores.incidents",),
    "ticket_sync": (
        "pandabridge.sync",
        "pandabridge.tickets.factory",
        "pandabridge.stores",
        "pandabridge.bigpanda_api",
    ),
    "callback": ("pandabridge.callbacks", "pandabridge.bigpanda"),
    "authorizer": ("aws_lambda_powertools.utilities.parameters",),
    "desk_events": ("pandabridge.desk_event_intake", "pandabridge.stores.desk_events"),
    "reconciler": ("pandabridge.reconcile", "pandabridge.bigpanda_api", "pandabridge.stores"),
}


def _modules_after_import(function: str) -> set[str]:
    script = f"import json, sys; import {function}.handler; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(  # noqa: S603 - this interpreter, a handler of this repository
        [sys.executable, "-c", script],
        cwd=LAMBDAS,
        env={"PYTHONPATH": str(LAMBDAS), "POWERTOOLS_METRICS_NAMESPACE": "Test"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(json.loads(out.splitlines()[-1]))


@pytest.mark.parametrize("function", sorted(FORBIDDEN))
def test_a_function_loads_its_own_collaborators_and_no_others(function: str) -> None:
    # Given a fresh interpreter
    # When the function's handler module is imported, as Lambda's init does
    loaded = _modules_after_import(function)
    # Then what it needs is loaded already, and nothing it must not pay for
    assert [m for m in EXPECTED[function] if m not in loaded] == []
    assert [m for m in loaded if m.startswith(FORBIDDEN[function])] == []
