"""One rate limit per BigPanda org, shared by every call this deployment makes to it.

BigPanda allows 150 Incidents API requests a minute and 5 incident actions (resolve, comment,
tag, assign, SCIM) a second, per org. Callbacks, write-back and the reconciler all call the
same org, from many Lambda invocations at once, so each call first takes a slot in the org's
fixed windows: an action takes one in the one-second window *and* one in the one-minute window
(it is an API request too), any other call one in the minute window. A full window raises
``WaitingError`` with the seconds until it ends: the queue message waits without counting a
failure (``pandabridge.consumer``), so a burst is spread over time instead of meeting 429s.

Callbacks come first. BigPanda holds an incident's share until its callback comes (five
minutes at most), while a ticket link or a mirrored comment can come a minute later unharmed.
So the last ``BIGPANDA_CALLBACK_RESERVE_PER_MINUTE`` requests of each minute are for callbacks
alone: every other call is refused once the minute's count reaches the limit less the reserve.
Both count in the same window, so the org's limit holds whoever calls.

Fixed windows may let up to twice a window's limit through across one window boundary; the
actions window is one second long, so that is at most 10 actions in the second around a
boundary. BigPanda answers that rare excess with a 429, which waits the same way.

``MemoryRateLimiter`` is the unit-spec implementation; the deployed one keeps its counters in
the control table (``stores.control.DynamoRateLimiter``).
"""

from __future__ import annotations

import hashlib
import math
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Literal, Protocol
from urllib.parse import urlsplit

from pandabridge.errors import WaitingError
from pandabridge.names import Limits

# What a call is, for the windows it takes a slot in: BigPanda's callback, any other API
# request, or an incident action (which is an API request too).
Kind = Literal["callback", "api", "action"]
# The windows' counters: requests in the minute, actions in the second.
WindowCounter = Literal["api", "action"]

# Secrets Manager appends a hyphen and 6 random characters to a secret's name in its ARN.
_ARN_SUFFIX: Final = re.compile(r"-[A-Za-z0-9]{6}$")

# The control table's partition-key prefix of the windows' counters (``ratelimit#<org>``).
RATE_LIMIT_PREFIX: Final = "ratelimit#"


@dataclass(frozen=True)
class Window:
    """A fixed window: at most ``limit`` calls counted in ``kind`` in each ``seconds``-long
    window. Two windows of one ``kind`` share its counter, each with its own limit."""

    kind: WindowCounter
    limit: int
    seconds: int

    def start(self, now: float) -> int:
        """The epoch second the window holding ``now`` began."""
        return int(now // self.seconds) * self.seconds

    def remaining_seconds(self, now: float) -> float:
        """Seconds from ``now`` until the window holding it ends (more than 0)."""
        return self.start(now) + self.seconds - now


API_WINDOW: Final = Window("api", Limits.BIGPANDA_API_REQUESTS_PER_MINUTE, 60)
# The same minute, short of the callbacks' reserve: what every other request may use.
UNRESERVED_API_WINDOW: Final = Window(
    "api",
    Limits.BIGPANDA_API_REQUESTS_PER_MINUTE - Limits.BIGPANDA_CALLBACK_RESERVE_PER_MINUTE,
    60,
)
ACTION_WINDOW: Final = Window("action", Limits.BIGPANDA_ACTIONS_PER_SECOND, 1)
# The windows a call takes a slot in, in this order: the short window first, so that a call
# the actions window refuses never spends one of the minute's requests.
WINDOWS: Final[dict[Kind, tuple[Window, ...]]] = {
    "callback": (API_WINDOW,),
    "api": (UNRESERVED_API_WINDOW,),
    "action": (ACTION_WINDOW, UNRESERVED_API_WINDOW),
}


class RateLimiter(Protocol):
    def acquire(self, org: str, kind: Kind) -> None:
        """Take a slot for one call, or raise ``WaitingError`` when a window is full."""
        ...


def org_id(api_base: str, key_secret: str) -> str:
    """The id one BigPanda org is limited under: its API host and the secret holding its key.

    Integrations that share a key secret share a limit. The secret may be named by its name or
    by its full ARN (as the stack passes it): both give one id. The name is hashed, so that the
    id is short and safe in a DynamoDB key whatever the name holds.
    """
    host = (urlsplit(api_base.strip()).netloc or api_base.strip()).lower()
    digest = hashlib.sha256(_secret_name(key_secret.strip()).encode()).hexdigest()[:16]
    return f"{host}:{digest}"


def _secret_name(secret: str) -> str:
    """A secret's name from its name or full ARN (``...:secret:<name>-<6 random chars>``)."""
    _, marker, name = secret.partition(":secret:")
    if not secret.startswith("arn:") or not marker:
        return secret
    return _ARN_SUFFIX.sub("", name)


def window_full(org: str, window: Window, now: float) -> WaitingError:
    """The error for a call that found ``window`` full: wait until it ends."""
    wait = window.remaining_seconds(now)
    return WaitingError(
        f"BigPanda rate limit of org {org}: {window.limit} {window.kind} call(s) per "
        f"{window.seconds} s used; trying again in {wait:.1f} s",
        retry_after=math.ceil(wait),
    )


@dataclass
class MemoryRateLimiter:
    """The fixed windows of ``RateLimiter`` in memory, on an injectable clock."""

    clock: Callable[[], float] = time.time
    _counts: dict[tuple[str, Kind, int], int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def acquire(self, org: str, kind: Kind) -> None:
        now = self.clock()
        with self._lock:
            for window in WINDOWS[kind]:
                key = (org, window.kind, window.start(now))
                if self._counts.get(key, 0) >= window.limit:
                    raise window_full(org, window, now)
                self._counts[key] = self._counts.get(key, 0) + 1

    def used(self, org: str, kind: Kind) -> int:
        """Slots taken in ``kind``'s current window (for specs and the local page)."""
        window = WINDOWS[kind][0]
        with self._lock:
            return self._counts.get((org, window.kind, window.start(self.clock())), 0)
