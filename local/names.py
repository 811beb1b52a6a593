"""The physical names the local stack gives its tables, bucket and queues.

A deployed stack lets CloudFormation name its resources and hands the names to the functions
through their environment; the local stack names them itself, here, and hands them over the
same way (``local.aws``). Each resource keeps the key and layout the runtime shares with the
stack (``pandabridge.names``), so both build it alike.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Final

from pandabridge import names


@dataclass(frozen=True, kw_only=True)
class LocalTable(names.TableSpec):
    """A table of the runtime's, under the name the local stack creates it with."""

    local_name: str


@dataclass(frozen=True)
class LocalBucket(names.BucketSpec):
    """A bucket of the runtime's, under the name the local stack creates it with."""

    local_name: str


@dataclass(frozen=True)
class QueueSpec:
    """A queue of the local stack and its dead-letter queue's name."""

    local_name: str
    fifo: bool

    @property
    def dlq_local_name(self) -> str:
        base = self.local_name.removesuffix(".fifo")
        return f"{base}-dlq.fifo" if self.fifo else f"{base}-dlq"


INCIDENTS_TABLE: Final = LocalTable(
    **asdict(names.INCIDENTS_TABLE), local_name="bigpanda-incidents"
)
PAYLOAD_BUCKET: Final = LocalBucket(**asdict(names.PAYLOAD_BUCKET), local_name="bigpanda-payloads")
TICKETS_TABLE: Final = LocalTable(**asdict(names.TICKETS_TABLE), local_name="bigpanda-tickets")
CONTROL_TABLE: Final = LocalTable(**asdict(names.CONTROL_TABLE), local_name="bigpanda-control")

# Both queues are FIFO with one message group per incident (one worker at a time per
# incident, in order) and deduplication scoped to the group, as the stack builds them.
TICKET_SYNC_QUEUE: Final = QueueSpec(local_name="bigpanda-ticket-sync.fifo", fifo=True)
# FIFO, deduplicated per incident: syncs that race to queue one incident's callback send one.
CALLBACK_QUEUE: Final = QueueSpec(local_name="bigpanda-callback.fifo", fifo=True)
