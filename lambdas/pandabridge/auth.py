"""Bearer-token authentication of webhook deliveries: read the header, check the token.

BigPanda signs nothing and can only send static headers, so the second credential next to
the API key is a shared secret that BigPanda sends as ``Authorization: Bearer <token>``. The
valid tokens live in a Secrets Manager secret, as a JSON object of one of two shapes::

    {"token": "<token>"}                        what the stack generates at deployment
    {"tokens": ["<current>", "<previous>"]}     one or two tokens, e.g. during a rotation

A rotation without a refused delivery:

1. write ``{"tokens": ["<new>", "<old>"]}`` (``aws secretsmanager put-secret-value``);
2. wait ``Limits.BEARER_SECRET_MAX_AGE_SECONDS`` (5 minutes), until every authorizer instance
   has re-read the secret, before anything sends the new token: a Deny that API Gateway got
   for it meanwhile would be kept for ``authorizer_cache_seconds``;
3. change the header in BigPanda's integration to ``Bearer <new>``;
4. write ``{"token": "<new>"}``. The old token is refused once the authorizer re-read the
   secret and API Gateway's cached Allow expired: within 5 minutes plus
   ``authorizer_cache_seconds``.

Tokens are visible ASCII without spaces, at least ``Limits.BEARER_TOKEN_MIN_LENGTH``
characters (``BEARER_TOKEN_RECOMMENDED_LENGTH`` or more is recommended); anything else is a
configuration error, which refuses every request.

Pure functions without AWS: the authorizer function calls them with the secret's value, and
the local gateway with its own. A token is compared with every valid token, always all of
them, as SHA-256 digests with ``hmac.compare_digest``: the time taken tells neither which
token matched nor how long a valid token is. Nothing here puts a token in a message.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from pandabridge.identity import DEFAULT_INTEGRATION, is_integration_name
from pandabridge.names import AUTHORIZATION_HEADER, WEBHOOK_PATH, Env, Limits

SCHEME: Final = "bearer"

# What API Gateway answers when a request lacks the header the authorizer caches on (401),
# and when the authorizer's policy denies it (403). The local gateway answers the same.
UNAUTHORIZED_MESSAGE: Final = "Unauthorized"
DENIED_MESSAGE: Final = "User is not authorized to access this resource with an explicit deny"

# Visible ASCII: the characters an HTTP header value can carry without quoting or encoding.
_TOKEN_CHARACTERS: Final = re.compile(r"[\x21-\x7e]+")


class Verdict(enum.Enum):
    """The outcome of checking one request; the value is what a log line may say about it."""

    ALLOWED = "allowed"
    MISSING = "no Authorization header"
    MALFORMED = "the Authorization header is not 'Bearer <token>'"
    UNKNOWN = "the bearer token is not a valid token"

    @property
    def allowed(self) -> bool:
        return self is Verdict.ALLOWED


class TokenSecretError(ValueError):
    """The token secret is malformed. The message names the setting, never a token."""

    def __init__(self, reason: str, setting: str = Env.BEARER_SECRET_ID) -> None:
        super().__init__(f"the bearer token secret {reason} (check {setting})")
        self.reason = reason
        self.setting = setting


class SecretUnavailableError(RuntimeError):
    """Secrets Manager did not hand over the token secret, for a reason that may pass."""


def bearer_secret_id(environ: Mapping[str, str] = os.environ) -> str:
    """The id of the token secret, from the function's environment.

    Read here rather than through a ``pandabridge.settings`` model: the authorizer stands in
    front of every webhook, and importing pydantic and building a model for this one variable
    was a third of its cold start.
    """
    value = environ.get(Env.BEARER_SECRET_ID, "").strip()
    if not value:
        raise TokenSecretError(
            f"has no id: the environment variable {Env.BEARER_SECRET_ID} is unset or empty"
        )
    return value


def integration_of_resource(resource: str) -> str | None:
    """The integration whose path ``resource`` is (``webhook`` or ``/webhook/ops``, as a method
    ARN or a request carries it): ``default`` for the webhook path itself, ``None`` for a path
    that is no integration's."""
    path = "/" + resource.strip("/")
    if path == WEBHOOK_PATH:
        return DEFAULT_INTEGRATION
    parent, _, name = path.rpartition("/")
    if parent == WEBHOOK_PATH and is_integration_name(name) and name != DEFAULT_INTEGRATION:
        return name
    return None


def integration_secret_ids(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """Integration -> the id of its token secret, for every integration but ``default``
    (``Env.INTEGRATION_BEARER_SECRETS``, a JSON object; none set: no other integration)."""
    text = environ.get(Env.INTEGRATION_BEARER_SECRETS, "").strip()
    if not text:
        return {}
    setting = Env.INTEGRATION_BEARER_SECRETS
    try:
        value = json.loads(text)
    except ValueError:
        raise TokenSecretError("map is not JSON", setting) from None
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and v for k, v in value.items()
    ):
        raise TokenSecretError("map is not a JSON object of integration -> secret id", setting)
    return value


