"""The one error the commands raise for a failure the operator can act on."""

from __future__ import annotations


class OpsError(Exception):
    """A failure with a message that says what is wrong and what to do; exit status 1."""
