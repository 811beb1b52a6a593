"""The ingest function's collaborators: the incident store (the table and the payload bucket).

Ticket sync reads incidents through the same store, and the local stack's console reads them
back through it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from functools import cache

from pandabridge.aws_clients import client
from pandabridge.identity import DEFAULT_INTEGRATION, is_integration_name
from pandabridge.names import Env
from pandabridge.settings import ConfigurationError, storage_settings
from pandabridge.stores.incidents import IncidentStore


@cache
def incident_store() -> IncidentStore:
    """The store of this process, built from its settings on first use."""
    settings = storage_settings()
    return IncidentStore(
        table_name=settings.incidents_table_name,
        bucket_name=settings.payload_bucket_name,
        dynamodb=client("dynamodb"),
        s3=client("s3"),
        inline_payload_max_bytes=settings.inline_payload_max_bytes,
    )


def integration_names(environ: Mapping[str, str] = os.environ) -> frozenset[str]:
    """The integrations besides ``default`` that the stack gave this function
    (``Env.INTEGRATIONS``); a malformed name fails the invocation, naming the variable."""
    names = frozenset(n.strip() for n in environ.get(Env.INTEGRATIONS, "").split(",") if n.strip())
    wrong = sorted(n for n in names if not is_integration_name(n) or n == DEFAULT_INTEGRATION)
    if wrong:
        raise ConfigurationError(
            f"invalid function configuration: environment variable {Env.INTEGRATIONS}: "
            f"not integration names: {', '.join(wrong)}"
        )
    return names


@cache
def integrations() -> frozenset[str]:
    """This process's integrations besides ``default``, read on first use."""
    return integration_names()
