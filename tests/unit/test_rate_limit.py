"""The per-org rate limit's specification, over the in-memory limiter on a controlled clock:
150 API calls a minute, the last 30 of them for callbacks alone, 5 actions a second, an action
counting as an API call too, and a full window answered with "wait until it ends", never with
a failure."""

from __future__ import annotations

import heapq
import itertools
import random

import pytest

from pandabridge.errors import WaitingError
from pandabridge.names import Limits
from pandabridge.rate_limit import Kind, MemoryRateLimiter, org_id
from pandabridge.retry import wait_seconds
from tests.conftest import StoppedClock

ORG = "api.bigpanda.io:0123456789abcdef"
API_LIMIT = Limits.BIGPANDA_API_REQUESTS_PER_MINUTE
# What calls other than callbacks may use of a minute.
UNRESERVED = API_LIMIT - Limits.BIGPANDA_CALLBACK_RESERVE_PER_MINUTE
ACTION_LIMIT = Limits.BIGPANDA_ACTIONS_PER_SECOND


@pytest.fixture
def clock() -> StoppedClock:
    # 10.25 s into a minute, 0.25 s into a second
    return StoppedClock()


@pytest.fixture
def limiter(clock: StoppedClock) -> MemoryRateLimiter:
    return MemoryRateLimiter(clock=clock)


def test_a_minute_allows_exactly_the_api_limit_to_callbacks(limiter: MemoryRateLimiter) -> None:
    # Given 150 callbacks taken in one minute
    for _ in range(API_LIMIT):
        limiter.acquire(ORG, "callback")
    # When one more is asked for / Then it must wait
    with pytest.raises(WaitingError):
        limiter.acquire(ORG, "callback")


def test_other_calls_leave_the_minutes_last_30_requests_to_callbacks(
    limiter: MemoryRateLimiter,
) -> None:
    # Given 120 API calls taken in one minute
    for _ in range(UNRESERVED):
        limiter.acquire(ORG, "api")
    # When one more API call, and 30 callbacks, are asked for
    with pytest.raises(WaitingError, match="120 api call"):
        limiter.acquire(ORG, "api")
    for _ in range(API_LIMIT - UNRESERVED):
        limiter.acquire(ORG, "callback")
    # Then the API call waits, the callbacks go through, and the minute holds 150
    assert limiter.used(ORG, "api") == API_LIMIT


def test_callbacks_count_against_what_other_calls_may_use(limiter: MemoryRateLimiter) -> None:
    # Given 120 callbacks in one minute
    for _ in range(UNRESERVED):
        limiter.acquire(ORG, "callback")
    # When an action is asked for, with its own second still empty / Then it waits
    with pytest.raises(WaitingError, match="per 60 s"):
        limiter.acquire(ORG, "action")


def test_a_full_window_waits_until_the_window_ends(
    limiter: MemoryRateLimiter, clock: StoppedClock
) -> None:
    # Given a full minute window, 10.25 s into the minute
    for _ in range(API_LIMIT):
        limiter.acquire(ORG, "callback")
    # When one more call is asked for
    with pytest.raises(WaitingError) as waiting:
        limiter.acquire(ORG, "callback")
    # Then it waits the rest of the minute, rounded up to whole seconds (SQS delays are)
    assert waiting.value.retry_after == 50
    assert "150 api call(s) per 60 s" in str(waiting.value)


def test_the_next_window_starts_empty(limiter: MemoryRateLimiter, clock: StoppedClock) -> None:
    # Given a full minute window
    for _ in range(API_LIMIT):
        limiter.acquire(ORG, "callback")
    # When the next minute begins
    clock.now += 50
    # Then calls go through again
    limiter.acquire(ORG, "api")
    assert limiter.used(ORG, "api") == 1


def test_a_second_allows_exactly_the_action_limit(limiter: MemoryRateLimiter) -> None:
    # Given 5 actions taken in one second
    for _ in range(ACTION_LIMIT):
        limiter.acquire(ORG, "action")
    # When a sixth is asked for / Then it waits for the next second
    with pytest.raises(WaitingError) as waiting:
        limiter.acquire(ORG, "action")
    assert waiting.value.retry_after == 1


def test_an_action_counts_as_an_api_call_too(limiter: MemoryRateLimiter) -> None:
    # Given 3 actions
    for _ in range(3):
        limiter.acquire(ORG, "action")
    # When the windows are read / Then the minute's API window counted them as well
    assert limiter.used(ORG, "action") == 3
    assert limiter.used(ORG, "api") == 3


def test_actions_wait_when_the_minute_is_used_up_by_other_calls(
    limiter: MemoryRateLimiter,
) -> None:
    # Given a minute whose 120 unreserved API calls are all taken
    for _ in range(UNRESERVED):
        limiter.acquire(ORG, "api")
    # When an action is asked for, with its own second still empty
    # Then it waits for the minute, not only for its second
    with pytest.raises(WaitingError, match="per 60 s"):
        limiter.acquire(ORG, "action")


