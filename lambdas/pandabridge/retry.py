"""When to try a failed queue message again: exponential backoff with jitter, or the other
side's ``Retry-After`` when it asks for longer; and when a message that only waits (for a
rate-limit window to end) comes back: after that wait, plus jitter."""

from __future__ import annotations

import random

from pandabridge.names import Limits

# SQS refuses a visibility timeout above 12 hours.
_SQS_MAX_VISIBILITY_SECONDS = 12 * 60 * 60


def backoff_seconds(
    receive_count: int,
    retry_after: float | None = None,
    *,
    base: float = Limits.RETRY_BASE_SECONDS,
    cap: float = Limits.RETRY_MAX_SECONDS,
    rng: random.Random | None = None,
) -> int:
    """Seconds to keep a message invisible after its ``receive_count``-th failed attempt.

    "Equal jitter": half of the exponential step is fixed, half random, so retries spread out
    without ever collapsing to zero. ``Retry-After`` is a floor, never shortened by the cap.
    """
    step = min(cap, base * 2 ** max(0, receive_count - 1))
    jittered = step / 2 + (rng or random).uniform(0, step / 2)
    delay = max(jittered, retry_after or 0)
    return int(min(_SQS_MAX_VISIBILITY_SECONDS, max(1, round(delay))))


def wait_seconds(
    retry_after: float,
    *,
    spread: float = Limits.WAIT_JITTER_FRACTION,
    rng: random.Random | None = None,
) -> int:
    """Seconds to keep a waiting message invisible when the wait is known (``retry_after``).

    Nothing failed, so the wait does not grow with the receive count: the message is due as
    soon as the wait is over, plus up to ``spread`` of it again, so that the messages of a
    burst that met one full window do not all come back at the same instant.
    """
    delay = retry_after + (rng or random).uniform(0, max(1.0, retry_after * spread))
    return int(min(_SQS_MAX_VISIBILITY_SECONDS, max(1, round(delay))))
