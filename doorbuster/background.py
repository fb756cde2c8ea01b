"""Work beside a with-block: loops in threads that start on entry and are stopped and joined on exit.

The benchmarks' CPU samplers and light load and the tests' watchers and shoppers all run this
way; one base keeps the start, the stop signal and the bounded join in one place, so that no
loop outlives its block and skews the next measurement.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Self

__all__ = ["Background"]


class Background:
    """Runs each of `loops` in a daemon thread while the block runs; a loop ends when `stop` is set.

    A loop waits with `self.stop.wait(seconds)`, so that the exit never waits out a sleep.
    """

    join_timeout_s: float = 10.0

    def __init__(self, *loops: Callable[[], None]) -> None:
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=loop, daemon=True) for loop in loops]

    def __enter__(self) -> Self:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=self.join_timeout_s)
