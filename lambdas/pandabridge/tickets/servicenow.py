"""The ``servicenow`` target: the Table API on ``incident``.

Credentials (the JSON secret named by ``TICKET_SECRET_ID``): ``token`` (an OAuth access token,
sent as a bearer token) or ``username`` and ``password`` (HTTP Basic); a token wins when both
are present. ``TICKET_BASE_URL`` is the instance, e.g. ``https://acme.service-now.com``.

- Correlation: ``correlation_id`` holds the incident id (``correlation_display`` "BigPanda"),
  as BigPanda's own integration does. The field holds 100 characters and the id goes into an
  encoded query, so longer ids, and ids that could change the query (``^``, a line break, a
  leading ``javascript:``), are replaced by a deterministic key (``mapping.correlation_key``).
  ``find`` takes the newest incident with that key (a reopen may have made a new one). Table
  API reads are consistent: ``find_is_consistent`` is True.
- Encoded queries: every value is neutralised first (``query_value``): ``^`` joins terms and a
  value starting with ``javascript:`` is run by the instance, so a value holding either, or a
  line break, is never sent (a lookup by it finds nothing).
- Priority: ServiceNow derives it from impact and urgency; ``IMPACT_URGENCY`` picks the pair
  that the default priority lookup turns into the same level (P1 is 1/1 "Critical", P2 1/2
  "High", P3 2/2 "Moderate", P4 2/3 "Low", P5 3/3 "Planning").
- Routing, on create only: ``assignment_group``, ``caller_id``, ``category``, ``subcategory``
  and ``extra_fields`` (templated, carried by the draft). The references (``assignment_group``,
  ``caller_id``) take a sys_id or a display value (a group's or a user's name); when any is not
  a sys_id, the create is sent with ``sysparm_input_display_value=true``, so give both
  references the same way.
- ``short_description`` holds 160 characters and ``description`` 4,000 (the base system's
  lengths): longer text is cut with a note.
- Comments are work notes. After an unknown outcome the incident's journal
  (``sys_journal_field``) is read first, and a work note with the same text is not added again.
- Resolve sets state 6 (Resolved) with ``close_code`` (default "Solution provided", a code of
  current releases) and ``close_notes`` (a template; ``{note}`` is the resolve note).
- Reopen reads the state first. A Closed (7) or Canceled (8) incident cannot be reopened, so a
  new incident is created from the old one's fields, linked by ``parent_incident`` and a work
  note naming the old number, and its ref is returned; otherwise state 2 (In Progress) is set,
  and an answer that still shows the old state counts as closed too.
- Assignment looks up the oldest active ``sys_user`` with the e-mail; no match leaves the
  incident unassigned and returns False.
- Failures: 401, and a 403 whose error is not "Operation Failed", name ``TICKET_SECRET_ID``:
  the instance refused the account itself or its roles on the table, which the account's
  admin fixes. A 403 "Operation Failed" is the instance refusing one write by data policy or
  ACL: a ``StepFailedError`` for that step (resolve, reopen, assign, comment, ``field:<name>``)
  with the instance's own message, or a ``PermanentError`` naming the routing options for a
  create. Options are named by their key path in the desk configuration file, under the
  target section ``config_path`` (``targets.<name>``): ``<config_path>.servicenow.close_code``,
  ``.servicenow.extra_fields.<field>`` and so on. A resolve refused because the instance
  closed the incident meanwhile is done already. Other 4xx name ``TICKET_BASE_URL`` (the
  instance; the table is fixed).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from pandabridge.errors import PermanentError, StepFailedError
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
JOURNAL: Final = "/api/now/table/sys_journal_field"
CORRELATION_DISPLAY: Final = "BigPanda"
# The base system's incident.correlation_id length.
MAX_CORRELATION_CHARS: Final = 100
# What can change an encoded query from inside a value: "^" joins terms (and "^OR" ors them),
# a line break ends the query on some releases, and a value starting with "javascript:" is
# run by the instance.
QUERY_UNSAFE: Final = re.compile(r"\^|[\x00-\x1f\x7f\u2028\u2029]|^\s*javascript:", re.IGNORECASE)
MAX_SHORT_DESCRIPTION_CHARS: Final = 160
MAX_DESCRIPTION_CHARS: Final = 4_000
# Work notes are journal entries without a practical limit; keep them as long as the mapping's
# description cap.
MAX_WORK_NOTE_CHARS: Final = 30_000
# How many of an incident's newest work notes are read to find one posted by a lost call.
JOURNAL_LOOKBACK: Final = 100
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
# Closed and Canceled: the instance keeps them as they are (a state PATCH answers 200 and
# changes nothing), so a reopen becomes a new incident.
FINAL_STATES: Final = frozenset({"7", "8"})
# A resolution code of current releases' choice list ("Solved (Permanently)" exists only on
# older instances); instances customise the list, hence the ``close_code`` option.
CLOSE_CODE: Final = "Solution provided"
NOTE_PLACEHOLDER: Final = "{note}"
# The default ``close_notes`` template: the resolve note itself.
CLOSE_NOTES: Final = NOTE_PLACEHOLDER
# Close notes are mandatory on resolve in the base system; used when the note is empty.
DEFAULT_CLOSE_NOTES: Final = "Resolved in BigPanda."
REOPENED_NOTE: Final = "Reopens {number}, which is closed and cannot be reopened."
FIND_FIELDS: Final = "sys_id,number,state"
# The newest first, so a reopen's new incident wins over the closed one it replaces; the
# number breaks ties within a second.
NEWEST_FIRST: Final = "ORDERBYDESCsys_created_on^ORDERBYDESCnumber"
# The options that route an incident to a queue, sent on create; the references among them.
ROUTING_FIELDS: Final = ("assignment_group", "caller_id", "category", "subcategory")
REFERENCE_FIELDS: Final = ("assignment_group", "caller_id")
# What a reopen copies from the closed incident onto the new one (with any extra fields).
CARRIED_FIELDS: Final = (
    "correlation_id",
    "correlation_display",
    "short_description",
    "description",
    "impact",
    "urgency",
    "assigned_to",
    *ROUTING_FIELDS,
)
SYS_ID: Final = re.compile(r"[0-9a-f]{32}")
# The instance's answer to a write that a data policy or an ACL refuses (a 403).
OPERATION_FAILED: Final = "Operation Failed"
# Where the desk configuration keeps this target's options; settings in errors start with it.
CONFIG_PATH: Final = "targets.servicenow"


class ServiceNowTarget:
    """A ``TicketTarget`` for a ServiceNow instance's incident table.

    ``close_code`` and ``close_notes`` (a template with ``{note}``) are sent on resolve;
    ``assignment_group``, ``caller_id``, ``category`` and ``subcategory`` on create, so that
    incidents land in a queue, with the draft's ``extra_fields`` (the configured
    ``extra_fields``, rendered per incident).
    """

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
        close_code: str = CLOSE_CODE,
        close_notes: str = CLOSE_NOTES,
        assignment_group: str | None = None,
        caller_id: str | None = None,
        category: str | None = None,
        subcategory: str | None = None,
        config_path: str = CONFIG_PATH,
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
        self._config = config_path
        self._close_code = close_code
        self._close_notes = close_notes
        routing = dict(
            zip(ROUTING_FIELDS, (assignment_group, caller_id, category, subcategory), strict=True)
        )
        self._routing = {name: value for name, value in routing.items() if value}

    def find(self, incident_id: str) -> TicketRef | None:
        query = {
            "sysparm_query": f"correlation_id={_correlation(incident_id)}^{NEWEST_FIRST}",
            "sysparm_fields": FIND_FIELDS,
            "sysparm_limit": "1",
        }
        records = self._list(TABLE, query, "find")
        return self._ref(records[0], "find") if records else None

    def create(self, draft: TicketDraft) -> TicketRef:
        record = {
            "correlation_id": _correlation(draft.incident_id),
            "correlation_display": CORRELATION_DISPLAY,
            **_content(draft),
            **self._routing,
            **draft.extra_fields,
        }
        query = {"sysparm_fields": "sys_id,number"}
        if any(
            self._routing.get(name) and not SYS_ID.fullmatch(self._routing[name])
            for name in REFERENCE_FIELDS
        ):
            query["sysparm_input_display_value"] = "true"
        answer = self._send("POST", TABLE, record, query=query, step="create")
        return self._ref(self._result(answer, "create"), "create")

    def update(
        self, ref: TicketRef, draft: TicketDraft, fields: frozenset[str] = UPDATABLE_FIELDS
    ) -> None:
        content = _content(draft, fields)
        if content:
            self._patch(ref, content, step="field")

    def comment(
        self,
        ref: TicketRef,
        text: str,
        key: str | None = None,  # noqa: ARG002 - the instance keeps no key: the text is one
        *,
        after_unknown_outcome: bool = False,
    ) -> None:
        """A work note; after an unknown outcome, only if the journal lacks it (ServiceNow
        keeps no key, so the text identifies it)."""
        note = truncate(text, MAX_WORK_NOTE_CHARS)
        if after_unknown_outcome and note in self._work_notes(ref):
            return
        self._patch(ref, {"work_notes": note}, step="comment")

    def assign(self, ref: TicketRef, assignee: Assignee) -> bool:
        """Assigns the oldest active ``sys_user`` with the assignee's e-mail; False (and no
        change) when there is no e-mail or no such user."""
        user = self._user_for(assignee.email) if assignee.email else None
        if user is None:
            return False
        try:
            self._patch(ref, {"assigned_to": user}, step="assign")
        except StepFailedError as refused:
            refused.setting = f"the assignee {assignee.email} (sys_user {user})"
            raise
        return True

    def resolve(self, ref: TicketRef, note: str) -> None:
        """State 6 with the close code and notes; an incident the instance closed meanwhile
        (whose fields its ACL then guards) is left as it is: it is past resolved."""
        notes = self._close_notes.replace(NOTE_PLACEHOLDER, note)
        try:
            self._patch(
                ref,
                {
                    "state": STATE_RESOLVED,
                    "close_code": self._close_code,
                    "close_notes": truncate(notes, MAX_DESCRIPTION_CHARS) or DEFAULT_CLOSE_NOTES,
                },
                step="resolve",
            )
        except StepFailedError:
            if self._record(ref, "state").get("state") not in FINAL_STATES:
                raise

    def reopen(self, ref: TicketRef, note: str) -> TicketRef | None:
        """State 2 again; a new linked incident (its ref) when this one is Closed or
        Canceled, which the instance keeps as they are."""
        current = self._record(ref, "state")
        if current.get("state") not in FINAL_STATES:
            fields = {"state": STATE_IN_PROGRESS}
            if note:
                fields["work_notes"] = truncate(note, MAX_WORK_NOTE_CHARS)
            answer = self._patch(ref, fields, step="reopen", answer_fields="state")
            after = self._result(answer, "reopen")
            state = after.get("state") if isinstance(after, dict) else None
            # A state the PATCH left as it was (unless already In Progress) is a record the
            # instance keeps, like a closed one.
            kept = state != STATE_IN_PROGRESS and state == current.get("state")
            if state not in FINAL_STATES and not kept:
                return None
        return self._successor(ref, note)

    def _successor(self, closed: TicketRef, note: str) -> TicketRef:
        """A new incident carrying the closed one's fields, linked to it."""
        old = self._record(closed, ",".join(("number", *CARRIED_FIELDS, *self._routing)))
        number = str(old.get("number") or closed.key or closed.id)
        linked = REOPENED_NOTE.format(number=number)
        record = {
            **{name: old[name] for name in (*CARRIED_FIELDS, *self._routing) if old.get(name)},
            "state": STATE_IN_PROGRESS,
            "parent_incident": closed.id,
            "work_notes": truncate(f"{linked}\n{note}" if note else linked, MAX_WORK_NOTE_CHARS),
        }
        answer = self._send(
            "POST", TABLE, record, query={"sysparm_fields": "sys_id,number"}, step="reopen"
        )
        return self._ref(self._result(answer, "reopen"), "reopen")

    def _record(self, ref: TicketRef, fields: str) -> dict[str, Any]:
        answer = self._send(
            "GET",
            f"{TABLE}/{path_segment(ref.id)}",
            query={"sysparm_fields": fields, "sysparm_exclude_reference_link": "true"},
        )
        record = self._result(answer, "read")
        if not isinstance(record, dict):
            raise _malformed("read", "a record")
        return record

    def _work_notes(self, ref: TicketRef) -> list[str]:
        """The incident's newest work notes, as the journal holds them."""
        element_id = query_value(ref.id)
        if element_id is None:
            return []
        query = {
            "sysparm_query": f"element=work_notes^element_id={element_id}"
            "^ORDERBYDESCsys_created_on",
            "sysparm_fields": "value",
            "sysparm_limit": str(JOURNAL_LOOKBACK),
        }
        entries = self._list(JOURNAL, query, "journal lookup")
        return [str(entry.get("value")) for entry in entries if isinstance(entry, dict)]

    def _user_for(self, email: str) -> str | None:
        value = query_value(email)
        if value is None:
            return None
        query = {
            "sysparm_query": f"active=true^email={value}^ORDERBYsys_created_on",
            "sysparm_fields": "sys_id",
            "sysparm_limit": "1",
        }
        users = self._list(USERS, query, "user lookup")
        sys_id = users[0].get("sys_id") if users and isinstance(users[0], dict) else None
        return str(sys_id) if sys_id else None

    def _list(self, path: str, query: Mapping[str, str], where: str) -> list[Any]:
        records = self._result(self._send("GET", path, query=query), where)
        if not isinstance(records, list):
            raise _malformed(where, "a result list")
        return records

    def _patch(
        self,
        ref: TicketRef,
        fields: dict[str, Any],
        *,
        step: str,
        answer_fields: str = "sys_id",
    ) -> HttpResponse:
        return self._send(
            "PATCH",
            f"{TABLE}/{path_segment(ref.id)}",
            fields,
            query={"sysparm_fields": answer_fields},
            step=step,
        )

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
        step: str = "",
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
            refusal = _refusal(rejected)
            if refusal is not None and step == "create":
                # No ticket yet, so not one step: the whole message, naming what the create
                # sends beyond the draft (or the instance's rules on incidents).
                configured = [*self._routing, *_extra_fields(document or {})]
                names = ", ".join(self._routing_setting(name) for name in configured)
                raise PermanentError(
                    f"ServiceNow refused the create: {refusal} ({rejected.where})",
                    setting=names or "the instance's data policies on incident",
                    status=rejected.status,
                ) from None
            if refusal is not None and step:
                raise self._step_failed(rejected, refusal, step, document or {}) from None
            raise rejected.permanent(
                credentials_setting=Env.TICKET_SECRET_ID, resource_setting=Env.TICKET_BASE_URL
            ) from None

    def _routing_setting(self, name: str) -> str:
        """The key path in the desk configuration file that sets the create's field ``name``."""
        if name in ROUTING_FIELDS:
            return f"{self._config}.servicenow.{name}"
        return f"{self._config}.servicenow.extra_fields.{name}"

    def _step_failed(
        self, rejected: RejectedRequestError, refusal: str, step: str, document: Mapping[str, Any]
    ) -> StepFailedError:
        """The error for a write the instance refused by data policy or ACL."""
        reason = f"ServiceNow refused the {step}: {refusal} ({rejected.where})"
        if step == "resolve":
            setting = f"{self._config}.servicenow.close_code, {self._config}.servicenow.close_notes"
        elif step == "field":
            named = [name for name in document if re.search(rf"\b{re.escape(name)}\b", refusal)]
            step = f"field:{(named or list(document) or ['?'])[0]}"
            setting = f"the incident's {step.removeprefix('field:')} (data policy or ACL)"
        elif step == "assign":
            setting = f"the assignee {document.get('assigned_to', '')} (data policy or ACL)"
        else:
            setting = f"the incident's {step} (data policy or ACL on closed records)"
        return StepFailedError(reason, setting=setting, status=rejected.status, step=step)


