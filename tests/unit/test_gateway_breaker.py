"""The gateway's circuit breaker as a state machine, with the clock in the test's hand."""

from __future__ import annotations

import pytest

from retailflow.gateway.breaker import BreakerState, CircuitBreaker, CircuitOpen


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def breaker(clock: Clock, failures: int = 3, cooldown: float = 5.0) -> CircuitBreaker:
    return CircuitBreaker("catalog", failure_threshold=failures, cooldown_s=cooldown, clock=clock)


def fail(b: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        b.before_call()
        b.record_failure()


def opened(clock: Clock) -> CircuitBreaker:
    """A breaker on `clock` (threshold 3, cool-down 5 s) that 3 consecutive failures have just opened."""
    b = breaker(clock)
    fail(b, 3)
    return b


def probing(clock: Clock, after_s: float = 5.0) -> CircuitBreaker:
    """An opened breaker `after_s` later, its cool-down over and its one probe call admitted."""
    b = opened(clock)
    clock.now += after_s
    b.before_call()
    return b


def test_the_circuit_stays_closed_below_the_threshold_of_consecutive_failures() -> None:
    b = breaker(Clock())
    fail(b, 2)
    assert b.state is BreakerState.CLOSED
    b.before_call()  # still admitted
    assert b.consecutive_failures == 2


def test_a_success_resets_the_count_so_only_consecutive_failures_open_the_circuit() -> None:
    b = breaker(Clock())
    fail(b, 2)
    b.before_call()
    b.record_success()
    fail(b, 2)
    assert b.state is BreakerState.CLOSED


def test_consecutive_failures_open_the_circuit_and_calls_are_refused_naming_the_upstream() -> None:
    clock = Clock()
    b = opened(clock)
    assert b.state is BreakerState.OPEN
    with pytest.raises(CircuitOpen) as refused:
        b.before_call()
    assert refused.value.status == 503
    assert refused.value.code == "catalog_unavailable"
    assert refused.value.upstream == "catalog"
    assert "circuit open" in refused.value.detail and "5.0s" in refused.value.detail
    assert b.opened_total == 1


def test_after_the_cooldown_exactly_one_probe_is_admitted() -> None:
    clock = Clock()
    b = opened(clock)
    clock.now += 4.9
    assert b.state is BreakerState.OPEN
    assert b.retry_in() == pytest.approx(0.1)
    clock.now += 0.1
    assert b.state is BreakerState.HALF_OPEN
    b.before_call()  # the probe
    with pytest.raises(CircuitOpen, match="a probe call is in flight"):
        b.before_call()


def test_a_successful_probe_closes_the_circuit() -> None:
    clock = Clock()
    b = probing(clock)
    b.record_success()
    assert b.state is BreakerState.CLOSED
    b.before_call()
    b.before_call()


def test_a_failed_probe_opens_the_circuit_for_a_full_new_cooldown() -> None:
    clock = Clock()
    b = probing(clock, after_s=6)
    b.record_failure()
    assert b.state is BreakerState.OPEN
    assert b.opened_total == 2
    clock.now += 4.9
    assert b.state is BreakerState.OPEN
    clock.now += 0.1
    assert b.state is BreakerState.HALF_OPEN


def test_an_abandoned_probe_frees_the_slot_for_the_next_caller() -> None:
    clock = Clock()
    b = probing(clock)
    b.record_abandoned()
    assert b.state is BreakerState.HALF_OPEN
    b.before_call()  # admitted as the new probe


def test_the_snapshot_reports_state_and_time_to_the_next_probe() -> None:
    clock = Clock()
    b = opened(clock)
    clock.now += 2
    snap = b.snapshot()
    assert snap["state"] == "open"
    assert snap["retry_in_s"] == pytest.approx(3.0)
    assert snap["opened_total"] == 1


def test_a_threshold_below_one_is_refused_with_the_value_named() -> None:
    with pytest.raises(ValueError, match="failure_threshold must be at least 1, got 0"):
        CircuitBreaker("x", failure_threshold=0)
