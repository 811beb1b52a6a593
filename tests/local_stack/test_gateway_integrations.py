"""The local gateway with several integrations, over real HTTP: each path takes only its own
integration's tokens, and API Gateway's cache of a decision (per Authorization value) covers
only the path it was made for, as the stack's path-exact policy makes it."""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from typing import Any

import pytest

from local import defaults
from local.client import authorization
from local.functions import invoke
from local.gateway import LocalGateway, Route
from pandabridge.auth import DENIED_MESSAGE
from pandabridge.names import AUTHORIZATION_HEADER, WEBHOOK_PATH
from tests.local_stack.harness import HttpAnswer, http_request
from tests.local_stack.test_gateway import KEY, Recorder

DEFAULT_TOKEN = "gateway-default-token-0123456789"
OPS_TOKEN = "gateway-ops-token-0123456789abc"
OPS_PATH = f"{WEBHOOK_PATH}/ops"


@pytest.fixture
def served() -> Iterator[tuple[LocalGateway, Recorder]]:
    recorder = Recorder()
    call = partial(invoke, recorder, function_name="recorder")
    routes = [Route("POST", WEBHOOK_PATH, call), Route("POST", OPS_PATH, call, integration="ops")]
    tokens = {"default": [DEFAULT_TOKEN], "ops": [OPS_TOKEN]}
    gateway = LocalGateway(routes, KEY, bearer_tokens=tokens).start()
    yield gateway, recorder
    gateway.stop()


def post(gateway: LocalGateway, path: str, token: str) -> HttpAnswer:
    headers = {defaults.API_KEY_HEADER: KEY, AUTHORIZATION_HEADER: authorization(token)}
    return http_request("POST", gateway.url(path), b"{}", headers)


def test_each_path_takes_its_own_integrations_token(
    served: tuple[LocalGateway, Recorder],
) -> None:
    gateway, recorder = served
    assert post(gateway, OPS_PATH, OPS_TOKEN).json() == {"ok": True}
    assert post(gateway, WEBHOOK_PATH, DEFAULT_TOKEN).json() == {"ok": True}
    assert len(recorder.calls) == 2


@pytest.mark.parametrize(("path", "token"), [(OPS_PATH, DEFAULT_TOKEN), (WEBHOOK_PATH, OPS_TOKEN)])
def test_a_token_on_another_integrations_path_is_denied_and_nothing_invoked(
    served: tuple[LocalGateway, Recorder], path: str, token: str
) -> None:
    gateway, recorder = served
    answer = post(gateway, path, token)
    assert answer.status == 403
    assert answer.json()["message"] == DENIED_MESSAGE
    assert recorder.calls == []


def test_a_cached_allow_does_not_open_another_integrations_path(
    served: tuple[LocalGateway, Recorder],
) -> None:
    # Given ops's token allowed on ops's path: the decision is now cached for its header
    gateway, recorder = served
    assert post(gateway, OPS_PATH, OPS_TOKEN).status == 200
    # When the same header comes on the default path
    answer: Any = post(gateway, WEBHOOK_PATH, OPS_TOKEN)
    # Then the cached decision does not cover it: 403, and the function is not called again
    assert answer.status == 403
    assert len(recorder.calls) == 1
