"""A service's background loops (outbox relays, reapers, consumers): started with the app,
watched while it runs, stopped with it, and never lost silently.

Each loop handles its own expected failures and goes on. A loop that nevertheless ends (a
crash, an unexpected return, a cancel nobody asked for) is logged with its traceback, counted
(`retailflow_handled_errors_total{where="task.<name>"}`), and named by the replica's /readyz
until the replica restarts: a pod whose relay died must not look healthy.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from retailflow.common.handled import HANDLED_ERRORS

__all__ = ["BackgroundTasks"]

log = logging.getLogger("retailflow.background")


class BackgroundTasks:
    def __init__(self) -> None:
        self._tasks: list[asyncio.Task[Any]] = []
        self._stopping = False
        self.ended: dict[str, str] = {}  # task name → how it ended, for /readyz

    def start(self, name: str, loop: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(loop, name=name)
        task.add_done_callback(self._ended)
        self._tasks.append(task)

    def _ended(self, task: asyncio.Task[Any]) -> None:
        if self._stopping:
            return  # stop() collects what each task ended with
        name = task.get_name()
        if task.cancelled():
            how = "was cancelled"
            log.error("background task %s was cancelled while the service runs", name, extra={"task": name})
        elif (exc := task.exception()) is not None:
            how = f"crashed: {type(exc).__name__}: {exc}"
            log.error("background task %s crashed", name, exc_info=exc, extra={"task": name})
        else:
            how = "returned"
            log.error("background task %s returned while the service runs", name, extra={"task": name})
        HANDLED_ERRORS.labels(f"task.{name}").inc()
        self.ended[name] = how

    async def ready(self) -> bool:
        """A ReadyCheck: fails naming every loop that ended."""
        if self.ended:
            raise RuntimeError("; ".join(f"{name} {how}" for name, how in sorted(self.ended.items())))
        return True

    async def stop(self) -> None:
        """Cancel every loop and wait for it; an error a loop raised on its way out is logged, not hidden."""
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        results = await asyncio.gather(*self._tasks, return_exceptions=True)
        for task, result in zip(self._tasks, results, strict=True):
            if task.get_name() in self.ended:
                continue  # its end was reported when it happened
            if isinstance(result, Exception):  # CancelledError is a BaseException: the normal end
                log.error("background task %s failed while stopping", task.get_name(), exc_info=result)
                HANDLED_ERRORS.labels(f"task.{task.get_name()}").inc()
        self._tasks.clear()
