"""Every request Locust reports becomes a row of requests.parquet (docs/contracts.md, section 1)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from doorbuster.load.state import LoadState

__all__ = ["count_result", "error_text", "request_listener"]


def error_text(exception: Any) -> str:
    text = str(exception) or type(exception).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def count_result(state: LoadState, ok: bool, error: Any) -> None:
    """Counts what succeeded and what failed: an entirely failing target aborts the run."""
    if ok:
        state.ok += 1
    else:
        state.failed += 1
        state.last_error = error_text(error) if error else state.last_error


def request_listener(state: LoadState) -> Callable[..., None]:
    """A listener for Locust's request event that appends this process's rows to its outbox."""

    def on_request(
        request_type: str,
        name: str,
        response_time: float | None,
        response_length: int | None,
        response: Any = None,
        context: dict[str, Any] | None = None,
        exception: Any = None,
        start_time: float | None = None,
        **_: Any,
    ) -> None:
        ctx = context or {}
        ts = start_time or time.time()
        count_result(state, exception is None, exception)
        lag = ctx.get("lag_s")
        state.outbox.rows["requests"].append(
            (
                ts,
                ts - lag if lag is not None else math.nan,
                ctx.get("journey", ""),
                name,
                request_type,
                float(response_time or 0.0),
                int(getattr(response, "status_code", 0) or 0),
                int(response_length or 0),
                exception is None,
                "" if exception is None else error_text(exception),
                ctx.get("order_id", ""),
                ctx.get("iteration", ""),
                state.worker,
            )
        )

    return on_request
