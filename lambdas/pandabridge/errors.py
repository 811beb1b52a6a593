"""How a call to another system (a ticket target, BigPanda) can fail, as the queues see it.

A ``RetryableError`` puts the message back on its queue with a backoff; a ``PermanentError``
sends it to the dead-letter queue at once, with the setting the operator must fix; a
``NotConfiguredError`` waits with a backoff, as loudly as a permanent one, for a setting that
the stack may be deployed without.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RetryableError(Exception):
    """429, 5xx, a timeout or a refused connection: the same call may succeed later.

    ``retry_after`` is the other side's own ``Retry-After`` in seconds, when it sent one.
    ``outcome_unknown`` is True when the request may have taken effect although no answer came
    (a timeout or a reset after it was sent); an answered status, or a connection that never
    carried the request, is a definite failure: the call did nothing. ``status`` is the HTTP
    status the other side answered, if it answered (429 is told apart from 5xx by it).
    """

    reason: str
    retry_after: float | None = None
    outcome_unknown: bool = False
    status: int | None = None

    def __str__(self) -> str:
        return self.reason


@dataclass
class WaitingError(RetryableError):
    """Nothing failed: the message must wait for time to pass (a search that may lag behind a
    create, a step to try again after a backoff). The consumer postpones it like a retryable
    failure, but never lets waiting use up the queue's receive count (``pandabridge.consumer``).
    """


@dataclass
class PermanentError(Exception):
    """A 4xx that retrying cannot fix; ``setting`` names what the operator must change."""

    reason: str
    setting: str
    status: int | None = None

    def __str__(self) -> str:
        return f"{self.reason} (check {self.setting})"


@dataclass
class StepFailedError(PermanentError):
    """The desk refuses one step of a sync as it is configured: a field, resolve, reopen, an
    assignee, one comment. Retrying the same call cannot help, but the ticket's other steps,
    and later versions of the incident, can still go through.

    ``step`` names the step (``resolve``, ``reopen``, ``assign``, ``comment``, or
    ``field:<name>``), ``reason`` carries the desk's own message, and ``setting`` the exact
    setting or value to fix (a transition name, a priority value, a required field, a user).
    The reconciler records it in the ticket state and goes on with the other steps; raised
    anywhere else it is a ``PermanentError``.
    """

    step: str = ""


@dataclass
class NotConfiguredError(Exception):
    """A setting the stack may be deployed without is not set yet, so no attempt can succeed.

    The message waits (postponed with a backoff) instead of going to the DLQ at once: the
    setting is expected to arrive with the next deployment, after which the waiting messages
    go through, or are redriven if they reached the DLQ meanwhile. ``setting`` is the stack
    setting to set, ``variable`` the environment variable the function reads it from.
    """

    reason: str
    setting: str
    variable: str

    def __str__(self) -> str:
        return (
            f"{self.reason}: set {self.setting} in cdk.json (or -c {self.setting}=...) and "
            f"redeploy; the function reads it from {self.variable}"
        )
