"""What the desk fakes send out when an issue or incident changes, as the real desks do.

Jira Cloud (an admin webhook with a secret; Atlassian's "Webhooks" page): a POST of the
event's JSON with ``X-Atlassian-Webhook-Identifier`` (one per delivery, the same on its
retries), ``X-Atlassian-Webhook-Flow: Primary``, ``X-Hub-Signature: sha256=<HMAC of the body>``
and, on a retry, ``X-Atlassian-Webhook-Retry: <n>``; a 408/409/425/429/5xx answer (or none) is
retried. ``jira_issue_updated`` and ``jira_comment_created`` build the two bodies we consume:
the issue with its fields (labels included) and a changelog; a comment event's issue carries
only a few fields (no labels), as Jira's does.

ServiceNow has no webhooks: the business rule of ``desks/servicenow/`` POSTs
``servicenow_rule_body`` with ``Authorization: Bearer <token>``; ``ServiceNowFake`` plays it.

``WebhookSender`` delivers from one background thread, in order, and records every attempt.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from pandabridge.desk_event_auth import (
    HTTP_SIGNATURE_HEADER,
    HTTP_TIMESTAMP_HEADER,
    JIRA_SIGNATURE_HEADER,
    http_signature,
    jira_signature,
)

RETRIED_STATUSES: Final = frozenset({408, 409, 425, 429, 500, 502, 503, 504})
DEFAULT_ATTEMPTS: Final = 5
DEFAULT_BACKOFF_SECONDS: Final = 0.2


@dataclass(frozen=True)
class Attempt:
    """One POST of a delivery: its identifier, the retry number, and the answer (0: none)."""

    delivery_id: str
    retry: int
    status: int
    body: bytes


@dataclass
class WebhookSender:
    """POSTs deliveries to ``url`` in order, retrying as the desk does; ``sign`` gives the
    credential headers of a body."""

    url: str
    sign: Callable[[bytes], Mapping[str, str]]
    extra_headers: Callable[[str, int], Mapping[str, str]] = lambda _id, _retry: {}
    attempts: int = DEFAULT_ATTEMPTS
    backoff_seconds: float = DEFAULT_BACKOFF_SECONDS
    timeout_seconds: float = 10.0
    sent: list[Attempt] = field(default_factory=list)
    _queue: queue.Queue[tuple[str, bytes] | None] = field(default_factory=queue.Queue)
    _thread: threading.Thread | None = None
    _idle: threading.Condition = field(default_factory=threading.Condition)
    _pending: int = 0

    def deliver(self, document: Mapping[str, Any], delivery_id: str | None = None) -> str:
        """Queue one delivery of ``document``; returns its identifier."""
        delivery = delivery_id or str(uuid.uuid4())
        with self._idle:
            self._pending += 1
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="desk-webhooks", daemon=True)
            self._thread.start()
        self._queue.put((delivery, json.dumps(document).encode()))
        return delivery

    def resend(self, delivery_id: str) -> None:
        """Deliver a delivery again, byte for byte (a retry the desk decided on its own)."""
        body = next(a.body for a in self.sent if a.delivery_id == delivery_id)
        with self._idle:
            self._pending += 1
        self._queue.put((delivery_id, body))

    def wait(self, timeout: float = 10.0) -> None:
        """Return once every queued delivery was answered or given up."""
        with self._idle:
            if not self._idle.wait_for(lambda: self._pending == 0, timeout):
                raise TimeoutError("the desk's webhook deliveries did not finish")

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            delivery, body = item
            for retry in range(self.attempts):
                status = self._post(delivery, body, retry)
                self.sent.append(Attempt(delivery, retry, status, body))
                if status and status not in RETRIED_STATUSES:
                    break
                time.sleep(self.backoff_seconds * (2**retry))
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()

    def _post(self, delivery: str, body: bytes, retry: int) -> int:
        headers = {"Content-Type": "application/json", **self.sign(body)}
        headers |= self.extra_headers(delivery, retry)
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")  # noqa: S310 - a local URL
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as answer:  # noqa: S310
                return int(answer.status)
        except urllib.error.HTTPError as error:
            return int(error.code)
        except OSError:
            return 0


def jira_sender(url: str, secret: str, **options: Any) -> WebhookSender:
    """A sender that signs and labels deliveries as a Jira Cloud admin webhook does."""

    def headers(delivery: str, retry: int) -> dict[str, str]:
        sent = {"X-Atlassian-Webhook-Identifier": delivery, "X-Atlassian-Webhook-Flow": "Primary"}
        if retry:
            sent["X-Atlassian-Webhook-Retry"] = str(retry)
        return sent

    return WebhookSender(
        url,
        sign=lambda body: {JIRA_SIGNATURE_HEADER: jira_signature(body, secret)},
        extra_headers=headers,
        **options,
    )


def http_sender(url: str, secret: str, **options: Any) -> WebhookSender:
    """A sender that signs events as the generic ``http`` desk contract says: an HMAC over
    ``<timestamp>.<body>``, with the timestamp of the attempt."""

    def signed(body: bytes) -> dict[str, str]:
        timestamp = int(time.time())
        return {
            HTTP_TIMESTAMP_HEADER: str(timestamp),
            HTTP_SIGNATURE_HEADER: http_signature(body, secret, timestamp),
        }

    return WebhookSender(url, sign=signed, **options)


def bearer_sender(url: str, token: str, **options: Any) -> WebhookSender:
    """A sender that authenticates as the ServiceNow business rule does."""
    return WebhookSender(url, sign=lambda _body: {"Authorization": f"Bearer {token}"}, **options)


def jira_issue_updated(
    issue: Mapping[str, Any], user: Mapping[str, Any], items: list[dict[str, Any]]
) -> dict[str, Any]:
    """A ``jira:issue_updated`` body: the issue as it is now and what changed."""
    return {
        "timestamp": int(time.time() * 1000),
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_generic",
        "user": dict(user),
        "issue": dict(issue),
        "changelog": {"id": str(uuid.uuid4().int % 10**8), "items": items},
    }


def jira_change(field_name: str, before: tuple[Any, Any], after: tuple[Any, Any]) -> dict[str, Any]:
    """One changelog item: the field, and its (id, display string) before and after."""
    return {
        "field": field_name,
        "fieldtype": "jira",
        "fieldId": field_name,
        "from": before[0],
        "fromString": before[1],
        "to": after[0],
        "toString": after[1],
    }


# The fields a comment event's issue carries; labels are not among them.
COMMENT_EVENT_FIELDS: Final = ("summary", "issuetype", "project", "assignee", "priority", "status")


def jira_comment_created(
    issue: Mapping[str, Any], comment: Mapping[str, Any], text: str
) -> dict[str, Any]:
    """A ``comment_created`` body; the comment body is plain text, as webhooks send it."""
    fields = issue.get("fields", {})
    return {
        "timestamp": int(time.time() * 1000),
        "webhookEvent": "comment_created",
        "comment": {**comment, "body": text},
        "issue": {
            "id": issue["id"],
            "self": issue.get("self"),
            "key": issue["key"],
            "fields": {name: fields[name] for name in COMMENT_EVENT_FIELDS if name in fields},
        },
    }


# The fields whose change makes the business rule post (``desks/servicenow/``).
SERVICENOW_RULE_FIELDS: Final = ("state", "assigned_to", "comments", "work_notes")


def servicenow_rule_body(
    before: Mapping[str, str],
    after: Mapping[str, str],
    written: Mapping[str, str],
    user: Mapping[str, str],
    assignee_email: str | None,
) -> dict[str, Any] | None:
    """What the business rule posts for one update of an incident, or None when it does not
    fire (none of ``SERVICENOW_RULE_FIELDS`` changed). ``user`` is the ``sys_user`` who
    wrote the update."""
    journals = ("comments", "work_notes")
    changed = [
        name
        for name in SERVICENOW_RULE_FIELDS
        if (written.get(name) if name in journals else before[name] != after[name])
    ]
    if not changed:
        return None
    body: dict[str, Any] = {
        "sys_id": after["sys_id"],
        "number": after["number"],
        "sys_mod_count": int(after["sys_mod_count"]),
        "correlation_id": after.get("correlation_id", ""),
        "changed": changed,
        "state": after["state"],
        "previous_state": before["state"],
        "assigned_to_email": assignee_email or "",
        "updated_by": user.get("user_name", ""),
        "updated_by_name": user.get("name", ""),
        "updated_at": after["sys_updated_on"],
    }
    element = next((name for name in journals if written.get(name)), None)
    if element is not None:
        body["journal"] = {"element": element, "value": written[element]}
    return body
