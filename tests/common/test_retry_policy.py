"""The retry policy's decisions (pure: no clock, no I/O)."""

from __future__ import annotations

import email.utils
import random

import pytest

from airflow_provider.common.retry import RetryPolicy, parse_retry_after

POLICY = RetryPolicy(max_attempts=5, budget=30, base_delay=1, max_delay=8, jitter=0)


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504])
def test_retryable_statuses_for_idempotent_calls(status: int) -> None:
    assert POLICY.delay_for_status(status, idempotent=True, attempt=1, slept=0, retry_after=None) == 1


def test_only_429_resends_a_non_idempotent_call() -> None:
    assert POLICY.delay_for_status(429, idempotent=False, attempt=1, slept=0, retry_after=None) == 1
    for status in (500, 502, 503, 504):
        assert POLICY.delay_for_status(status, idempotent=False, attempt=1, slept=0, retry_after=None) is None
        assert RetryPolicy.outcome_unknown(status, idempotent=False)
        assert not RetryPolicy.outcome_unknown(status, idempotent=True)
    assert not RetryPolicy.outcome_unknown(400, idempotent=False) and not RetryPolicy.outcome_unknown(429, idempotent=False)
    assert RetryPolicy.outcome_unknown(None, idempotent=False, kind="timeout") and RetryPolicy.outcome_unknown(None, idempotent=False, kind="reset")
    assert not RetryPolicy.outcome_unknown(None, idempotent=False, kind="connect")


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422])
def test_client_errors_are_final(status: int) -> None:
    assert POLICY.delay_for_status(status, idempotent=True, attempt=1, slept=0, retry_after=None) is None


def test_retry_after_wins_over_backoff() -> None:
    assert POLICY.delay_for_status(429, idempotent=False, attempt=3, slept=0, retry_after=7.5) == 7.5


def test_exponential_backoff_capped() -> None:
    assert [POLICY.backoff(n) for n in range(1, 6)] == [1, 2, 4, 8, 8]
    jittery = RetryPolicy(base_delay=1, jitter=0.25)
    values = {round(jittery.backoff(1, random.Random(seed)), 3) for seed in range(20)}
    assert len(values) > 1 and all(0.75 <= v <= 1.25 for v in values)


def test_attempts_and_budget_bound_the_retries() -> None:
    assert POLICY.delay_for_status(503, idempotent=True, attempt=5, slept=0, retry_after=None) is None
    assert POLICY.delay_for_status(503, idempotent=True, attempt=2, slept=29, retry_after=None) is None
    assert POLICY.delay_for_status(429, idempotent=True, attempt=1, slept=0, retry_after=31) is None


def test_a_post_that_may_have_reached_the_server_is_not_resent() -> None:
    assert POLICY.delay_for_transport_error(idempotent=False, may_have_reached_server=True, attempt=1, slept=0) is None
    assert POLICY.delay_for_transport_error(idempotent=False, may_have_reached_server=True, attempt=1, slept=0, timed_out=True) is None
    assert POLICY.delay_for_transport_error(idempotent=True, may_have_reached_server=True, attempt=1, slept=0) == 1


def test_refused_connections_get_a_small_budget() -> None:
    delays = [POLICY.delay_for_transport_error(idempotent=False, may_have_reached_server=False, attempt=n, slept=0) for n in (1, 2, 3)]
    assert delays == [0.1, 0.2, None]


def test_a_silent_server_is_asked_twice_at_most() -> None:
    first = POLICY.delay_for_transport_error(idempotent=True, may_have_reached_server=True, attempt=1, slept=0, timed_out=True)
    assert first == 0.25
    assert POLICY.delay_for_transport_error(idempotent=True, may_have_reached_server=True, attempt=2, slept=0.25, timed_out=True) is None


def test_parse_retry_after_seconds_and_http_date() -> None:
    now = 1_700_000_000.0
    assert parse_retry_after("12", now) == 12
    assert parse_retry_after(email.utils.formatdate(now + 30, usegmt=True), now) == pytest.approx(30, abs=1)
    assert parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now) == 0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None
