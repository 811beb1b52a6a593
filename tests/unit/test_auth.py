"""Bearer tokens: the header is read as BigPanda and proxies send it, a token is valid only if
the secret holds it, every valid token is compared whatever matches, and a malformed secret is
a configuration error that names the setting and never a token."""

from __future__ import annotations

import hmac
import json
from collections.abc import Callable
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes.common import CaseInsensitiveDict

from pandabridge import auth
from pandabridge.auth import (
    TokenSecretError,
    Verdict,
    bearer_token,
    check,
    is_authorized,
    is_short,
    token_is_valid,
    valid_tokens,
)
from pandabridge.names import Env, Limits

CURRENT = "c" * 40 + "urrent-token-0123456789"
PREVIOUS = "p" * 40 + "revious-token-0123456789"
TOKENS = (CURRENT,)


def _bearer(token: str, *, scheme: str = "Bearer", name: str = "Authorization") -> dict[str, str]:
    return {name: f"{scheme} {token}"}


# --- reading the header ---------------------------------------------------------------------


def test_a_bearer_header_yields_its_token() -> None:
    # Given `Authorization: Bearer <token>` / When the token is read / Then it is the token
    assert bearer_token(_bearer(CURRENT)) == CURRENT


@pytest.mark.parametrize("name", ["authorization", "AUTHORIZATION", "aUtHoRiZaTiOn"])
def test_the_header_name_is_case_insensitive(name: str) -> None:
    # Given the header under another spelling (HTTP/2 sends it in lower case)
    # When the token is read / Then it is found
    assert bearer_token(_bearer(CURRENT, name=name)) == CURRENT


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "BeArEr"])
def test_the_scheme_is_case_insensitive(scheme: str) -> None:
    # Given the scheme in another case / When the token is read / Then it is found
    assert bearer_token(_bearer(CURRENT, scheme=scheme)) == CURRENT


@pytest.mark.parametrize(
    "value", [f"  Bearer {CURRENT}  ", f"Bearer \t {CURRENT}\t", f"\tBearer {CURRENT}"]
)
def test_whitespace_around_scheme_and_token_is_ignored(value: str) -> None:
    # Given spaces or tabs around the scheme and the token / When the token is read
    # Then it is the token without them
    assert bearer_token({"Authorization": value}) == CURRENT


def test_headers_as_powertools_hands_them_over_are_read() -> None:
    # Given the authorizer event's case-insensitive header mapping
    headers = CaseInsensitiveDict({"authorization": f"Bearer {CURRENT}"})
    # When the request is checked / Then the token is found and allowed
    assert check(headers, TOKENS) is Verdict.ALLOWED


@pytest.mark.parametrize("headers", [None, {}, {"x-api-key": "key"}])
def test_no_authorization_header_is_missing(headers: dict[str, str] | None) -> None:
    # Given no Authorization header / When the request is checked / Then it is refused as such
    assert bearer_token(headers) is None
    assert check(headers, TOKENS) is Verdict.MISSING


@pytest.mark.parametrize(
    "value",
    [
        f"Basic {CURRENT}",
        f"Token {CURRENT}",
        f"Bearer{CURRENT}",
        "Bearer",
        "Bearer    ",
        "",
        f"Bearer {CURRENT} extra",
        CURRENT,
    ],
)
def test_anything_but_one_bearer_token_is_malformed(value: str) -> None:
    # Given an Authorization header that is not `Bearer <token>`
    headers = {"Authorization": value}
    # When the request is checked / Then no token is read and it is refused as malformed
    assert bearer_token(headers) is None
    assert check(headers, TOKENS) is Verdict.MALFORMED


def test_two_spellings_of_the_header_are_not_trusted() -> None:
    # Given a plain mapping with the header twice, under two spellings, one of them valid
    headers = {"Authorization": f"Bearer {CURRENT}", "authorization": "Bearer guess"}
    # When the request is checked / Then neither is used: which one a proxy kept is unknown
    assert bearer_token(headers) is None
    assert check(headers, TOKENS) is Verdict.MALFORMED


# --- checking the token ---------------------------------------------------------------------


def test_a_valid_token_is_allowed() -> None:
    # Given the current token / When the request is checked / Then it is allowed
    assert check(_bearer(CURRENT), TOKENS) is Verdict.ALLOWED
    assert is_authorized(_bearer(CURRENT), TOKENS) is True


@pytest.mark.parametrize(
    "token",
    [
        "wrong-token-of-some-length-0123456789",
        CURRENT[:-1],
        CURRENT + "x",
        CURRENT.upper(),
        "é" * 40,
    ],
)
def test_any_other_token_is_unknown(token: str) -> None:
    # Given a token the secret does not hold (a prefix, a longer one, another case, non-ASCII)
    # When the request is checked / Then it is refused as unknown
    assert token_is_valid(token, TOKENS) is False
    assert check(_bearer(token), TOKENS) is Verdict.UNKNOWN
    assert is_authorized(_bearer(token), TOKENS) is False


@pytest.mark.parametrize("token", [CURRENT, PREVIOUS])
def test_during_a_rotation_both_tokens_are_allowed(token: str) -> None:
    # Given a secret with the new and the old token / When either is sent / Then it is allowed
    assert check(_bearer(token), (CURRENT, PREVIOUS)) is Verdict.ALLOWED


