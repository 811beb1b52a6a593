"""POST /webhook and POST /webhook/<integration>: validate a BigPanda delivery and store it
before answering, as an incident of the integration its path names (``/webhook`` is the
integration ``default``; see ``pandabridge.identity``).

The handler only shapes HTTP: parsing lives in ``pandabridge.parsing``, the decision in
``pandabridge.incidents`` and the storage in ``pandabridge.stores.incidents``, built by
``pandabridge.composition.ingest``.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import ServiceError
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from pandabridge.aws_clients import TRACED_MODULES
from pandabridge.composition.ingest import incident_store, integrations
from pandabridge.identity import DEFAULT_INTEGRATION, SEPARATOR, IncidentKey
from pandabridge.incidents import IngestResult, ingest
from pandabridge.names import INTEGRATION_PATH_PARAMETER, WEBHOOK_PATH, Metric
from pandabridge.parsing import ErrorDetail, InvalidWebhookError, parse_webhook
from pandabridge.responses import json_response as _json
from pandabridge.settings import ingest_settings

logger = Logger()
metrics = Metrics()
tracer = Tracer(patch_modules=TRACED_MODULES)
app = APIGatewayRestResolver()

RESULT_METRICS = {
    IngestResult.CREATED: Metric.INCIDENT_CREATED,
    IngestResult.UPDATED: Metric.INCIDENT_UPDATED,
    IngestResult.DUPLICATE: Metric.INCIDENT_DUPLICATE,
    IngestResult.STALE: Metric.INCIDENT_STALE,
}


@app.post(WEBHOOK_PATH)
@tracer.capture_method
def receive_webhook() -> Response:
    return _receive(DEFAULT_INTEGRATION)


@app.post(f"{WEBHOOK_PATH}/<{INTEGRATION_PATH_PARAMETER}>")
@tracer.capture_method
def receive_integration_webhook(integration: str) -> Response:
    if integration not in integrations():  # API Gateway has no such resource either
        return _json(HTTPStatus.NOT_FOUND, {"message": "no such integration", "errors": []})
    return _receive(integration)


def _receive(integration: str) -> Response:
    event = app.current_event
    webhook = parse_webhook(
        event.body,
        is_base64_encoded=event.is_base64_encoded,
        link_tag=ingest_settings().link_tag,
    )
    logger.set_correlation_id(webhook.incident_id)
    logger.append_keys(incident_id=webhook.incident_id, integration=integration)
    tracer.put_annotation("incident_id", webhook.incident_id)
    _refuse_colliding(IncidentKey(integration, webhook.incident_id))

    outcome = ingest(webhook, incident_store(), integration=integration)

    metrics.add_metric(RESULT_METRICS[outcome.result], MetricUnit.Count, 1)
    logger.info(
        "webhook stored" if outcome.result.stored else "webhook not stored",
        extra={"result": outcome.result.value, "version": outcome.version.as_json()},
    )
    return _json(HTTPStatus.OK, outcome.as_json())


def _refuse_colliding(key: IncidentKey) -> None:
    """A default incident id that reads as another integration's storage key would be stored
    on that integration's incident: refused, naming why (only while that integration exists)."""
    if key.collides(integrations()):
        owner = key.incident_id.partition(SEPARATOR)[0]
        message = (
            f"incident.id {key.incident_id!r} on {WEBHOOK_PATH} starts with '{owner}{SEPARATOR}', "
            f"the storage key of the integration '{owner}'; send it to {WEBHOOK_PATH}/{owner} "
            "or use another id"
        )
        raise InvalidWebhookError(
            HTTPStatus.BAD_REQUEST,
            f"invalid request body: {message}",
            [ErrorDetail(("body", "incident", "id"), message)],
        )


@app.exception_handler(InvalidWebhookError)
def reject(error: InvalidWebhookError) -> Response:
    metrics.add_metric(Metric.WEBHOOK_REJECTED, MetricUnit.Count, 1)
    logger.warning("webhook rejected", extra={"status": error.status.value, "reason": str(error)})
    return _json(error.status, error.as_json())


@app.exception_handler(Exception)
def fail(error: Exception) -> Response:
    """Storage failed: answer 5xx so the sender knows the delivery was not accepted."""
    if isinstance(error, ServiceError):  # the resolver's own answers, e.g. 404 for other paths
        return _json(HTTPStatus(error.status_code), {"message": error.msg, "errors": []})
    logger.exception("webhook not stored: internal error")
    metrics.add_metric(Metric.WEBHOOK_FAILED, MetricUnit.Count, 1)
    return _json(
        HTTPStatus.INTERNAL_SERVER_ERROR,
        {"message": "internal error: the delivery was not stored, send it again", "errors": []},
    )


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True
)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
