"""The reconciler function on moto, against the BigPanda stand-in: a scheduled run recovers a
dropped delivery and counts it; a run BigPanda stops is counted as a failure with the reason
and the setting, and is not an error of the invocation."""

from __future__ import annotations

import copy
import io
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from local.aws import MotoServer, put_secret_string
from local.context import LambdaContext
from local.demo.bigpanda import BigPandaStandIn
from local.fakes.bigpanda_api import DEFAULT_SHARE_TARGET
from pandabridge import settings
from pandabridge.composition import reconciler as composition
from pandabridge.names import Env, Metric
from tests.conftest import BIGPANDA_STAND_IN_KEY
from tests.handlers.conftest import Aws, captured_logs, emitted_metrics, log_lines

REPO = Path(__file__).resolve().parents[2]
Payload = dict[str, Any]


@pytest.fixture
def reconciler_env(
    aws: Aws,
    moto_server: MotoServer,
    bigpanda_stand_in: BigPandaStandIn,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[None]:
    """The function's settings: the stand-in's API and key, and a configuration file naming
    the stand-in's share target for the default integration."""
    secret_name = f"bigpanda/{uuid.uuid4()}"  # Powertools caches secrets by name
    put_secret_string(moto_server.endpoint, secret_name, BIGPANDA_STAND_IN_KEY)
    config = tmp_path / "pandabridge.toml"
    config.write_text(
        (REPO / "pandabridge.toml").read_text(encoding="utf-8")
        + f'\n[integrations.default]\nshare_target = "{DEFAULT_SHARE_TARGET}"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv(Env.BIGPANDA_API_BASE, bigpanda_stand_in.api_base)
    monkeypatch.setenv(Env.BIGPANDA_SECRET_ID, secret_name)
    monkeypatch.setenv(Env.DESK_CONFIG_FILE, str(config))
    _clear_caches()
    yield
    _clear_caches()


def _clear_caches() -> None:
    settings.reconciler_settings.cache_clear()
    composition.desk_config.cache_clear()
    composition.api_reconciler.cache_clear()


@pytest.fixture
def run(reconciler_env: None) -> Callable[[], tuple[dict[str, Any], io.StringIO]]:
    """One scheduled invocation of the real handler; its answer and its log lines."""
    from reconciler.handler import handler, logger

    def invoke() -> tuple[dict[str, Any], io.StringIO]:
        with captured_logs(logger) as logs:
            answer = handler({}, LambdaContext(function_name="reconciler"))
        return answer, logs

    return invoke


@pytest.fixture
def dropped(bigpanda_stand_in: BigPandaStandIn, sample: Payload) -> str:
    """A new incident BigPanda shared just now, whose delivery it dropped; its id."""
    payload = copy.deepcopy(sample)
    now = int(time.time())
    incident_id = f"missed-{uuid.uuid4().hex[:8]}"
    payload["incident"].update(id=incident_id, changedOn=now, updatedOn=now)
    bigpanda_stand_in.api.drop_next_deliveries(1)
    bigpanda_stand_in.deliver(payload, lambda _body: pytest.fail("delivered"))
    return incident_id


def test_a_run_recovers_a_dropped_delivery_and_counts_it(
    run: Callable[[], tuple[dict[str, Any], io.StringIO]],
    dropped: str,
    aws: Aws,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given a dropped delivery
    # When the schedule invokes the function
    answer, logs = run()
    # Then the incident is stored as recovered, counted, and logged at WARNING
    assert answer["recovered"] == [dropped]
    assert aws.item(dropped)["recovered"] == {"BOOL": True}  # type: ignore[index]
    metrics = emitted_metrics(capsys.readouterr().out)
    assert metrics[Metric.RECONCILED_INCIDENTS] == [1.0]
    assert metrics[Metric.RECONCILER_API_CALLS] == [float(answer["api_calls"])]
    assert Metric.RECONCILER_FAILURES not in metrics
    [warning] = log_lines(logs, level="WARNING")
    assert warning["message"] == "missed deliveries recovered"


def test_a_run_bigpanda_throttles_is_counted_as_a_failure_not_an_error(
    run: Callable[[], tuple[dict[str, Any], io.StringIO]],
    dropped: str,
    bigpanda_stand_in: BigPandaStandIn,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given BigPanda answers the next call with 429
    bigpanda_stand_in.api.failures.arm(429, 1)
    # When the schedule invokes the function
    answer, logs = run()
    # Then the run stopped and says why; it is counted, and the invocation did not fail
    assert answer["stopped"]
    assert answer["recovered"] == []
    assert emitted_metrics(capsys.readouterr().out)[Metric.RECONCILER_FAILURES] == [1.0]
    [warning] = log_lines(logs, level="WARNING")
    assert warning["message"] == "reconciler run stopped; the next run resumes"
    # And the next run recovers the incident
    assert run()[0]["recovered"] == [dropped]


def test_an_unreadable_api_key_stops_the_run_naming_the_setting(
    run: Callable[[], tuple[dict[str, Any], io.StringIO]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the key secret does not exist
    monkeypatch.setenv(Env.BIGPANDA_SECRET_ID, f"absent/{uuid.uuid4()}")
    settings.reconciler_settings.cache_clear()
    # When the schedule invokes the function
    answer, _ = run()
    # Then the run stopped, naming the variable that names the secret
    assert answer["setting"] == Env.BIGPANDA_SECRET_ID
    assert "cannot be read" in answer["stopped"]
