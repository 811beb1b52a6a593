"""BigPanda's outbound callback service: "the ticket for this incident exists".

Until it hears this, BigPanda holds the incident's share and queues its updates (for up to five
minutes), so every failure is sorted at once: retry later (429, 5xx, timeouts), or stop and say
which setting is wrong. The User API key is sent as a bearer token and removed from every
message this module raises. Each call first takes a slot of the org's rate limit, which it
shares with every other caller of the org's API, and may use the part of each minute kept for
callbacks (``pandabridge.rate_limit``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from pandabridge.errors import PermanentError
from pandabridge.http import HttpClient, RejectedRequestError, bearer_auth
from pandabridge.names import BIGPANDA_CALLBACK_PATH, Env
from pandabridge.rate_limit import RateLimiter

CALLBACK_EVENT_TYPE: Final = "incident#new"  # the only event type the service documents


@dataclass(frozen=True)
class BigPandaClient:
    api_base: str
    api_key: str
    app_key: str
    http: HttpClient
    limiter: RateLimiter
    # The org the key belongs to, as ``rate_limit.org_id`` names it.
    org: str

    def confirm_ticket(self, incident_id: str) -> None:
        """Tell BigPanda the incident's ticket was created; returns on any 2xx.

        ``WaitingError`` when the org's window is full: nothing was sent.
        """
        self.limiter.acquire(self.org, "callback")
        body = {
            "event_type": CALLBACK_EVENT_TYPE,
            "incident_id": incident_id,
            "app_key": self.app_key,
        }
        try:
            self.http.redacting(self.api_key).request(
                "POST",
                self.api_base.rstrip("/") + BIGPANDA_CALLBACK_PATH,
                json_body=body,
                headers={"Authorization": bearer_auth(self.api_key)},
            )
        except RejectedRequestError as rejected:
            raise _permanent(rejected) from None


def _permanent(rejected: RejectedRequestError) -> PermanentError:
    """401/403: the User API key in the secret; 400: the app key; else the API base URL."""
    if rejected.status in (401, 403):
        cause = "BigPanda refused the User API key"
        setting = f"the secret named by {Env.BIGPANDA_SECRET_ID}"
    elif rejected.status == 400:
        cause = "BigPanda refused the callback body, most likely the app key"
        setting = Env.BIGPANDA_APP_KEY
    else:
        cause = "BigPanda refused the callback"
        setting = Env.BIGPANDA_API_BASE
    return PermanentError(f"{cause}: {rejected}", setting=setting, status=rejected.status)
