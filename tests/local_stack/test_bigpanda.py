"""The BigPanda API stand-in over real HTTP: the outbound callback service, and its controls.

The last tests drive it with the callback function's own BigPanda client, so that the stand-in
and the client are held to the same contract.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from local.demo.bigpanda import BigPandaStandIn, mask_credential
from pandabridge.bigpanda import BigPandaClient
from pandabridge.errors import PermanentError, RetryableError
from pandabridge.http import HttpClient
from pandabridge.names import BIGPANDA_CALLBACK_PATH
from pandabridge.rate_limit import MemoryRateLimiter, org_id
from tests.local_stack.harness import HttpAnswer, http_request

API_KEY = "stand-in-test-key-5e0c7b21"
APP_KEY = "stand-in-test-app"
MASKED_KEY = f"Bearer ****{API_KEY[-4:]}"

Call = Callable[..., HttpAnswer]


@pytest.fixture(scope="module")
def served() -> Iterator[BigPandaStandIn]:
    stand_in = BigPandaStandIn(API_KEY).start()
    yield stand_in
    stand_in.stop()


@pytest.fixture
def bigpanda(served: BigPandaStandIn) -> Iterator[BigPandaStandIn]:
    """The module's stand-in; no failures planned before or after the test."""
    served.failures.arm(503, 0)
    yield served
    served.failures.arm(503, 0)


@pytest.fixture
def incident_id() -> str:
    return f"bp-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def callback_body(incident_id: str) -> dict[str, Any]:
    return {"event_type": "incident#new", "incident_id": incident_id, "app_key": APP_KEY}


@pytest.fixture
def call(bigpanda: BigPandaStandIn) -> Call:
    """POSTs a callback, with the stand-in's key as a bearer token unless told otherwise."""

    def send(document: object, *, authorization: str | None = f"Bearer {API_KEY}") -> HttpAnswer:
        headers = {"Content-Type": "application/json"}
        if authorization is not None:
            headers["Authorization"] = authorization
        body = document if isinstance(document, bytes) else json.dumps(document).encode()
        return http_request("POST", f"{bigpanda.api_base}{BIGPANDA_CALLBACK_PATH}", body, headers)

    return send


def listing(bigpanda: BigPandaStandIn, incident_id: str | None = None) -> HttpAnswer:
    query = f"?incident_id={incident_id}" if incident_id else ""
    return http_request("GET", f"{bigpanda.callbacks_url}{query}")


def test_a_valid_callback_is_answered_as_bigpanda_answers_it(
    call: Call, callback_body: dict[str, Any]
) -> None:
    # When a callback with the key and a complete body is posted
    answer = call(callback_body)
    # Then BigPanda's success answer comes back
    assert answer.status == 200
    assert answer.json() == {"status": 200, "data": {}}


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer wrong-key-0000", f"Basic {API_KEY}", API_KEY, "Bearer "],
    ids=["no header", "wrong key", "other scheme", "no scheme", "empty token"],
)
def test_a_callback_without_the_bearer_key_is_401(
    call: Call, callback_body: dict[str, Any], authorization: str | None
) -> None:
    # When a callback comes without the configured key as a bearer token
    answer = call(callback_body, authorization=authorization)
    # Then it is refused as unauthorized, in JSON
    assert answer.status == 401
    assert answer.json()["status"] == 401


@pytest.mark.parametrize(
    ("change", "body"),
    [
        ({"event_type": None}, None),
        ({"incident_id": ""}, None),
        ({"app_key": None}, None),
        ({"event_type": "incident#updated"}, None),
        ({}, b"{not json"),
        ({}, b"[]"),
    ],
    ids=["no event_type", "empty incident_id", "no app_key", "other event", "not JSON", "a list"],
)
def test_a_callback_with_a_bad_body_is_400(
    call: Call, callback_body: dict[str, Any], change: dict[str, Any], body: bytes | None
) -> None:
    # Given a body that lacks a field, or is not a callback at all
    document = {k: v for k, v in {**callback_body, **change}.items() if v is not None}
    # When it is posted with the right key
    answer = call(body if body is not None else document)
    # Then it is refused as a bad request
    assert answer.status == 400
    assert answer.json()["status"] == 400