def query_value(value: str) -> str | None:
    """``value`` as it may stand in an encoded query, or None when it could change the query
    (a ``^``, a line break, a leading ``javascript:``): a lookup by it must find nothing."""
    return None if QUERY_UNSAFE.search(value) else value


def _refusal(rejected: RejectedRequestError) -> str | None:
    """The instance's message when a 403 is a data-policy or ACL refusal of a write ("Operation
    Failed"), not a credentials problem; None otherwise."""
    if rejected.status != 403 or not isinstance(rejected.details, dict):
        return None
    error = rejected.details.get("error")
    if not isinstance(error, dict) or error.get("message") != OPERATION_FAILED:
        return None
    detail = error.get("detail")
    return " ".join(str(detail).split()) if detail else OPERATION_FAILED


def _correlation(incident_id: str) -> str:
    return correlation_key(incident_id, max_chars=MAX_CORRELATION_CHARS, unsafe=QUERY_UNSAFE)


# The columns ``_content`` writes from the draft.
CONTENT_COLUMNS: Final = ("short_description", "description", "impact", "urgency")


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


def _extra_fields(record: Mapping[str, Any]) -> list[str]:
    """The fields of a create record that come from the configured ``extra_fields``: neither
    the correlation, the draft's own content nor a routing field."""
    own = {"correlation_id", "correlation_display", *CONTENT_COLUMNS, *ROUTING_FIELDS}
    return [name for name in record if name not in own]


def _malformed(where: str, expected: str) -> PermanentError:
    return PermanentError(
        f"ServiceNow {where} answered without {expected}", setting=Env.TICKET_BASE_URL
    )
