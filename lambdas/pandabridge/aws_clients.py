"""The AWS clients of this process: one session, one client per service.

A new boto3 session reads botocore's endpoint and service data from disk again, tens of
milliseconds of a cold start each time; every client here comes from the one session, so
that data is read once per process. Powertools Parameters would otherwise create a session of
its own for Secrets Manager, so its secrets provider is given a client from this session too.
"""

from __future__ import annotations

import threading
from functools import cache
from typing import TYPE_CHECKING, Any, Final

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters.secrets import SecretsProvider
    from boto3.session import Session

# Throttling and 5xx are retried with backoff, 3 attempts in all (``total_max_attempts``
# counts the first; the older ``max_attempts`` does not), a few seconds at most. A hung call is
# cut after 2 + 5 s rather than holding ingest past the 29 s API Gateway waits; the queue
# consumers leave longer waits to the queue's own backoff.
AWS_CLIENT_CONFIG: Final = Config(
    retries={"mode": "standard", "total_max_attempts": 3},
    connect_timeout=2,
    read_timeout=5,
)

# What X-Ray instruments: AWS calls (botocore) and the service desk and BigPanda calls, which
# urllib3 makes through http.client. Naming them keeps the tracer from importing every other
# library it knows how to patch just because it happens to be installed.
TRACED_MODULES: Final = ("botocore", "httplib")

# Creating clients from one session is not thread-safe; the local stack runs the functions
# in threads of one process.
_LOCK: Final = threading.Lock()


@cache
def _session() -> Session:
    return boto3.session.Session()


@cache
def _client(service: str) -> Any:
    return _session().client(service, config=AWS_CLIENT_CONFIG)  # type: ignore[call-overload]


def client(service: str) -> Any:
    """The process's client for ``service``, built on first use."""
    with _LOCK:
        return _client(service)


def secrets_provider() -> SecretsProvider:
    """The provider behind ``parameters.get_secret``, on a client of this process's session.

    Its client keeps botocore's default configuration, as the provider's own would have.
    """
    # Imported here: Parameters loads every provider it has, and ingest reads no secret.
    from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS
    from aws_lambda_powertools.utilities.parameters.secrets import SecretsProvider

    with _LOCK:
        if "secrets" not in DEFAULT_PROVIDERS:
            secrets_client = _session().client("secretsmanager")
            DEFAULT_PROVIDERS["secrets"] = SecretsProvider(boto3_client=secrets_client)
        provider: SecretsProvider = DEFAULT_PROVIDERS["secrets"]
        return provider
