"""The ``servicenow`` target: the Table API on ``incident``.

Credentials (the JSON secret named by ``TICKET_SECRET_ID``): ``token`` (an OAuth access token,
sent as a bearer token) or ``username`` and ``password`` (HTTP Basic); a token wins when both
are present. ``TICKET_BASE_URL`` is the instance, e.g. ``https://acme.service-now.com``.

- Correlation: ``correlation_id`` holds the incident id (``correlation_display`` "BigPanda"),
  as BigPanda's own integration does. The field holds 100 characters and the id goes into an
  encoded query where ``^`` separates terms, so longer ids or ids with ``^`` are replaced by a
  deterministic key (``mapping.correlation_key``). Table API reads are consistent:
  ``find_is_consistent`` is True.
- Priority: ServiceNow derives it from impact and urgency; ``IMPACT_URGENCY`` picks the pair
  that the default priority lookup turns into the same level (P1 is 1/1 "Critical", P2 1/2
  "High", P3 2/2 "Moderate", P4 2/3 "Low", P5 3/3 "Planning").
- ``short_description`` holds 160 characters and ``description`` 4,000 (the base system's
  lengths): longer text is cut with a note.
- Comments are work notes. Resolve sets state 6 (Resolved) with ``CLOSE_CODE`` and the note as
  close notes; reopen sets state 2 (In Progress) with the note as a work note.
- Assignment looks ``sys_user`` up by e-mail; no match leaves the incident unassigned and
  returns False.
- Failures: 401/403 name ``TICKET_SECRET_ID``; other 4xx name ``TICKET_BASE_URL`` (the
  instance; the table is fixed).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from pandabridge.errors import PermanentError
from pandabridge.http import (
    HttpClient,
    HttpResponse,
    RejectedRequestError,
    basic_auth,
    bearer_auth,
    path_segment,
)
from pandabridge.names import Env
from pandabridge.tickets.mapping import correlation_key, shorten, truncate
from pandabridge.tickets.model import UPDATABLE_FIELDS, Assignee, TicketDraft, TicketRef

TOKEN_KEY: Final = "token"  # noqa: S105 - a key name
BASIC_KEYS: Final = ("username", "password")
TABLE: Final = "/api/now/table/incident"
USERS: Final = "/api/now/table/sys_user"
CORRELATION_DISPLAY: Final = "BigPanda"
# The base system's incident.correlation_id length.
MAX_CORRELATION_CHARS: Final = 100
# "^" joins terms of an encoded query; an id containing it cannot be searched for as is.
QUERY_UNSAFE: Final = re.compile(r"\^")
MAX_SHORT_DESCRIPTION_CHARS: Final = 160
MAX_DESCRIPTION_CHARS: Final = 4_000
# Work notes are journal entries without a practical limit; keep them as long as the mapping's
# description cap.
MAX_WORK_NOTE_CHARS: Final = 30_000
# (impact, urgency) per priority, by the default priority lookup rules.
IMPACT_URGENCY: Final = {
    "P1": ("1", "1"),
    "P2": ("1", "2"),
    "P3": ("2", "2"),
    "P4": ("2", "3"),
    "P5": ("3", "3"),
}
STATE_IN_PROGRESS: Final = "2"
STATE_RESOLVED: Final = "6"
# A close code of the base system's choice list (releases since Utah also offer
# "Solution provided"); instances with their own list change it here.
CLOSE_CODE: Final = "Solved (Permanently)"
# Close notes are mandatory on resolve in the base system; used when the caller has no note.
DEFAULT_CLOSE_NOTES: Final = "Resolved in BigPanda."
FIND_FIELDS: Final = "sys_id,number,state"


class ServiceNowTarget:
    """A ``TicketTarget`` for a ServiceNow instance's incident table."""

    name = "servicenow"
    supports_assignment = True
    find_is_consistent = True

    def __init__(
        self,
        base_url: str,
        *,
        http: HttpClient,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        if token:
            self._auth = bearer_auth(token)
            secrets: tuple[str, ...] = (token,)
        elif username and password:
            self._auth = basic_auth(username, password)
            secrets = (password,)
        else:
            raise PermanentError(
                "ServiceNow needs a token, or a username and a password",
                setting=Env.TICKET_SECRET_ID,
            )
        self._base = base_url.rstrip("/")
        self._http = http.redacting(*secrets)

    def find(self, incident_id: str) -> TicketRef | None:
        query = {
            "sysparm_query": f"correlation_id={_correlation(incident_id)}",
            "sysparm_fields": FIND_FIELDS,
            "sysparm_limit": "1",
        }
        records = self._result(self._send("GET", TABLE, query=query), "find")
        if not isinstance(records, list):
            raise _malformed("find", "a result list")
        return self._ref(records[0], "find") if records else None

    def create(self, draft: TicketDraft) -> TicketRef:
        record = {
            "correlation_id": _correlation(draft.incident_id),
            "correlation_display": CORRELATION_DISPLAY,
            **_content(draft),
        }
        answer = self._send("POST", TABLE, record, query={"sysparm_fields": "sys_id,number"})
        return self._ref(self._result(answer, "create"), "create")

    def update(
        self, ref: TicketRef, draft: TicketDraft, fields: frozenset[str] = UPDATABLE_FIELDS
    ) -> None:
        content = _content(draft, fields)
        if content:
            self._patch(ref, content)

    def comment(
        self,
        ref: TicketRef,
        text: str,
        key: str | None = None,  # noqa: ARG002 - the contract's; this adapter keeps no key yet
        *,
        after_unknown_outcome: bool = False,  # noqa: ARG002
    ) -> None:
        self._patch(ref, {"work_notes": truncate(text, MAX_WORK_NOTE_CHARS)})

    def assign(self, ref: TicketRef, assignee: Assignee) -> bool:
        """Assigns the ``sys_user`` with the assignee's e-mail; False (and no change) when
        there is no e-mail or no such user."""
        user = self._user_for(assignee.email) if assignee.email else None
        if user is None:
            return False
        self._patch(ref, {"assigned_to": user})
        return True

    def resolve(self, ref: TicketRef, note: str) -> None:
        self._patch(
            ref,
            {
                "state": STATE_RESOLVED,
                "close_code": CLOSE_CODE,
                "close_notes": truncate(note, MAX_DESCRIPTION_CHARS) or DEFAULT_CLOSE_NOTES,
            },
        )

    def reopen(self, ref: TicketRef, note: str) -> TicketRef | None:
        fields = {"state": STATE_IN_PROGRESS}
        if note:
            fields["work_notes"] = truncate(note, MAX_WORK_NOTE_CHARS)
        self._patch(ref, fields)
        return None

    def _user_for(self, email: str) -> str | None:
        if QUERY_UNSAFE.search(email):
            return None
        query = {
            "sysparm_query": f"email={email}",
            "sysparm_fields": "sys_id",
            "sysparm_limit": "1",
        }
        users = self._result(self._send("GET", USERS, query=query), "user lookup")
        if not isinstance(users, list):
            raise _malformed("user lookup", "a result list")
        sys_id = users[0].get("sys_id") if users and isinstance(users[0], dict) else None
        return str(sys_id) if sys_id else None

    def _patch(self, ref: TicketRef, fields: dict[str, Any]) -> None:
        self._send("PATCH", f"{TABLE}/{path_segment(ref.id)}", fields)

    def _ref(self, record: Any, where: str) -> TicketRef:
        if not isinstance(record, dict) or not record.get("sys_id"):
            raise _malformed(where, "a sys_id")
        sys_id = str(record["sys_id"])
        number = record.get("number")
        return TicketRef(
            id=sys_id,
            key=str(number) if number else None,
            url=f"{self._base}/incident.do?sys_id={path_segment(sys_id)}",
        )

    @staticmethod
    def _result(answer: HttpResponse, where: str) -> Any:
        if not isinstance(answer.data, dict) or "result" not in answer.data:
            raise _malformed(where, "a result")
        return answer.data["result"]

    def _send(
        self,
        method: str,
        path: str,
        document: dict[str, Any] | None = None,
        *,
        query: Mapping[str, str] | None = None,
    ) -> HttpResponse:
        try:
            return self._http.request(
                method,
                self._base + path,
                query=query,
                json_body=document,
                headers={"Authorization": self._auth},
            )
        except RejectedRequestError as rejected:
            raise rejected.permanent(
                credentials_setting=Env.TICKET_SECRET_ID, resource_setting=Env.TICKET_BASE_URL
            ) from None


def _correlation(incident_id: str) -> str:
    return correlation_key(incident_id, max_chars=MAX_CORRELATION_CHARS, unsafe=QUERY_UNSAFE)


def _content(draft: TicketDraft, fields: frozenset[str] = UPDATABLE_FIELDS) -> dict[str, str]:
    content: dict[str, str] = {}
    if "title" in fields:
        content["short_description"] = shorten(draft.title, MAX_SHORT_DESCRIPTION_CHARS)
    if "description" in fields:
        content["description"] = truncate(draft.description, MAX_DESCRIPTION_CHARS)
    if "priority" in fields:
        content["impact"], content["urgency"] = IMPACT_URGENCY.get(
            draft.priority, IMPACT_URGENCY["P3"]
        )
    return content


def _malformed(where: str, expected: str) -> PermanentError:
    return PermanentError(
        f"ServiceNow {where} answered without {expected}", setting=Env.TICKET_BASE_URL
    )
