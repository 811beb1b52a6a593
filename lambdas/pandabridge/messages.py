"""The messages between the functions, one model each, shared by producers and consumers."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Tag, TypeAdapter


class SyncNudge(BaseModel):
    """Ticket-sync queue message: "incident X changed". The worker reads the latest state itself,
    so a duplicate, late or reordered nudge converges on the same ticket.

    ``version`` is the stored version key and ``sha256`` the content hash of the version that
    triggered it (its archived payload carries that version's comment, if any).
    """

    model_config = ConfigDict(frozen=True)

    incident_id: str
    version: str
    sha256: str


class CallbackRequest(BaseModel):
    """Callback queue message: confirm to BigPanda that the incident's ticket exists.

    ``received_at`` is when ingest accepted the version that created the ticket (ISO-8601), the
    start of the webhook-to-confirmation latency.
    """

    model_config = ConfigDict(frozen=True)

    incident_id: str
    ticket_ref: str
    received_at: str


class DeskEventNudge(BaseModel):
    """Ticket-sync queue message: "the desk changed incident X's ticket". The stored event
    (control table, ``desk-event#<target>`` / ``event_id``) holds what changed; the message
    travels in the incident's FIFO group, so it never races BigPanda's own versions."""

    model_config = ConfigDict(frozen=True)

    kind: Literal["desk_event"] = "desk_event"
    target: str
    event_id: str
    incident_id: str


def _message_kind(value: Any) -> str:
    kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    return "desk_event" if kind == "desk_event" else "sync"


# What the ticket-sync queue carries: a ``SyncNudge`` has no ``kind``, a desk event says so.
TicketSyncMessage = Annotated[
    Annotated[SyncNudge, Tag("sync")] | Annotated[DeskEventNudge, Tag("desk_event")],
    Discriminator(_message_kind),
]
TICKET_SYNC_MESSAGE: TypeAdapter[SyncNudge | DeskEventNudge] = TypeAdapter(TicketSyncMessage)