def test_every_call_is_listed_with_its_headers_and_body_and_the_token_masked(
    bigpanda: BigPandaStandIn, call: Call, callback_body: dict[str, Any], incident_id: str
) -> None:
    # Given a refused callback and an accepted one about an incident
    wrong = "Bearer another-key-1234abcd"
    call(callback_body, authorization=wrong)
    call(callback_body)
    # When the calls are listed
    answer = listing(bigpanda, incident_id)
    # Then both are there, oldest first, with path, status, body and masked tokens
    records = answer.json()["callbacks"]
    assert [(r["method"], r["path"], r["status"]) for r in records] == [
        ("POST", BIGPANDA_CALLBACK_PATH, 401),
        ("POST", BIGPANDA_CALLBACK_PATH, 200),
    ]
    assert [r["headers"]["Authorization"] for r in records] == ["Bearer ****abcd", MASKED_KEY]
    assert records[1]["headers"]["Content-Type"] == "application/json"
    assert records[1]["body"] == callback_body
    assert records[1]["at"].endswith("+00:00")
    # and neither token appears anywhere in the listing
    assert API_KEY not in answer.body.decode()
    assert "another-key-1234abcd" not in answer.body.decode()


def test_a_key_sent_anywhere_but_the_header_is_cut_out_of_the_records(
    bigpanda: BigPandaStandIn, call: Call, callback_body: dict[str, Any]
) -> None:
    # When a client puts the key into the body too
    call({**callback_body, "note": f"key {API_KEY}"})
    # Then the listing shows no trace of it
    assert API_KEY not in listing(bigpanda).body.decode()


@pytest.mark.parametrize(
    ("value", "masked"),
    [
        ("Bearer abcdefghijklmnop", "Bearer ****mnop"),
        ("Bearer short-key", "Bearer ****"),
        ("abcdefghijklmnop", "****mnop"),
    ],
    ids=["bearer", "short token", "no scheme"],
)
def test_a_credential_is_masked_to_its_scheme_and_last_four_characters(
    value: str, masked: str
) -> None:
    # When a credential is masked
    # Then only its scheme and, for a long enough token, its last 4 characters are left
    assert mask_credential(value) == masked


def test_the_fail_control_fails_the_next_callbacks_then_lets_them_through(
    bigpanda: BigPandaStandIn, call: Call, callback_body: dict[str, Any]
) -> None:
    # Given two planned failures with a Retry-After
    url = f"{bigpanda.fail_url}?status=503&count=2&retry_after=7"
    armed = http_request("POST", url)
    assert armed.json() == {"status": 503, "count": 2, "retry_after": 7}
    # When three callbacks are posted
    answers = [call(callback_body) for _ in range(3)]
    # Then the first two fail as planned, and the third is confirmed
    assert [answer.status for answer in answers] == [503, 503, 200]
    assert answers[0].headers["Retry-After"] == "7"


@pytest.mark.parametrize(
    "query",
    ["status=200&count=1", "status=503&count=-1", "status=abc"],
    ids=["not an error status", "negative count", "not a number"],
)
def test_the_fail_control_refuses_what_it_cannot_plan(
    bigpanda: BigPandaStandIn, query: str
) -> None:
    # When the fail control gets parameters it cannot use
    answer = http_request("POST", f"{bigpanda.fail_url}?{query}")
    # Then it says so, and plans nothing
    assert answer.status == 400
    assert bigpanda.failures.take() is None


def client(bigpanda: BigPandaStandIn, api_key: str) -> BigPandaClient:
    """The callback function's BigPanda client, pointed at the stand-in."""
    return BigPandaClient(
        bigpanda.api_base,
        api_key,
        APP_KEY,
        HttpClient(timeout_seconds=5),
        limiter=MemoryRateLimiter(),
        org=org_id(bigpanda.api_base, "stand-in"),
    )


def test_the_callback_functions_client_is_confirmed_by_the_stand_in(
    bigpanda: BigPandaStandIn, incident_id: str, callback_body: dict[str, Any]
) -> None:
    # When the function's client confirms a ticket with the right key
    client(bigpanda, API_KEY).confirm_ticket(incident_id)
    # Then the stand-in accepted exactly the documented callback
    (record,) = bigpanda.records(incident_id)
    assert (record.status, record.body) == (200, callback_body)


def test_the_callback_functions_client_takes_a_401_as_permanent_without_the_key(
    bigpanda: BigPandaStandIn, incident_id: str
) -> None:
    # When the function's client calls with a key the stand-in does not know
    wrong_key = "not-the-stand-in-key-9f2e"
    with pytest.raises(PermanentError) as raised:
        client(bigpanda, wrong_key).confirm_ticket(incident_id)
    # Then it is a permanent failure whose message keeps the key out
    assert raised.value.status == 401
    assert wrong_key not in str(raised.value)


def test_the_callback_functions_client_takes_a_planned_503_as_retryable_after_its_delay(
    bigpanda: BigPandaStandIn, incident_id: str
) -> None:
    # Given a planned failure with a Retry-After
    bigpanda.failures.arm(503, 1, retry_after=7)
    # When the function's client calls
    with pytest.raises(RetryableError) as raised:
        client(bigpanda, API_KEY).confirm_ticket(incident_id)
    # Then it is a failure to retry, no sooner than the stand-in asked
    assert raised.value.retry_after == 7