def authorization_header(headers: Mapping[str, Any] | None) -> str | None:
    """The value of the one ``Authorization`` header, whatever the case of its name.

    ``None`` when there is none, and also when a plain mapping holds it under two spellings:
    which of the two a proxy would have passed on is unknown, so neither is trusted.
    """
    values = _authorization_values(headers)
    if len(values) != 1 or not isinstance(values[0], str):
        return None
    return values[0]


def bearer_token(headers: Mapping[str, Any] | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else ``None``.

    The scheme is case-insensitive (``bearer`` is as good as ``Bearer``) and whitespace
    around the scheme and the token is ignored; a token with a space inside is no token.
    """
    value = authorization_header(headers)
    if value is None:
        return None
    parts = value.split(None, 1)
    if len(parts) != 2 or parts[0].lower() != SCHEME:
        return None
    token = parts[1].strip()
    if not token or any(character.isspace() for character in token):
        return None
    return token


def token_is_valid(token: str | None, valid_tokens: Sequence[str]) -> bool:
    """Whether ``token`` is one of ``valid_tokens``, in time independent of which and of
    their lengths: every valid token is compared, as a fixed-length digest, without an early
    exit. No token and no valid tokens are never a match."""
    presented = _digest(token if token is not None else "")
    matched = False
    for valid in valid_tokens:
        matched |= hmac.compare_digest(presented, _digest(valid))
    return matched and token is not None and len(valid_tokens) > 0


def check(headers: Mapping[str, Any] | None, valid_tokens: Sequence[str]) -> Verdict:
    """The verdict on a request's headers: what the authorizer and the local gateway enforce."""
    if not _authorization_values(headers):
        return Verdict.MISSING
    token = bearer_token(headers)
    if token is None:
        return Verdict.MALFORMED
    return Verdict.ALLOWED if token_is_valid(token, valid_tokens) else Verdict.UNKNOWN


def is_authorized(headers: Mapping[str, Any] | None, valid_tokens: Sequence[str]) -> bool:
    """Whether the request's bearer token is valid."""
    return check(headers, valid_tokens).allowed


def valid_tokens(secret: str | Mapping[str, Any]) -> tuple[str, ...]:
    """The valid tokens held by the secret's value (its JSON text, or that text parsed).

    Raises ``TokenSecretError`` for any other shape, for an empty, short or non-ASCII token
    and for more than ``Limits.BEARER_TOKENS_MAX`` tokens.
    """
    document = _document(secret)
    if "token" in document and "tokens" in document:
        raise TokenSecretError("holds both 'token' and 'tokens'; keep one of them")
    if "token" in document:
        tokens: Any = [document["token"]]
        field = "token"
    elif "tokens" in document:
        tokens = document["tokens"]
        field = "tokens"
        if not isinstance(tokens, list) or not tokens:
            raise TokenSecretError("'tokens' is not a list of one or two tokens")
    else:
        raise TokenSecretError('is not {"token": "..."} nor {"tokens": ["...", "..."]}')
    if len(tokens) > Limits.BEARER_TOKENS_MAX:
        raise TokenSecretError(
            f"holds {len(tokens)} tokens; at most {Limits.BEARER_TOKENS_MAX} are accepted "
            "(the current one and, during a rotation, the previous one)"
        )
    for position, token in enumerate(tokens):
        where = f"'{field}'" if field == "token" else f"'tokens'[{position}]"
        _check_token(token, where)
    return tuple(tokens)


def is_short(token: str) -> bool:
    """Whether a valid token is shorter than the recommended length."""
    return len(token) < Limits.BEARER_TOKEN_RECOMMENDED_LENGTH


def _authorization_values(headers: Mapping[str, Any] | None) -> list[Any]:
    name = AUTHORIZATION_HEADER.lower()
    return [value for key, value in (headers or {}).items() if str(key).lower() == name]


def _document(secret: str | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(secret, str):
        try:
            secret = json.loads(secret)
        except ValueError:
            raise TokenSecretError("is not JSON") from None
    if not isinstance(secret, Mapping):
        raise TokenSecretError("is not a JSON object")
    return secret


def _check_token(token: Any, where: str) -> None:
    if not isinstance(token, str) or not token:
        raise TokenSecretError(f"has no token in {where} (a non-empty string is expected)")
    if not _TOKEN_CHARACTERS.fullmatch(token):
        raise TokenSecretError(
            f"has a token in {where} with spaces or characters other than visible ASCII"
        )
    if len(token) < Limits.BEARER_TOKEN_MIN_LENGTH:
        raise TokenSecretError(
            f"has a token in {where} shorter than {Limits.BEARER_TOKEN_MIN_LENGTH} characters "
            f"({Limits.BEARER_TOKEN_RECOMMENDED_LENGTH} or more are recommended)"
        )


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()
