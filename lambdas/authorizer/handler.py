"""API Gateway REQUEST authorizer: POST /webhook must carry ``Authorization: Bearer <token>``.

The check is ``pandabridge.auth``'s and the valid tokens come from the token secret through
``pandabridge.composition.authorizer``; this module answers with an IAM policy. Every
answer is an explicit policy for the whole stage (``<api>/<stage>/*/*``): API Gateway caches
it per ``Authorization`` header value, so a cached decision must hold for every method the
authorizer guards, not only for the request that produced it.

- A valid token: Allow.
- No header, another scheme, an unknown token: Deny, a warning and ``AuthorizerRejected``.
- A secret that holds no valid tokens (or a function without its setting): Deny, an error
  naming the setting and ``AuthorizerMisconfigured``; never Allow.
- A secret that Secrets Manager could not hand over for a reason that may pass (throttling,
  a network or service error): the same error and metric, then the invocation fails, so that
  API Gateway answers 500 and caches nothing, instead of refusing BigPanda's token for the
  whole cache period after a passing fault.

Neither the header nor a token is ever logged; the event is not logged.
"""

from __future__ import annotations

from typing import Any, Final

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
    APIGatewayAuthorizerResponse,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from pandabridge.auth import SecretUnavailableError, TokenSecretError, Verdict, check, is_short
from pandabridge.aws_clients import TRACED_MODULES
from pandabridge.composition.authorizer import bearer_tokens
from pandabridge.names import Env, Limits, Metric

logger = Logger()
metrics = Metrics()
tracer = Tracer(patch_modules=TRACED_MODULES)

# The caller, as API Gateway's access log and the function's own policy name it.
PRINCIPAL_ID: Final = "bigpanda"


def _tokens() -> tuple[str, ...] | None:
    """The valid tokens, or ``None`` (after logging why) when the configuration is wrong."""
    try:
        tokens = bearer_tokens()
    except SecretUnavailableError as error:
        _misconfigured(str(error), Env.BEARER_SECRET_ID)
        raise
    except TokenSecretError as error:
        _misconfigured(str(error), error.setting)
        return None
    if any(map(is_short, tokens)):
        logger.warning(
            "a bearer token is shorter than recommended",
            extra={
                "setting": Env.BEARER_SECRET_ID,
                "recommended_length": Limits.BEARER_TOKEN_RECOMMENDED_LENGTH,
            },
        )
    return tokens


def _misconfigured(reason: str, setting: str) -> None:
    metrics.add_metric(Metric.AUTHORIZER_MISCONFIGURED, MetricUnit.Count, 1)
    logger.error("every request is refused: " + reason, extra={"setting": setting})


def _source_ip(event: APIGatewayAuthorizerRequestEvent) -> str | None:
    identity = (event.get("requestContext") or {}).get("identity") or {}
    return identity.get("sourceIp")


@tracer.capture_method
def authorize(event: APIGatewayAuthorizerRequestEvent) -> dict[str, Any]:
    arn = event.parsed_arn
    policy = APIGatewayAuthorizerResponse(
        principal_id=PRINCIPAL_ID,
        region=arn.region,
        aws_account_id=arn.aws_account_id,
        api_id=arn.api_id,
        stage=arn.stage,
        partition=arn.partition,
    )
    tokens = _tokens()
    verdict = Verdict.UNKNOWN if tokens is None else check(event.headers, tokens)
    tracer.put_annotation("verdict", verdict.name)
    if verdict.allowed:
        policy.allow_all_routes()
    else:
        metrics.add_metric(Metric.AUTHORIZER_REJECTED, MetricUnit.Count, 1)
        if tokens is not None:
            logger.warning(
                "request refused", extra={"reason": verdict.value, "source_ip": _source_ip(event)}
            )
        policy.deny_all_routes()
    return policy.asdict()


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True
)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:  # noqa: ARG001
    return authorize(APIGatewayAuthorizerRequestEvent(event))
