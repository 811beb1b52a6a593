"""The authorizer's collaborator: the valid bearer tokens, from the token secret.

Without pydantic or a settings model (see ``pandabridge.auth.bearer_secret_id``): the
authorizer stands in front of every webhook, and its cold start is BigPanda's wait.
"""

from __future__ import annotations

from typing import Final

from aws_lambda_powertools.utilities import parameters

from pandabridge.auth import (
    SecretUnavailableError,
    TokenSecretError,
    bearer_secret_id,
    integration_secret_ids,
    valid_tokens,
)
from pandabridge.aws_clients import secrets_provider
from pandabridge.identity import DEFAULT_INTEGRATION
from pandabridge.names import Env, Limits

# Secrets Manager errors that say the configuration is wrong: the next call would get the
# same answer, so the request is denied. Any other failure to read the secret may pass.
_LASTING_SECRET_ERRORS: Final = frozenset(
    {
        "ResourceNotFoundException",
        "AccessDeniedException",
        "DecryptionFailure",
        "InvalidRequestException",  # e.g. the secret is scheduled for deletion
    }
)


def bearer_tokens(integration: str = DEFAULT_INTEGRATION) -> tuple[str, ...]:
    """The valid tokens of ``integration``'s path, re-read at most every
    ``Limits.BEARER_SECRET_MAX_AGE_SECONDS``; an integration has only its own secret's.

    ``TokenSecretError`` when the configuration is wrong (every request is then denied);
    ``SecretUnavailableError`` when Secrets Manager failed for a reason that may pass.
    """
    if integration == DEFAULT_INTEGRATION:
        secret_id = bearer_secret_id()
    else:
        secret_id = integration_secret_ids().get(integration, "")
        if not secret_id:
            raise TokenSecretError(
                f"of the integration '{integration}' has no id in the map",
                Env.INTEGRATION_BEARER_SECRETS,
            )
    secrets_provider()  # get_secret then reads through this process's session
    try:
        value = parameters.get_secret(
            secret_id, transform="json", max_age=Limits.BEARER_SECRET_MAX_AGE_SECONDS
        )
    except parameters.exceptions.TransformParameterError:
        raise TokenSecretError("is not JSON") from None
    except parameters.exceptions.GetParameterError as error:
        lasting = _error_code(error) in _LASTING_SECRET_ERRORS
        reason = TokenSecretError(f"cannot be read: {error}")
        if lasting:
            raise reason from None
        raise SecretUnavailableError(str(reason)) from None
    return valid_tokens(value)


def _error_code(error: Exception) -> str | None:
    """The AWS error code behind a Powertools parameter error, when it wraps a client error
    (Powertools raises its error while handling the client's, without ``from``)."""
    response = getattr(error.__cause__ or error.__context__, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None
