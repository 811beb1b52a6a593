"""The ``http`` target: any service desk that implements this small JSON contract.

The local demo service desk implements exactly this contract; so can a team's own bridge.
Paths are relative to ``TICKET_BASE_URL`` (``{base}``); ``{id}`` is URL-quoted.

Every request carries ``Content-Type: application/json`` and
``X-Signature: sha256=<hex HMAC-SHA256 of the exact request body bytes>`` (of the empty string
for a GET), keyed with the ``hmac_secret`` of the credentials secret. ``sign`` and ``verify``
below are the reference implementation; a server must compare in constant time and reject a
bad signature with 401.

``POST {base}/tickets`` with header ``Idempotency-Key: <key of the incident id>`` and body
``{"incident_id", "title", "description", "priority", "status", "incident_url", "labels"}``
(priority ``P1``..``P5``, status ``open``/``resolved``, ``incident_url`` may be null)
creates the ticket and answers 201 ``{"id": "...", "url": "..."}`` (``url`` optional). A server
that already has a ticket for that key answers 200 with the existing ticket instead.

``GET {base}/tickets?incident_id=<incident id>`` answers 200 ``{"tickets": [{"id", "url"?,
"status"?}]}``, oldest first; it must be consistent (a ticket is found as soon as its create
was answered).

``PATCH {base}/tickets/{id}`` with any of ``title``, ``description``, ``priority``, ``status``
and ``assignee`` (``{"user_id", "email", "name"}``, each may be null) changes those fields
and answers 200 or 204.

``POST {base}/tickets/{id}/comments`` with ``{"body": "<text>"}`` adds a comment (200/201).
It may carry ``Idempotency-Key: <key>``: a server that already added a comment with that key
to that ticket answers 200 with it and adds nothing, so a comment retried after a timeout is
posted once.

An ``Idempotency-Key`` is 1 to 255 printable ASCII characters (a header value cannot carry
other text reliably); a server answers 400 to any other. The key of an incident id (or of a
comment's key) is the id itself when it is within that rule and has no space, else a
deterministic form of it (``idempotency_key``): the id's allowed characters cut to fit, and a
digest of the whole id, so distinct ids keep distinct keys. The create's body, and the lookup's
``incident_id``, carry the id as it is.

Resolve and reopen are a PATCH of ``status`` followed by a comment carrying the note.
Failures: 401/403 point at the credentials secret, other 4xx at ``TICKET_BASE_URL``; 429 and
5xx are retried (``Retry-After`` is honoured).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any, Final

from pandabridge.errors import PermanentError
from pandabridge.http import (
    HttpClient,
    HttpResponse,
    RejectedRequestError,
    encode_json,
    path_segment,
)
from pandabridge.names import Env
from pandabridge.tickets.mapping import correlation_key
from pandabridge.tickets.model import (
    UPDATABLE_FIELDS,
    Assignee,
    TicketDraft,
    TicketRef,
    TicketStatus,
)

CREDENTIAL_KEYS: Final = ("hmac_secret",)
SIGNATURE_HEADER: Final = "X-Signature"
IDEMPOTENCY_HEADER: Final = "Idempotency-Key"
SIGNATURE_SCHEME: Final = "sha256="
MAX_KEY_CHARS: Final = 255
# A header value's safe characters are printable ASCII; a space is left out too, since a
# server may trim or split on it.
KEY_UNSAFE: Final = re.compile(r"[^!-~]")


def idempotency_key(value: str) -> str:
    """``value`` as a contract ``Idempotency-Key``: valid in a header whatever it holds
    (non-Latin-1 text, spaces, 256 characters), the same on every call."""
    return correlation_key(value, max_chars=MAX_KEY_CHARS, unsafe=KEY_UNSAFE)


def sign(body: bytes, secret: str) -> str:
    """The ``X-Signature`` value for a request body."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return SIGNATURE_SCHEME + digest


def verify(body: bytes, header: str | None, secret: str) -> bool:
    """Whether ``header`` is the signature of ``body``, compared in constant time."""
    if not header:
        return False
    return hmac.compare_digest(sign(body, secret).encode(), header.strip().encode())


