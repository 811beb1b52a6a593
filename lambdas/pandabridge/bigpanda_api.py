"""BigPanda's Incidents API v2: what write-back, the reconciler and the preflight call.

``BigPandaApi`` is the contract the domain codes against; ``HttpBigPandaApi`` implements it over
HTTPS with the User API key as a bearer token (the facts are in BigPanda's API reference:
``/resources/v2.0/...`` under ``https://api.bigpanda.io`` or ``https://eu-api.bigpanda.io``).

Every call first takes a slot of the org's rate limit (``pandabridge.rate_limit``): incident
actions, tags and SCIM lookups are "action" calls (5 a second), reads are "api" calls (150 a
minute, which actions count against too). Failures are sorted as the queues need them:

- 401/403 are the key's fault, 400 and other refusals the request's: ``PermanentError`` naming
  the setting to fix (``key_setting``, or the call's own setting);
- 429 is "come back later": ``WaitingError`` (a rate limit is not a failure), after the
  ``Retry-After`` BigPanda may send or, without one, when the current minute window ends;
- 5xx, timeouts and refused connections are ``RetryableError``.

The vendor answers some calls in more than one shape across its doc versions (a bare array or
an object holding it); the readers below accept each shape documented.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from pandabridge.errors import PermanentError, RetryableError, WaitingError
from pandabridge.http import (
    HttpClient,
    HttpResponse,
    RejectedRequestError,
    bearer_auth,
    path_segment,
)
from pandabridge.names import Env
from pandabridge.rate_limit import API_WINDOW, Kind, RateLimiter, org_id

API_V2: Final = "/resources/v2.0"
# BigPanda refuses ``expand=alerts`` with a page_size above this (400).
EXPANDED_PAGE_SIZE_MAX: Final = 10
# ``sort_by`` value ordering search results by their last change.
SORT_BY_LAST_CHANGE: Final = "last_change"


@dataclass(frozen=True)
class SearchPage:
    """One page of an incident search: the query's total and this page's v2 incidents."""

    total: int
    items: list[dict[str, Any]]


class BigPandaApi(Protocol):
    def get_incident(
        self, env: str, incident_id: str, *, expand_alerts: bool = False
    ) -> dict[str, Any] | None:
        """The v2 incident, or None when BigPanda does not know it (404)."""
        ...

    def search_incidents(
        self,
        env: str,
        *,
        since: int,
        until: int,
        page: int,
        page_size: int,
        expand_alerts: bool = False,
    ) -> SearchPage: ...

    def environments(self) -> list[dict[str, Any]]: ...

    def activities(
        self, incident_id: str, *, page: int = 1, per_page: int = 50, types: Sequence[str] = ()
    ) -> list[dict[str, Any]]:
        """The incident's activities, newest first."""
        ...

    def resolve(self, env: str, incident_id: str, comment: str) -> bool:
        """Resolve the incident; False when it was resolved already (409)."""
        ...

    def comment(self, env: str, incident_id: str, text: str) -> None: ...

    def tag_definitions(self) -> list[dict[str, Any]]: ...

    def set_tag(self, env: str, incident_id: str, tag_id: str, value: str) -> None: ...

    def user_id_by_email(self, email: str) -> str | None:
        """The id of the active user whose user name is ``email``, or None."""
        ...

    def assign(self, env: str, incident_id: str, user_id: str) -> None: ...


