"""``breaker reset INCIDENT_ID [--integration NAME]``: close write-back's circuit breaker on
an incident, so that mirroring its desk events to BigPanda resumes once the loop's cause (an
automation rule, a missing ``two_way.integration_user``) is fixed."""

from __future__ import annotations

from typing import TextIO

from ops.discovery import Resource, Target
from pandabridge.stores.echo import DynamoCircuitBreaker


def reset(target: Target, storage_key: str, *, out: TextIO) -> int:
    """Close the breaker of the incident stored under ``storage_key``; exit status 0 whether
    it was open or not."""
    table = target.resources[Resource.CONTROL_TABLE]
    breaker = DynamoCircuitBreaker(table, target.aws.client("dynamodb"))
    opened = breaker.opened_at(storage_key)
    if opened is None:
        out.write(f"the breaker of {storage_key} is not open: nothing to reset\n")
        return 0
    breaker.close(storage_key)
    out.write(
        f"closed the breaker of {storage_key} (open since "
        f"{opened.isoformat(timespec='seconds')}): its desk events are mirrored to BigPanda "
        "again\n"
    )
    return 0
