"""The generator's own health every second: CPU and memory (Locust's CPU warning comes too late)."""

from __future__ import annotations

import time
from typing import Any

import gevent
import psutil

from doorbuster.load.state import LoadState

__all__ = ["SAMPLE_S", "sample_generator"]

SAMPLE_S = 1.0


def sample_generator(environment: Any, state: LoadState) -> None:
    """Runs for the life of the process; samples only while a test runs (a generator.csv row)."""
    process = psutil.Process()
    process.cpu_percent(None)
    while True:
        gevent.sleep(SAMPLE_S)
        if state.started_at is None or state.ended_at is not None:
            continue
        rss_mb = process.memory_info().rss / 1e6
        runner = environment.runner
        users = int(getattr(runner, "user_count", 0) or 0) if runner is not None else 0
        idle = late = None
        if state.pacer is not None:
            pressure = state.pressure()
            idle, late = pressure.idle, pressure.late
        pool = state.pool
        state.outbox.rows["generator"].append(
            (
                time.time(),
                state.worker,
                process.cpu_percent(None),
                rss_mb,
                users,
                idle,
                late,
                pool.size if pool is not None else None,
                pool.cap_hit if pool is not None else None,
            )
        )
