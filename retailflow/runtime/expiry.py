"""The dead-man switch: every fault the runtime injects carries an expiry, after which it heals.

A chaos process that dies mid-fault (`kill -9`, a crashed CI job) cannot run its rollbacks;
the runtime then heals the partition, the frozen pod, the stopped service or the provider
fault by itself when the fault's time is up.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from typing import Any

from retailflow.runtime.errors import ControlError

__all__ = ["DEFAULT_EXPIRY_S", "MAX_EXPIRY_S", "Expiries", "parse_expiry"]

log = logging.getLogger("retailflow.runtime.expiry")
DEFAULT_EXPIRY_S = 300.0  # a fault asked for without an expiry still heals within five minutes
MAX_EXPIRY_S = 6 * 3600.0


def parse_expiry(body: dict[str, Any]) -> float:
    """`expires_in_s` from a control API body: seconds, > 0, at most MAX_EXPIRY_S; default DEFAULT_EXPIRY_S."""
    raw = body.get("expires_in_s", DEFAULT_EXPIRY_S)
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
        raise ControlError(f"expires_in_s {raw!r} must be a number of seconds", code="invalid_expiry", status=422)
    if not 0 < raw <= MAX_EXPIRY_S:
        raise ControlError(
            f"expires_in_s {raw!r} must be more than 0 and at most {MAX_EXPIRY_S:g}", code="invalid_expiry", status=422
        )
    return float(raw)


class Expiries:
    """Armed heals by key (`link:inventory->legacy`, `pod:catalog/1`, ...); re-arming replaces."""

    def __init__(self) -> None:
        self._timers: dict[str, tuple[asyncio.TimerHandle, float, str]] = {}

    def arm(self, key: str, seconds: float, heal: Callable[[], object], what: str) -> float:
        """Run `heal` in `seconds` unless disarmed first; returns the epoch time it will run."""
        self.disarm(key)
        loop = asyncio.get_running_loop()
        expires_at = time.time() + seconds
        handle = loop.call_later(seconds, self._fire, key, heal)
        self._timers[key] = (handle, expires_at, what)
        return expires_at

    def _fire(self, key: str, heal: Callable[[], object]) -> None:
        _, _, what = self._timers.pop(key, (None, 0.0, key))
        log.warning("fault expired; healing it", extra={"fault": key, "what": what})
        try:
            heal()
        except Exception:  # the heal of one fault must not stop the others
            log.exception("healing an expired fault failed", extra={"fault": key})

    def disarm(self, key: str) -> None:
        entry = self._timers.pop(key, None)
        if entry is not None:
            entry[0].cancel()

    def expires_at(self, key: str) -> float | None:
        entry = self._timers.get(key)
        return entry[1] if entry else None

    def snapshot(self) -> list[dict[str, Any]]:
        return [
            {"fault": key, "what": what, "expires_at": round(at, 3)}
            for key, (_, at, what) in sorted(self._timers.items())
        ]

    def cancel_all(self) -> None:
        for handle, _, _ in self._timers.values():
            handle.cancel()
        self._timers.clear()
