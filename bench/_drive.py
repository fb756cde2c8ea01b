"""What the per-service benchmarks share: start a real service, drive it, measure its CPU."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import psutil

from retailflow.runtime.standalone import run_service

__all__ = ["CONCURRENCY", "SECONDS", "Call", "drive", "get_ok", "service"]

SECONDS = float(os.environ.get("BENCH_SECONDS", "3"))
CONCURRENCY = 8
Call = Callable[[aiohttp.ClientSession, str], Awaitable[None]]


@contextmanager
def service(name: str, data_dir: str | Path, extra: dict[str, str] | None = None,
            port: int | None = None) -> Iterator[tuple[str, psutil.Process]]:
    """A seeded, ready replica of `name` (2,000 products): its URL and its process."""
    env = {"RF_LOG_LEVEL": "WARNING", **(extra or {})}
    with run_service(name, Path(data_dir), env, service_port=port) as (pod, *_):
        yield pod.url, psutil.Process(pod.proc.pid)


def get_ok(paths: Callable[[], str]) -> Call:
    """A call that GETs the next path and insists on a 200."""

    async def call(session: aiohttp.ClientSession, base: str) -> None:
        async with session.get(base + paths()) as response:
            await response.read()
            if response.status != 200:
                raise RuntimeError(f"{response.status} from {response.url}")

    return call


def _cpu(procs: Sequence[psutil.Process]) -> float:
    return sum(sum(p.cpu_times()[:2]) for p in procs)


async def drive(base: str, call: Call, *groups: Sequence[psutil.Process]) -> tuple[float, ...]:
    """(calls/s, p50 ms, p95 ms, then CPU ms per call of each group of processes) over SECONDS."""
    latencies: list[float] = []
    deadline = time.perf_counter() + SECONDS
    before = [_cpu(group) for group in groups]

    async def worker(session: aiohttp.ClientSession) -> None:
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            await call(session, base)
            latencies.append((time.perf_counter() - start) * 1000)

    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(worker(session) for _ in range(CONCURRENCY)))
    elapsed = time.perf_counter() - started
    n = len(latencies)
    latencies.sort()
    cpu = [(_cpu(group) - b) * 1000 / n for group, b in zip(groups, before, strict=True)]
    return (n / elapsed, statistics.median(latencies), latencies[int(n * 0.95)], *cpu)
