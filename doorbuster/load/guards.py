"""What keeps a run honest and bounded: a time bound, no orphaned load, no run against nothing."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import gevent

from doorbuster.errors import EXIT_UNREACHABLE
from doorbuster.load.cli import PARENT_ENV
from doorbuster.load.state import LoadState

__all__ = ["PARENT_ENV", "abort_if_nothing_succeeds", "quit_when_orphaned", "watchdog"]

log = logging.getLogger("doorbuster.load")


def watchdog(runner: Any, bound: float) -> None:
    log.error("doorbuster: the run outlived its time bound (%.0f s); quitting", bound)
    runner.quit()


def quit_when_orphaned(runner: Any, parent: int) -> None:
    """`doorbuster load` started us: if it is gone (even SIGKILLed), no load may outlive it."""
    while os.getppid() == parent:
        gevent.sleep(0.5)
    log.error("doorbuster: the command that started this load is gone; quitting")
    runner.quit()


def abort_if_nothing_succeeds(environment: Any, state: LoadState) -> None:
    """A target where every request fails is unreachable or broken: abort early (exit 4)."""
    if state.ok or not state.failed or state.ended_at is not None:
        return
    reason = (
        f"every request to {environment.host} failed in the first {state.fail_grace:g} s "
        f"({state.failed} failed, e.g. {state.last_error!r}): the shop is unreachable or broken"
    )
    log.error("doorbuster: %s; aborting", reason)
    sys.stderr.write(f"doorbuster: error: {reason}; aborting\n")
    state.abort_reason = reason
    environment.process_exit_code = EXIT_UNREACHABLE
    gevent.spawn(environment.runner.quit)
