"""Interrupts that stop an experiment instead of failing one activity.

Chaos Toolkit turns SIGTERM into `InterruptExecution` in the main thread. Raised inside a
Python activity, chaoslib's provider catches it as an `Exception`, records a failed activity
and runs the rest of the method as if nothing happened. `activity` re-raises it as
`SystemExit(20)`, which is what chaoslib's own SIGUSR1 handler raises: the run stops as
"interrupted" and the rollbacks still run. `shielded` defers SIGINT/SIGTERM until a heal has
finished, so an interrupt never leaves a fault half-healed.
"""

from __future__ import annotations

import functools
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from chaoslib.exceptions import InterruptExecution

__all__ = ["INTERRUPTED_EXIT", "activity", "shielded"]

P = ParamSpec("P")
R = TypeVar("R")
INTERRUPTED_EXIT = 20  # chaoslib.exit: "terminate now while keeping the rollbacks"
_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def activity(func: Callable[P, R]) -> Callable[P, R]:
    """Make an interrupt during `func` stop the run (rollbacks kept) instead of failing `func`."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except InterruptExecution as exc:
            raise SystemExit(INTERRUPTED_EXIT) from exc

    return wrapper


@contextmanager
def shielded() -> Iterator[None]:
    """Hold SIGINT/SIGTERM back while the block runs; a signal that came meanwhile acts at its end."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signals only reach the main thread anyway
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
