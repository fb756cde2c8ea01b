"""A circuit breaker per upstream: closed → open after N consecutive failures → half-open probe.

While open, calls fail at once instead of queueing behind a dead or blackholed upstream, so
the gateway's own workers stay free for the routes that still work. After the cool-down one
probe call goes through; its outcome closes the circuit or opens it for another cool-down.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable

from retailflow.common.errors import ServiceUnavailable

__all__ = ["BreakerState", "CircuitBreaker", "CircuitOpen"]


class BreakerState(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitOpen(ServiceUnavailable):
    """The breaker refused the call without trying the upstream."""

    def __init__(self, detail: str, *, upstream: str) -> None:
        super().__init__(detail, code=f"{upstream}_unavailable")
        self.upstream = upstream


class CircuitBreaker:
    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        cooldown_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError(f"failure_threshold must be at least 1, got {failure_threshold}")
        self.name = name
        self.failure_threshold = failure_threshold
        self.cooldown_s = cooldown_s
        self.clock = clock
        self._state = BreakerState.CLOSED
        self._failures = 0  # consecutive, while closed
        self._opened_at = 0.0
        self._probing = False  # a half-open probe is in flight
        self.opened_total = 0  # how often the circuit opened, for /metrics

    @property
    def state(self) -> BreakerState:
        if self._state is BreakerState.OPEN and self.clock() - self._opened_at >= self.cooldown_s:
            self._state = BreakerState.HALF_OPEN
        return self._state

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def retry_in(self) -> float:
        """Seconds until an open circuit lets a probe through (0 when not open)."""
        if self.state is not BreakerState.OPEN:
            return 0.0
        return max(0.0, self._opened_at + self.cooldown_s - self.clock())

    def before_call(self) -> None:
        """Admit a call or raise CircuitOpen; in half-open state only one probe is admitted."""
        state = self.state
        if state is BreakerState.CLOSED:
            return
        if state is BreakerState.HALF_OPEN and not self._probing:
            self._probing = True
            return
        why = (
            "a probe call is in flight"
            if state is BreakerState.HALF_OPEN
            else (f"the next probe is in {self.retry_in():.1f}s")
        )
        raise CircuitOpen(
            f"{self.name} is failing; the gateway stopped calling it (circuit open, {why})", upstream=self.name
        )

    def record_success(self) -> None:
        self._failures = 0
        self._probing = False
        self._state = BreakerState.CLOSED

    def record_failure(self) -> None:
        self._probing = False
        if self._state is BreakerState.CLOSED:
            self._failures += 1
            if self._failures < self.failure_threshold:
                return
        # a failed probe, or the threshold reached: open (again) for a full cool-down
        self._state = BreakerState.OPEN
        self._opened_at = self.clock()
        self._failures = 0
        self.opened_total += 1

    def record_abandoned(self) -> None:
        """The call ended without an outcome (cancelled): free the probe slot, change nothing else."""
        self._probing = False

    def snapshot(self) -> dict[str, object]:
        return {
            "state": self.state.value,
            "consecutive_failures": self._failures,
            "failure_threshold": self.failure_threshold,
            "cooldown_s": self.cooldown_s,
            "retry_in_s": round(self.retry_in(), 3),
            "opened_total": self.opened_total,
        }
