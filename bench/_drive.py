"""What the benchmarks share: start a real service or a whole shop, drive it, measure its CPU."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pandas as pd
import psutil

from doorbuster.reports.attribution import achieved_by_segment
from doorbuster.reports.load import run_ended_ts
from doorbuster.reports.transform import plan_segments
from retailflow.runtime.standalone import run_service

__all__ = ["CONCURRENCY", "SECONDS", "BenchShop", "Call", "HeldStep", "ShopDidNotStart", "bench_shop", "doorbuster",
           "drive", "get_ok", "held_steps", "run_ended_at", "service"]  # fmt: skip

SECONDS = float(os.environ.get("BENCH_SECONDS", "3"))
CONCURRENCY = 8
Call = Callable[[aiohttp.ClientSession, str], Awaitable[None]]


@contextmanager
def service(
    name: str, data_dir: str | Path, extra: dict[str, str] | None = None, port: int | None = None
) -> Iterator[tuple[str, psutil.Process]]:
    """A seeded, ready replica of `name` (2,000 products): its URL and its process."""
    env = {"RF_LOG_LEVEL": "WARNING", **(extra or {})}
    with run_service(name, Path(data_dir), env, service_port=port) as (pod, *_):
        yield pod.url, psutil.Process(pod.proc.pid)


class ShopDidNotStart(RuntimeError):
    """`doorbuster up` failed; the message holds the end of what it said."""


@dataclass(frozen=True)
class BenchShop:
    tmp: Path  # the benchmark's temporary folder; the shop's data folder is tmp/shop
    data_dir: Path
    url: str  # the storefront, without a trailing slash


def doorbuster(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """`doorbuster ARGS` from this checkout (not the script on PATH), its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "doorbuster.cli", *args], env=env, capture_output=True, text=True, timeout=timeout,
        check=False,
    )  # fmt: skip


@contextmanager
def bench_shop(
    prefix: str, services: str | None = None, *, ttl: str = "20m", env: Mapping[str, str] | None = None
) -> Iterator[BenchShop]:
    """A local shop (`services`: all when None) in a new temporary folder for the block, taken down at its
    end whatever happened (its recorded pods killed should `down` fail), then the folder removed.
    ShopDidNotStart when `doorbuster up` fails."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp_name:
        data_dir = Path(tmp_name) / "shop"
        only = ["--services", services] if services else []
        up = doorbuster(
            "up", "--data-dir", str(data_dir), "--port", "0", "--ttl", ttl, "--timeout", "240", *only, env=env
        )
        try:
            if up.returncode != 0:
                raise ShopDidNotStart(f"the shop did not start (exit {up.returncode}): {up.stderr[-800:]}")
            state = json.loads((data_dir / "runtime.json").read_text())
            yield BenchShop(Path(tmp_name), data_dir, state["storefront_url"].rstrip("/"))
        finally:
            if doorbuster("down", "--data-dir", str(data_dir), env=env, timeout=120).returncode != 0:
                _reap(data_dir)


def _reap(data_dir: Path) -> None:
    """Kill the supervisor and the pods that runtime.json names."""
    with contextlib.suppress(OSError, ValueError):
        state = json.loads((data_dir / "runtime.json").read_text())
        for pid in [state.get("pid"), *(p.get("pid") for p in state.get("pods", []))]:
            with contextlib.suppress(psutil.Error):
                if pid:
                    psutil.Process(int(pid)).send_signal(signal.SIGKILL)


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


@dataclass(frozen=True)
class HeldStep:
    """One held step of a stepped plan, as the benchmarks judge it.

    Achieved load is counted as the report counts it (doorbuster.reports.attribution): each
    request at its iteration's intended start, and the plan's last seconds expecting only what
    could be sent before the run ended. Requests of iterations begun in the step before count
    there and the step's own late requests count here, so the count covers the whole step.

    What is read by send time (latency, errors, CPU) is read from `settled` to `end`, the window
    the benchmarks have always used: in a step's first seconds the shop still gets the tail of the
    lower rate before it, not yet the step's load.
    """

    stage: str
    start: float  # the step's first steady tick
    settled: float  # `start` and the settling seconds
    end: float  # the step's last steady tick
    intended_end: float  # the end of that tick: iterations intended from `start` to here are the step's
    planned_rps: float
    planned_requests: float  # what the plan could expect to be sent by the step's iterations
    achieved_requests: int  # requests of the iterations the plan intended in the step

    @property
    def achieved_ratio(self) -> float:
        return self.achieved_requests / self.planned_requests if self.planned_requests > 0 else float("nan")

    @property
    def achieved_rps(self) -> float:
        """The planned rate times the share of it that was achieved."""
        return self.planned_rps * self.achieved_ratio


def held_steps(
    planned: pd.DataFrame,
    requests: pd.DataFrame,
    iterations: pd.DataFrame | None,
    *,
    hold_s: float,
    ended: float | None = None,
) -> list[HeldStep]:
    """Each steady step of planned_rate.csv with the load achieved in it, from requests.parquet
    and iterations.csv; `ended` is meta.json's `ended_at` (run_ended_at)."""
    # The plan's last step lasts until the last request was sent, as in the report.
    last_sent = float(requests["ts"].max()) if len(requests) else float(planned["ts"].max())
    segments = plan_segments(planned, run_end=last_sent)
    segments = achieved_by_segment(segments, requests, iterations, ended=ended)
    steps = []
    for stage, steady in segments[segments["phase"] == "steady"].groupby("stage", sort=False):
        start = float(steady["ts"].min())
        steps.append(
            HeldStep(
                stage=str(stage),
                start=start,
                settled=start + min(5.0, hold_s / 4),
                end=float(steady["ts"].max()),
                intended_end=float(steady["end"].max()),
                planned_rps=float(steady["planned_rps"].mean()),
                planned_requests=float(steady["planned_requests"].sum()),
                achieved_requests=int(steady["achieved_requests"].sum()),
            )
        )
    return steps


def run_ended_at(run_dir: Path) -> float | None:
    """meta.json's `ended_at` (the load's end, after the grace) as epoch seconds, None if unknown."""
    try:
        meta = json.loads((run_dir / "meta.json").read_text())
    except (OSError, ValueError):
        return None
    return run_ended_ts(meta)
