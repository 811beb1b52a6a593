"""Backoff between retries of a failed queue message."""

from __future__ import annotations

import random

import pytest

from pandabridge.names import Limits
from pandabridge.retry import backoff_seconds, wait_seconds


@pytest.fixture
def rng() -> random.Random:
    return random.Random(42)


@pytest.mark.parametrize("attempt", [1, 2, 3, 4, 5, 6])
def test_delay_stays_within_half_and_whole_of_the_exponential_step(
    attempt: int, rng: random.Random
) -> None:
    step = Limits.RETRY_BASE_SECONDS * 2 ** (attempt - 1)
    delays = {backoff_seconds(attempt, rng=rng) for _ in range(200)}
    assert min(delays) >= max(1, round(step / 2))
    assert max(delays) <= round(step)


def test_delays_are_spread_out_by_jitter(rng: random.Random) -> None:
    assert len({backoff_seconds(6, rng=rng) for _ in range(50)}) > 5


def test_delay_never_exceeds_the_cap(rng: random.Random) -> None:
    assert backoff_seconds(40, rng=rng) <= Limits.RETRY_MAX_SECONDS


def test_retry_after_is_a_floor_even_above_the_cap(rng: random.Random) -> None:
    assert backoff_seconds(1, retry_after=1800, rng=rng) == 1800


def test_short_retry_after_does_not_shorten_the_backoff(rng: random.Random) -> None:
    assert backoff_seconds(5, retry_after=1, rng=rng) >= Limits.RETRY_BASE_SECONDS * 8


def test_delay_fits_sqs_visibility_limit(rng: random.Random) -> None:
    assert backoff_seconds(1, retry_after=10**9, rng=rng) == 12 * 60 * 60


def test_a_known_wait_comes_back_after_it_plus_jitter_whatever_the_receive_count(
    rng: random.Random,
) -> None:
    # Given a message that waits 50 s for a rate-limit window
    # When its delays are drawn many times
    delays = [wait_seconds(50, rng=rng) for _ in range(200)]
    # Then each is the wait plus at most half of it again, and they are spread out
    assert min(delays) >= 50
    assert max(delays) <= 75
    assert len(set(delays)) > 10
