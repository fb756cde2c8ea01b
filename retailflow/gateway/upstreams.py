"""Upstream calls guarded by a circuit breaker each, and the breakers' state for /metrics."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from retailflow.common.errors import ServiceUnavailable
from retailflow.common.upstream import Upstream, UpstreamResponse
from retailflow.gateway.breaker import BreakerState, CircuitBreaker

__all__ = ["BreakerCollector", "GuardedUpstream"]

# 503 is left out on purpose: an upstream that answers 503 is alive and telling us about *its*
# dependency (orders without payments); opening its circuit would also block what still works.
FAILURE_STATUSES = frozenset({500, 502, 504})
STATE_VALUE = {BreakerState.CLOSED: 0, BreakerState.OPEN: 1, BreakerState.HALF_OPEN: 2}


class GuardedUpstream:
    def __init__(self, upstream: Upstream, breaker: CircuitBreaker) -> None:
        self.upstream = upstream
        self.breaker = breaker
        self.name = upstream.name

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        retry: bool | None = None,
    ) -> UpstreamResponse:
        self.breaker.before_call()
        try:
            response = await self.upstream.request(method, path, json=json, headers=headers, retry=retry)
        except ServiceUnavailable:
            self.breaker.record_failure()
            raise
        except BaseException:
            self.breaker.record_abandoned()
            raise
        if response.status in FAILURE_STATUSES:
            self.breaker.record_failure()
        else:
            self.breaker.record_success()
        return response

    async def get(self, path: str, **kw: Any) -> UpstreamResponse:
        return await self.request("GET", path, **kw)

    async def close(self) -> None:
        await self.upstream.close()


class BreakerCollector(Collector):
    """Reads the breakers at scrape time, so the hot path updates no metric objects."""

    def __init__(self, breakers: Mapping[str, CircuitBreaker]) -> None:
        self.breakers = breakers

    def collect(self) -> Iterable[Metric]:
        state = GaugeMetricFamily(
            "gateway_circuit_state", "circuit per upstream: 0 closed, 1 open, 2 half-open", labels=["upstream"]
        )
        opened = CounterMetricFamily(
            "gateway_circuit_opened", "times the upstream's circuit opened", labels=["upstream"]
        )
        for name, breaker in self.breakers.items():
            state.add_metric([name], STATE_VALUE[breaker.state])
            opened.add_metric([name], breaker.opened_total)
        yield state
        yield opened