def test_after_a_rotation_the_old_token_is_unknown() -> None:
    # Given a secret from which the old token was dropped / When it is sent / Then it is refused
    assert check(_bearer(PREVIOUS), (CURRENT,)) is Verdict.UNKNOWN


@pytest.mark.parametrize(("token", "tokens"), [(None, TOKENS), (CURRENT, ()), (None, ())])
def test_no_token_or_no_valid_tokens_never_match(
    token: str | None, tokens: tuple[str, ...]
) -> None:
    # Given no token, or nothing to compare it with / Then it is not valid
    assert token_is_valid(token, tokens) is False


@pytest.fixture
def comparisons(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, Any]]:
    """Every pair ``hmac.compare_digest`` is called with by the check."""
    calls: list[tuple[Any, Any]] = []
    real: Callable[[Any, Any], bool] = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(auth.hmac, "compare_digest", spy)
    return calls


@pytest.mark.parametrize("token", [CURRENT, PREVIOUS, "short", "x" * 500])
def test_every_valid_token_is_compared_whichever_matches(
    token: str, comparisons: list[tuple[Any, Any]]
) -> None:
    # Given two valid tokens and a token matching the first, the second or neither
    # When it is checked
    token_is_valid(token, (CURRENT, PREVIOUS))
    # Then both valid tokens were compared, in constant time, as values of one fixed length:
    # neither which token matched nor any length shows in the work done
    assert len(comparisons) == 2
    assert {len(value) for pair in comparisons for value in pair} == {32}


# --- reading the secret ---------------------------------------------------------------------


def test_the_generated_shape_holds_one_token() -> None:
    # Given the secret as the stack generates it / When its tokens are read / Then one
    assert valid_tokens(json.dumps({"token": CURRENT})) == (CURRENT,)


def test_the_rotation_shape_holds_both_tokens_in_order() -> None:
    # Given the secret during a rotation, already parsed (as Powertools' json transform gives)
    # When its tokens are read / Then both, the current first
    assert valid_tokens({"tokens": [CURRENT, PREVIOUS]}) == (CURRENT, PREVIOUS)


def test_the_list_shape_may_hold_a_single_token() -> None:
    assert valid_tokens({"tokens": [CURRENT]}) == (CURRENT,)


def test_other_keys_are_ignored() -> None:
    # Given a note beside the token (who rotated it, when) / Then the token is still read
    assert valid_tokens({"token": CURRENT, "rotated_by": "ops"}) == (CURRENT,)


def test_a_token_of_the_minimum_length_is_accepted_but_short() -> None:
    # Given a token exactly as long as the minimum / When the secret is read
    token = "m" * Limits.BEARER_TOKEN_MIN_LENGTH
    # Then it is accepted, and flagged as shorter than recommended
    assert valid_tokens({"token": token}) == (token,)
    assert is_short(token) is True
    assert is_short(CURRENT) is False


@pytest.mark.parametrize(
    ("secret", "complaint"),
    [
        ("not json", "is not JSON"),
        ('["a list"]', "is not a JSON object"),
        ({}, "is not"),
        ({"Token": CURRENT}, "is not"),
        ({"token": CURRENT, "tokens": [PREVIOUS]}, "both"),
        ({"token": ""}, "no token in 'token'"),
        ({"token": None}, "no token in 'token'"),
        ({"token": 12345678901234567890}, "no token in 'token'"),
        ({"tokens": []}, "list of one or two"),
        ({"tokens": CURRENT}, "list of one or two"),
        ({"tokens": [CURRENT, PREVIOUS, CURRENT + "3"]}, "holds 3 tokens"),
        ({"tokens": [CURRENT, ""]}, r"no token in 'tokens'\[1\]"),
        ({"token": "has a space inside it"}, "spaces"),
        ({"token": "non-ascii-é-token-0123456789"}, "visible ASCII"),
        ({"token": "s" * (Limits.BEARER_TOKEN_MIN_LENGTH - 1)}, "shorter than 16"),
        ({"tokens": [CURRENT, "s" * 15]}, r"'tokens'\[1\] shorter than 16"),
    ],
)
def test_a_malformed_secret_is_a_configuration_error_naming_the_setting(
    secret: Any, complaint: str
) -> None:
    # Given a secret value of the wrong shape / When its tokens are read
    # Then the error says what is wrong and names the setting to check
    with pytest.raises(TokenSecretError, match=complaint) as raised:
        valid_tokens(secret)
    assert raised.value.setting == Env.BEARER_SECRET_ID
    assert Env.BEARER_SECRET_ID in str(raised.value)


@pytest.mark.parametrize(
    "secret",
    [
        {"token": "short-secret"},
        {"tokens": [CURRENT, "another secret"]},
        {"token": "sécret-token-0123456789"},
    ],
)
def test_a_configuration_error_never_shows_a_token(secret: dict[str, Any]) -> None:
    # Given a malformed secret holding (parts of) tokens / When its tokens are read
    with pytest.raises(TokenSecretError) as raised:
        valid_tokens(secret)
    # Then no token is in the message
    tokens = secret.get("tokens") or [secret["token"]]
    assert not any(token in str(raised.value) for token in tokens)
