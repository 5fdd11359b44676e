"""The one back-off formula that outbox handlers and push deliveries share (pure, no database)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from diary.core.backoff import CAP, backoff_delay

S = dt.timedelta(seconds=1)


def test_thirty_seconds_doubling_to_an_hour() -> None:
    waits = [backoff_delay(n) for n in range(1, 10)]
    assert waits == [30 * S, 60 * S, 120 * S, 240 * S, 480 * S, 960 * S, 1920 * S, 3600 * S, 3600 * S]


def test_a_server_wait_lengthens_but_never_shortens_and_stays_capped() -> None:
    assert backoff_delay(1, at_least=120 * S) == 120 * S  # Retry-After: 120 beats 30 s
    assert backoff_delay(4, at_least=7 * S) == 240 * S  # a shorter Retry-After does not cut the back-off
    assert backoff_delay(1, at_least=dt.timedelta(days=2)) == CAP  # nor may a server park the job for days


def test_base_and_cap_are_parameters() -> None:
    assert backoff_delay(3, base=5 * S, cap=15 * S) == 15 * S
    assert backoff_delay(2, base=5 * S, cap=15 * S) == 10 * S


@pytest.mark.parametrize("failures", [0, -1])
def test_zero_failures_is_a_caller_bug(failures: int) -> None:
    with pytest.raises(ValueError):
        backoff_delay(failures)


def test_a_job_failing_for_months_waits_the_cap_without_overflow() -> None:
    assert backoff_delay(45) == backoff_delay(10**6) == CAP  # 30 s * 2**44 is past a timedelta's range


@given(st.integers(min_value=1, max_value=10**6))
def test_monotonic_and_bounded_for_any_count(failures: int) -> None:
    # No OverflowError for a job that has failed for months.
    assert 30 * S <= backoff_delay(failures) <= backoff_delay(failures + 1) <= CAP
