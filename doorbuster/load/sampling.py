"""The generator's own health every second: CPU and memory (Locust's CPU warning comes too late)."""

from __future__ import annotations

import time

import gevent
import psutil

from doorbuster.load.state import LoadState

__all__ = ["SAMPLE_S", "sample_generator"]

SAMPLE_S = 1.0


def sample_generator(state: LoadState) -> None:
    """Runs for the life of the process; samples only while a test runs."""
    process = psutil.Process()
    process.cpu_percent(None)
    while True:
        gevent.sleep(SAMPLE_S)
        if state.started_at is None or state.ended_at is not None:
            continue
        rss_mb = process.memory_info().rss / 1e6
        state.outbox.rows["generator"].append((time.time(), state.worker, process.cpu_percent(None), rss_mb))