class GenericTarget:
    """A ``TicketTarget`` for the generic JSON contract of this module."""

    name = "http"
    supports_assignment = True
    find_is_consistent = True

    def __init__(self, base_url: str, *, hmac_secret: str, http: HttpClient) -> None:
        self._base = base_url.rstrip("/")
        self._secret = hmac_secret
        self._http = http.redacting(hmac_secret)

    def find(self, incident_id: str) -> TicketRef | None:
        answer = self._send("GET", "/tickets", query={"incident_id": incident_id})
        tickets = answer.data.get("tickets") if isinstance(answer.data, dict) else None
        if not isinstance(tickets, list):
            raise _malformed("GET /tickets", "a tickets list")
        return _ref(tickets[0], "GET /tickets") if tickets else None

    def create(self, draft: TicketDraft) -> TicketRef:
        document = {
            "incident_id": draft.incident_id,
            "title": draft.title,
            "description": draft.description,
            "priority": draft.priority,
            "status": draft.status.value,
            "incident_url": draft.incident_url,
            "labels": list(draft.labels),
        }
        answer = self._send(
            "POST",
            "/tickets",
            document,
            headers={IDEMPOTENCY_HEADER: idempotency_key(draft.incident_id)},
        )
        return _ref(answer.data, "POST /tickets")

    def update(
        self, ref: TicketRef, draft: TicketDraft, fields: frozenset[str] = UPDATABLE_FIELDS
    ) -> None:
        content = {
            "title": draft.title,
            "description": draft.description,
            "priority": draft.priority,
        }
        wanted = {name: value for name, value in content.items() if name in fields}
        if wanted:
            self._patch(ref, wanted)

    def comment(
        self,
        ref: TicketRef,
        text: str,
        key: str | None = None,
        *,
        after_unknown_outcome: bool = False,  # noqa: ARG002 - the key makes every retry safe
    ) -> None:
        """Posts the comment with its ``key`` as ``Idempotency-Key`` (on every attempt, so
        the desk itself drops a repeat); a comment without a key (a resolve or reopen note)
        has none."""
        headers = {IDEMPOTENCY_HEADER: idempotency_key(key)} if key else None
        self._send(
            "POST", f"/tickets/{path_segment(ref.id)}/comments", {"body": text}, headers=headers
        )

    def assign(self, ref: TicketRef, assignee: Assignee) -> bool:
        """Sets the assignee as given; the server matches it to its own users. Always True."""
        person = {"user_id": assignee.user_id, "email": assignee.email, "name": assignee.name}
        self._patch(ref, {"assignee": person})
        return True

    def resolve(self, ref: TicketRef, note: str) -> None:
        self._set_status(ref, TicketStatus.RESOLVED, note)

    def reopen(self, ref: TicketRef, note: str) -> TicketRef | None:
        self._set_status(ref, TicketStatus.OPEN, note)
        return None

    def _set_status(self, ref: TicketRef, status: TicketStatus, note: str) -> None:
        self._patch(ref, {"status": status.value})
        if note:
            self.comment(ref, note)

    def _patch(self, ref: TicketRef, fields: dict[str, Any]) -> None:
        self._send("PATCH", f"/tickets/{path_segment(ref.id)}", fields)

    def _send(
        self,
        method: str,
        path: str,
        document: dict[str, Any] | None = None,
        *,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> HttpResponse:
        body = encode_json(document) if document is not None else b""
        signed = {SIGNATURE_HEADER: sign(body, self._secret), "Content-Type": "application/json"}
        try:
            return self._http.request(
                method,
                self._base + path,
                query=query,
                body=body if document is not None else None,
                headers={**signed, **(headers or {})},
            )
        except RejectedRequestError as rejected:
            raise rejected.permanent(
                credentials_setting=Env.TICKET_SECRET_ID, resource_setting=Env.TICKET_BASE_URL
            ) from None


def _ref(ticket: Any, where: str) -> TicketRef:
    if not isinstance(ticket, dict) or not isinstance(ticket.get("id"), str | int):
        raise _malformed(where, "a ticket id")
    url = ticket.get("url")
    return TicketRef(id=str(ticket["id"]), url=url if isinstance(url, str) else None)


def _malformed(where: str, expected: str) -> PermanentError:
    """A 2xx without what the contract promises: the base URL is not a service of this kind."""
    return PermanentError(f"{where} answered without {expected}", setting=Env.TICKET_BASE_URL)
