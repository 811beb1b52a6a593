"""Reading a function's secrets from Secrets Manager, cached, never logged."""

from __future__ import annotations

from typing import Any, Final

from aws_lambda_powertools.utilities import parameters

from pandabridge.aws_clients import secrets_provider
from pandabridge.errors import PermanentError

# Credentials are re-read at most this often, so a rotated secret is picked up within minutes
# without a call to Secrets Manager on every message.
SECRET_MAX_AGE_SECONDS: Final = 300


def read_secret(
    secret_id: str,
    *,
    what: str,
    setting: str,
    max_age: int = SECRET_MAX_AGE_SECONDS,
    transform: str | None = None,
) -> Any:
    """The secret's value (a string, or the transformed value), read through this process's
    session; ``PermanentError`` naming ``what`` and ``setting`` when it cannot be read or
    transformed."""
    secrets_provider()  # get_secret then reads through this process's session
    try:
        return parameters.get_secret(secret_id, transform=transform, max_age=max_age)
    except parameters.exceptions.TransformParameterError:
        raise PermanentError(f"the {what} secret is not a JSON object", setting=setting) from None
    except parameters.exceptions.GetParameterError:
        raise PermanentError(f"the {what} secret cannot be read", setting=setting) from None
