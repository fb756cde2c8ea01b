"""Errors a service lives with are never silent: each is logged with its context and counted.

A Redis outage degrades the cache to misses, a background loop retries after a failure, a bus
that will not close is left behind at shutdown: the service goes on, and that is the point. But
each such error is logged where it happened, with what it was doing, and counted in
`retailflow_handled_errors_total{where=...}` on every service's /metrics. Logging is throttled per
place, so an outage at a thousand requests a second is a line every few seconds, not a flood.
"""

from __future__ import annotations

import logging
import threading
import time

from prometheus_client import Counter

__all__ = ["HANDLED_ERRORS", "LOG_EVERY_S", "handled"]

log = logging.getLogger("retailflow.handled")

LOG_EVERY_S = 10.0
# Not registered anywhere here: every service's app registers it on its own /metrics registry.
HANDLED_ERRORS = Counter(
    "retailflow_handled_errors_total",
    "Errors the service handled and went on after (logged with context), by where they happened",
    ["where"],
    registry=None,
)

_lock = threading.Lock()
_last_logged: dict[str, float] = {}
_unlogged: dict[str, int] = {}


def handled(where: str, exc: BaseException, *, level: int = logging.WARNING, **context: object) -> None:
    """Count `exc` under `where` and log it with `context` (at most one line per place per 10 s)."""
    HANDLED_ERRORS.labels(where).inc()
    now = time.monotonic()
    with _lock:
        if now - _last_logged.get(where, -LOG_EVERY_S) < LOG_EVERY_S:
            _unlogged[where] = _unlogged.get(where, 0) + 1
            return
        _last_logged[where] = now
        since = _unlogged.pop(where, 0)
    more = f" (and {since} more since the last report)" if since else ""
    log.log(level, "%s failed: %s: %s%s", where, type(exc).__name__, exc, more,
            extra={"where": where, **{k: str(v)[:200] for k, v in context.items()}})  # fmt: skip