@dataclass(frozen=True)
class HttpBigPandaApi:
    """``BigPandaApi`` over HTTPS.

    ``org`` is the org's rate-limit id (``rate_limit.org_id(api_base, key_secret)``); without
    it every key on the API host shares one limit, which is stricter, never looser.
    ``key_setting`` and ``base_setting`` are what an error names for the operator to fix: the
    secret holding the key and the API base (a variable, or a configuration file's key path).
    """

    api_base: str
    api_key: str
    http: HttpClient
    limiter: RateLimiter
    org: str = ""
    key_setting: str = f"the secret named by {Env.BIGPANDA_SECRET_ID}"
    base_setting: str = Env.BIGPANDA_API_BASE
    clock: Callable[[], float] = field(default=time.time, compare=False)

    # --- reads ("api") --------------------------------------------------------------------

    def get_incident(
        self, env: str, incident_id: str, *, expand_alerts: bool = False
    ) -> dict[str, Any] | None:
        query = {"expand": "alerts"} if expand_alerts else None
        try:
            answer = self._call("api", "GET", _incident_path(env, incident_id), query=query)
        except RejectedRequestError as rejected:
            if rejected.status == 404:
                return None
            raise self._permanent(rejected, "the environment id") from None
        return _object(answer)

    def search_incidents(
        self,
        env: str,
        *,
        since: int,
        until: int,
        page: int,
        page_size: int,
        expand_alerts: bool = False,
    ) -> SearchPage:
        if expand_alerts and page_size > EXPANDED_PAGE_SIZE_MAX:
            raise ValueError(
                f"BigPanda allows at most {EXPANDED_PAGE_SIZE_MAX} incidents a page with "
                f"expand=alerts, not {page_size}"
            )
        query = {
            "from": str(since),
            "to": str(until),
            "page": str(page),
            "page_size": str(page_size),
            "sort_by": SORT_BY_LAST_CHANGE,
        }
        if expand_alerts:
            query["expand"] = "alerts"
        path = f"{API_V2}/environments/{path_segment(env)}/incidents"
        data = self._read("api", path, query, "the environment id")
        items = _items(data, "items", "incidents")
        total = data.get("total") if isinstance(data, dict) else None
        return SearchPage(total=int(total) if isinstance(total, int) else len(items), items=items)

    def environments(self) -> list[dict[str, Any]]:
        data = self._read("api", f"{API_V2}/environments", None, self.base_setting)
        return _items(data, "items", "environments")

    def activities(
        self, incident_id: str, *, page: int = 1, per_page: int = 50, types: Sequence[str] = ()
    ) -> list[dict[str, Any]]:
        query = {"page": str(page), "per_page": str(per_page)}
        if types:
            query["types"] = ",".join(types)
        path = f"{API_V2}/incidents/{path_segment(incident_id)}/activities"
        data = self._read("api", path, query, "the incident id")
        return _items(data, "items", "activities")

    # --- actions ("action") ---------------------------------------------------------------

    def resolve(self, env: str, incident_id: str, comment: str) -> bool:
        try:
            self._call(
                "action",
                "POST",
                f"{_incident_path(env, incident_id)}/resolve",
                json_body={"comments": comment},
            )
        except RejectedRequestError as rejected:
            if rejected.status == 409:
                return False
            raise self._permanent(rejected, "the environment and incident ids") from None
        return True

    def comment(self, env: str, incident_id: str, text: str) -> None:
        self._write(
            "POST", f"{_incident_path(env, incident_id)}/comments", {"comment": text}, "the comment"
        )

    def tag_definitions(self) -> list[dict[str, Any]]:
        path = f"{API_V2}/incidents/tags/definitions"
        data = self._read("action", path, None, self.base_setting)
        return _items(data, "items", "definitions")

    def set_tag(self, env: str, incident_id: str, tag_id: str, value: str) -> None:
        path = f"{_incident_path(env, incident_id)}/tags/{path_segment(tag_id)}"
        self._write(
            "POST",
            path,
            {"tag_value": value},
            f"the incident tag definition {tag_id!r} (it must exist and be active)",
        )

    def user_id_by_email(self, email: str) -> str | None:
        # Without ``active eq true`` SCIM lists deleted users too.
        query = {"filter": f'userName eq "{_scim_quoted(email)}" and active eq true'}
        data = self._read("action", f"{API_V2}/scim/Users", query, "the assignee's e-mail")
        for user in _items(data, "Resources"):
            name = user.get("userName")
            if (
                user.get("active") is True
                and isinstance(name, str)
                and name.casefold() == email.casefold()
                and isinstance(user.get("id"), str)
            ):
                return str(user["id"])
        return None

    def assign(self, env: str, incident_id: str, user_id: str) -> None:
        self._write(
            "PUT",
            f"{_incident_path(env, incident_id)}/assignment",
            {"assignee": user_id},
            "the assignee",
        )

    # --- one call -------------------------------------------------------------------------

    def _read(self, kind: Kind, path: str, query: Mapping[str, str] | None, setting: str) -> Any:
        try:
            return self._call(kind, "GET", path, query=query).data
        except RejectedRequestError as rejected:
            raise self._permanent(rejected, setting) from None

    def _write(self, method: str, path: str, body: Any, setting: str) -> None:
        try:
            self._call("action", method, path, json_body=body)
        except RejectedRequestError as rejected:
            raise self._permanent(rejected, setting) from None

    def _call(
        self,
        kind: Kind,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | None = None,
        json_body: Any = None,
    ) -> HttpResponse:
        """One request after taking its rate-limit slot; a 429 becomes ``WaitingError``."""
        self.limiter.acquire(self.org or org_id(self.api_base, ""), kind)
        try:
            return self.http.redacting(self.api_key).request(
                method,
                self.api_base.rstrip("/") + path,
                query=query,
                json_body=json_body,
                headers={"Authorization": bearer_auth(self.api_key)},
            )
        except WaitingError:
            raise
        except RetryableError as failed:
            if failed.status != 429:
                raise
            # No Retry-After is documented: wait at least until the minute window ends.
            floor = math.ceil(API_WINDOW.remaining_seconds(self.clock()))
            raise WaitingError(
                f"{failed.reason} (BigPanda's rate limit)",
                retry_after=max(failed.retry_after or 0, floor),
                status=429,
            ) from None

    def _permanent(self, rejected: RejectedRequestError, setting: str) -> PermanentError:
        """401/403 point at the key; anything else at ``setting``."""
        if rejected.status in (401, 403):
            return PermanentError(
                f"BigPanda refused the User API key (or its role lacks the permission): {rejected}",
                setting=self.key_setting,
                status=rejected.status,
            )
        return PermanentError(
            f"BigPanda refused the request: {rejected}", setting=setting, status=rejected.status
        )


def _incident_path(env: str, incident_id: str) -> str:
    return f"{API_V2}/environments/{path_segment(env)}/incidents/{path_segment(incident_id)}"


def _scim_quoted(value: str) -> str:
    """``value`` inside a SCIM filter's double quotes (a quote or backslash escaped)."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _object(answer: HttpResponse) -> dict[str, Any]:
    if not isinstance(answer.data, dict):
        raise RetryableError(f"BigPanda answered {answer.status} without a JSON object")
    return answer.data


def _items(data: Any, *keys: str) -> list[dict[str, Any]]:
    """The objects of a listing: a bare array, or an object holding it under one of ``keys``."""
    listing = data
    if isinstance(data, dict):
        listing = next((data[k] for k in keys if isinstance(data.get(k), list)), None)
    if not isinstance(listing, list):
        raise RetryableError(f"BigPanda answered a listing without {' or '.join(keys)}")
    return [item for item in listing if isinstance(item, dict)]
