"""The functions as the local stack runs them: in-process, one invocation of a handler at a time.

A handler's module state belongs to the one request in flight, as in a Lambda execution
environment; the local stack's threads must not share it.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from local.functions import LocalFunction

INVOCATIONS = 6
HOLD_SECONDS = 0.02


class Overlap:
    """How many invocations of the handler below run at once, and the most there were."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most = 0

    def enter(self) -> None:
        with self.lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)

    def leave(self) -> None:
        with self.lock:
            self.in_flight -= 1


OVERLAP = Overlap()


def overlapping_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A handler that notes its overlapping invocations, and holds a while."""
    OVERLAP.enter()
    time.sleep(HOLD_SECONDS)
    OVERLAP.leave()
    return {"echo": event["n"], "request": context.aws_request_id}


def test_invocations_of_one_handler_take_turns() -> None:
    # Given a function whose handler notes overlapping invocations
    function = LocalFunction(name="overlap", handler=f"{__name__}.overlapping_handler")
    # When it is invoked from several threads at once
    with ThreadPoolExecutor(max_workers=INVOCATIONS) as pool:
        answers = list(pool.map(lambda n: function.invoke({"n": n}), range(INVOCATIONS)))
    # Then every invocation got its own answer, and never two ran at once
    assert [answer["echo"] for answer in answers] == list(range(INVOCATIONS))
    assert len({answer["request"] for answer in answers}) == INVOCATIONS
    assert OVERLAP.most == 1
