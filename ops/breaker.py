"""``breaker reset INCIDENT_ID [--integration NAME]``: close write-back's circuit breaker on
an incident, so that mirroring its desk events to BigPanda resumes once the loop's cause (an
automation rule, a missing ``two_way.integration_user``) is fixed."""

from __future__ import annotations

from typing import TextIO

from ops.discovery import Resource, Target
from ops.errors import OpsError
from pandabridge.identity import (
    DEFAULT_INTEGRATION,
    INTEGRATION_NAME_PATTERN,
    IncidentKey,
    is_integration_name,
)
from pandabridge.stores.echo import DynamoCircuitBreaker


def reset(target: Target, incident_id: str, *, integration: str | None, out: TextIO) -> int:
    """Close the breaker of the incident (of ``integration``, default without one); exit
    status 0 whether it was open or not."""
    name = integration or DEFAULT_INTEGRATION
    if not is_integration_name(name):
        raise OpsError(
            f"--integration {name!r} is not an integration name ({INTEGRATION_NAME_PATTERN}): "
            "pass the name of its [integrations.<name>] section"
        )
    key = IncidentKey(name, incident_id)
    table = target.resources[Resource.CONTROL_TABLE]
    breaker = DynamoCircuitBreaker(table, target.aws.client("dynamodb"))
    opened = breaker.opened_at(key.storage_key)
    if opened is None:
        out.write(f"the breaker of {key.storage_key} is not open: nothing to reset\n")
        return 0
    breaker.close(key.storage_key)
    out.write(
        f"closed the breaker of {key.storage_key} (open since "
        f"{opened.isoformat(timespec='seconds')}): its desk events are mirrored to BigPanda "
        "again\n"
    )
    return 0
