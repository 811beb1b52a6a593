"""API Gateway REQUEST authorizer: POST /webhook and POST /webhook/<integration> must carry
``Authorization: Bearer <token>`` with a token of that path's integration.

The check is ``pandabridge.auth``'s and the valid tokens come from the integration's token
secret through ``pandabridge.composition.authorizer``; this module answers with an IAM policy
for exactly the method ARN it was asked about. API Gateway caches the policy per
``Authorization`` header value and applies it to later requests with that header on any path:
a policy for the whole stage would let one integration's token through on another's path.
With the exact ARN, a cached policy covers only the path it was decided for; the same header on
another path is refused from the cache (an implicit deny). The price: a token sent once to a
path that is not its own is refused on its own path too until the cached Deny expires
(``authorizer_cache_seconds``); only someone holding the token can cause that.

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

from pandabridge.auth import (
    SecretUnavailableError,
    TokenSecretError,
    Verdict,
    check,
    integration_of_resource,
    is_short,
)
from pandabridge.aws_clients import TRACED_MODULES
from pandabridge.composition.authorizer import bearer_tokens
from pandabridge.identity import DEFAULT_INTEGRATION
from pandabridge.names import Env, Limits, Metric

logger = Logger()
metrics = Metrics()
tracer = Tracer(patch_modules=TRACED_MODULES)

_MAP: Final = Env.INTEGRATION_BEARER_SECRETS
# The caller, as API Gateway's access log and the function's own policy name it.
PRINCIPAL_ID: Final = "bigpanda"


def _tokens(integration: str) -> tuple[str, ...] | None:
    """The valid tokens of ``integration``, or ``None`` (after logging why) when the
    configuration is wrong."""
    try:
        tokens = bearer_tokens(integration)
    except SecretUnavailableError as error:
        default = integration == DEFAULT_INTEGRATION
        _misconfigured(str(error), Env.BEARER_SECRET_ID if default else _MAP)
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
    integration = integration_of_resource(arn.resource)
    tokens = _tokens(integration) if integration is not None else ()
    verdict = Verdict.UNKNOWN if tokens is None else check(event.headers, tokens)
    tracer.put_annotation("verdict", verdict.name)
    if verdict.allowed:
        policy.allow_route(arn.http_method, arn.resource)
    else:
        metrics.add_metric(Metric.AUTHORIZER_REJECTED, MetricUnit.Count, 1)
        if tokens is not None:
            logger.warning(
                "request refused",
                extra={
                    "reason": verdict.value,
                    "integration": integration,
                    "source_ip": _source_ip(event),
                },
            )
        policy.deny_route(arn.http_method, arn.resource)
    return policy.asdict()


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True
)
@metrics.log_metrics
@tracer.capture_lambda_handler
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:  # noqa: ARG001
    return authorize(APIGatewayAuthorizerRequestEvent(event))
