"""How hard the reliability suite pushes: one factor for load and fuzzing alike.

``make test`` runs at factor 1, within a few minutes on a small machine; ``make soak`` sets
``SOAK_FACTOR=10`` for a long run that multiplies the webhooks sent and the examples fuzzed.
The factor is read here and nowhere else, so every part of the suite scales together.
"""

from __future__ import annotations

import os
from typing import Final

SOAK_FACTOR_ENV: Final = "SOAK_FACTOR"


def _soak_factor() -> int:
    text = os.environ.get(SOAK_FACTOR_ENV, "").strip() or "1"
    try:
        factor = int(text)
    except ValueError:
        raise ValueError(f"{SOAK_FACTOR_ENV} must be a whole number, not {text!r}") from None
    if factor < 1:
        raise ValueError(f"{SOAK_FACTOR_ENV} must be 1 or more, not {factor}")
    return factor


SOAK_FACTOR: Final = _soak_factor()


def scaled(count: int) -> int:
    """``count`` at the current soak factor."""
    return count * SOAK_FACTOR