def test_a_refused_action_spends_none_of_the_minute(limiter: MemoryRateLimiter) -> None:
    # Given a full second of actions
    for _ in range(ACTION_LIMIT):
        limiter.acquire(ORG, "action")
    # When more actions are refused in the same second
    for _ in range(10):
        with pytest.raises(WaitingError):
            limiter.acquire(ORG, "action")
    # Then the minute's window counts only the actions that went through
    assert limiter.used(ORG, "api") == ACTION_LIMIT


def test_orgs_are_limited_apart(limiter: MemoryRateLimiter) -> None:
    # Given one org's full second of actions
    for _ in range(ACTION_LIMIT):
        limiter.acquire(ORG, "action")
    # When another org acts in the same second / Then it is not held back
    limiter.acquire("eu-api.bigpanda.io:fedcba9876543210", "action")


def test_a_burst_of_200_actions_spreads_over_40_seconds(
    limiter: MemoryRateLimiter, clock: StoppedClock
) -> None:
    # Given 200 resolves queued at once, each retried when its wait is over
    pending, done, start = 200, 0, clock.now
    while pending:
        try:
            limiter.acquire(ORG, "action")
        except WaitingError as waiting:
            clock.now += waiting.retry_after or 1
        else:
            pending, done = pending - 1, done + 1
    # When they have all gone through / Then none was lost, and the limits held throughout
    assert done == 200
    assert clock.now - start >= 200 / ACTION_LIMIT - 1


def test_one_org_id_per_api_host_and_key_secret() -> None:
    # Given the same host written two ways, and another secret
    us = org_id("https://api.bigpanda.io/", "bigpanda/key")
    # When ids are made / Then the spelling of the base does not matter, the secret does
    assert org_id("https://API.bigpanda.io", "bigpanda/key") == us
    assert org_id("https://api.bigpanda.io", "other/key") != us
    assert org_id("https://eu-api.bigpanda.io", "bigpanda/key") != us
    assert us.startswith("api.bigpanda.io:")


def test_a_secret_named_by_its_arn_is_the_same_org_as_by_its_name() -> None:
    # Given the key secret as the stack passes it (its full ARN) and as a file names it
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:bigpanda/key-AbC123"
    # When org ids are made / Then both are one org, sharing one limit
    assert org_id("https://api.bigpanda.io", arn) == org_id(
        "https://api.bigpanda.io", "bigpanda/key"
    )


def test_an_org_id_is_short_whatever_the_secret_name() -> None:
    # Given a secret named by a long ARN
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:" + "x" * 300
    # When its org id is made / Then it is short enough for any key
    assert len(org_id("https://api.bigpanda.io", arn)) < 64


def burst_callback_latencies(
    limiter: MemoryRateLimiter, clock: StoppedClock, callback_kind: Kind
) -> list[float]:
    """A burst of 200 new tickets, one created every quarter second: each owes BigPanda a
    callback and a ticket link (a tag and a comment, taken in one run, all again after a
    wait), every caller retried when its wait is over, with the consumers' jitter. The seconds
    from each ticket to its confirmed callback, sorted."""
    rng = random.Random(20261205)
    start = clock.now
    due: list[tuple[float, int, str, int]] = []  # (time, order, job, ticket)
    order = itertools.count()
    for ticket in range(200):
        created = start + ticket / 4
        heapq.heappush(due, (created, next(order), "callback", ticket))
        heapq.heappush(due, (created, next(order), "link", ticket))
    confirmed: dict[int, float] = {}
    while due:
        clock.now, _, job, ticket = heapq.heappop(due)
        try:
            if job == "callback":
                limiter.acquire(ORG, callback_kind)
                confirmed[ticket] = clock.now - (start + ticket / 4)
            else:
                limiter.acquire(ORG, "action")  # the tag
                limiter.acquire(ORG, "action")  # the comment
        except WaitingError as waiting:
            retry = clock.now + wait_seconds(waiting.retry_after or 1, rng=rng)
            heapq.heappush(due, (retry, next(order), job, ticket))
    assert len(confirmed) == 200
    return sorted(confirmed.values())


def test_ticket_links_never_hold_a_burst_of_callbacks_near_bigpandas_share_lock(
    limiter: MemoryRateLimiter, clock: StoppedClock
) -> None:
    # Given 200 new tickets at once, each owing a callback and a two-write ticket link, all
    # drawing on the org's 150 requests a minute
    # When the burst has drained
    latencies = burst_callback_latencies(limiter, clock, "callback")
    # Then every callback came within a minute of its ticket, far inside the five minutes
    # BigPanda holds a share for it
    assert latencies[-1] <= 60
