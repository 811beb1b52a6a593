"""How a call to another system (a ticket target, BigPanda) can fail, as the queues see it.

A ``RetryableError`` puts the message back on its queue with a backoff; a ``PermanentError``
sends it to the dead-letter queue at once, with the setting the operator must fix.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RetryableError(Exception):
    """429, 5xx, a timeout or a refused connection: the same call may succeed later.

    ``retry_after`` is the other side's own ``Retry-After`` in seconds, when it sent one.
    """

    reason: str
    retry_after: float | None = None

    def __str__(self) -> str:
        return self.reason


@dataclass
class PermanentError(Exception):
    """A 4xx that retrying cannot fix; ``setting`` names what the operator must change."""

    reason: str
    setting: str
    status: int | None = None

    def __str__(self) -> str:
        return f"{self.reason} (check {self.setting})"
