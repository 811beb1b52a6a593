"""POST /desk/{target}/events: verify a desk's event, store it, queue it in its incident's group.

The handler only shapes HTTP: verification is ``pandabridge.desk_event_auth``'s, parsing
``pandabridge.desk_events``', and storing and queueing ``pandabridge.desk_event_intake``'s,
built by ``pandabridge.composition.desk_events``. Nothing is stored before the event is
verified: a missing credential answers 401, a wrong or stale one 403. A verified event about
a ticket we do not know, or a change we do not mirror, answers 202 and is stored nowhere.
"""

from __future__ import annotations

import base64
import binascii
import time
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import ServiceError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from pandabridge.aws_clients import TRACED_MODULES
from pandabridge.composition.desk_events import intake, target_secret, two_way_target
from pandabridge.desk_event_auth import Verdict, check
from pandabridge.desk_event_intake import IntakeResult
from pandabridge.desk_events import (
    JIRA_DELIVERY_HEADER,
    DeskChange,
    InvalidDeskEventError,
    parse_http,
    parse_jira,
    parse_servicenow,
)
from pandabridge.names import DESK_EVENTS_PATH, DESK_EVENTS_TARGET_PARAMETER, Metric
from pandabridge.responses import error_response, json_response

logger = Logger()
metrics = Metrics()
tracer = Tracer(patch_modules=TRACED_MODULES)
app = APIGatewayRestResolver()

# Powertools writes a path parameter as <name>, API Gateway as {name}.
ROUTE = DESK_EVENTS_PATH.replace(
    "{" + DESK_EVENTS_TARGET_PARAMETER + "}", f"<{DESK_EVENTS_TARGET_PARAMETER}>"
)

RESULT_METRICS = {
    IntakeResult.QUEUED: Metric.DESK_EVENT_QUEUED,
    IntakeResult.DUPLICATE: Metric.DESK_EVENT_DUPLICATE,
    IntakeResult.UNKNOWN_TICKET: Metric.DESK_EVENT_IGNORED,
}
NOT_MIRRORED = "ignored: not a change that is mirrored (resolve, reopen, comment, assignment)"


@app.post(ROUTE)
@tracer.capture_method
def receive_desk_event(target: str) -> Response:
    logger.append_keys(target=target)
    config = two_way_target(target)
    if config is None:
        return _rejected(
            HTTPStatus.NOT_FOUND,
            f"no target {target!r} takes desk events: the desk configuration needs "
            f"[targets.{target}.two_way] with events_secret",
        )
    event = app.current_event
    body = _raw_body(event.body, is_base64_encoded=event.is_base64_encoded)
    headers = event.raw_event.get("headers") or {}
    verdict = check(config.kind, body, headers, target_secret(target, config), now=time.time())
    if verdict is not Verdict.ALLOWED:
        return _rejected(HTTPStatus(verdict.status), verdict.value)

    changes = _parse(config.kind)(body, target, headers)
    if not changes:
        metrics.add_metric(Metric.DESK_EVENT_IGNORED, MetricUnit.Count, 1)
        logger.info("desk event ignored: not a change that is mirrored")
        return json_response(
            HTTPStatus.ACCEPTED, {"target": target, "result": NOT_MIRRORED, "events": []}
        )

    outcomes = intake().take(changes, target_names=(target, config.kind))
    for outcome in outcomes:
        metrics.add_metric(RESULT_METRICS[outcome.result], MetricUnit.Count, 1)
        logger.info(
            f"desk event {outcome.result.value}",
            extra={
                "event_id": outcome.event_id,
                "ticket": outcome.ticket_key,
                "kind": outcome.kind,
                "incident_id": outcome.incident_id,
            },
        )
    stored = any(outcome.result.stored for outcome in outcomes)
    return json_response(
        HTTPStatus.OK if stored else HTTPStatus.ACCEPTED,
        {"target": target, "events": [outcome.as_json() for outcome in outcomes]},
    )


def _parse(kind: str) -> Callable[[bytes, str, dict[str, Any]], list[DeskChange]]:
    if kind == "jira":
        return lambda body, target, headers: parse_jira(
            body, target=target, delivery_id=_header(headers, JIRA_DELIVERY_HEADER)
        )
    if kind == "servicenow":
        return lambda body, target, _: parse_servicenow(body, target=target)
    return lambda body, target, _: parse_http(body, target=target)


def _header(headers: dict[str, Any], name: str) -> str | None:
    values = [value for key, value in headers.items() if str(key).lower() == name.lower()]
    return values[0] if len(values) == 1 and isinstance(values[0], str) else None


def _raw_body(body: str | None, *, is_base64_encoded: bool) -> bytes:
    """The bytes the desk signed: API Gateway hands JSON over as text (UTF-8)."""
    if body is None:
        return b""
    if is_base64_encoded:
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidDeskEventError("the body is not valid base64") from None
    return body.encode("utf-8", "surrogatepass")


@app.exception_handler(InvalidDeskEventError)
def reject(error: InvalidDeskEventError) -> Response:
    return _rejected(error.status, str(error))


@app.exception_handler(Exception)
def fail(error: Exception) -> Response:
    """Reading the secret, storing or queueing failed: 5xx, so the desk sends it again."""
    if isinstance(error, ServiceError):  # the resolver's own answers, e.g. 404 for other paths
        return error_response(HTTPStatus(error.status_code), error.msg)
    logger.exception("desk event not stored: internal error")
    metrics.add_metric(Metric.DESK_EVENT_FAILED, MetricUnit.Count, 1)
    return error_response(
        HTTPStatus.INTERNAL_SERVER_ERROR, "internal error: the event was not stored, send it again"
    )


def _rejected(status: HTTPStatus, reason: str) -> Response:
    metrics.add_metric(Metric.DESK_EVENT_REJECTED, MetricUnit.Count, 1)
    logger.warning("desk event rejected", extra={"status": status.value, "reason": reason})
    return error_response(status, reason)


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True
)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
