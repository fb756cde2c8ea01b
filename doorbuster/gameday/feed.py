"""The live view of a game day, read from the run folder as the load writes it.

Two files grow while Locust runs: `planned_rate.csv` (the plan's ticks, flushed every second
by the recorder) and `locust_stats_history.csv` (Locust's aggregated row every second,
`CSV_STATS_INTERVAL_SEC` = 1 in Locust 2.47's `stats.py`). Locust flushes that file once more
than `CSV_STATS_FLUSH_INTERVAL_SEC` = 5 s have passed since its last flush, checked on its 1 s
tick, so about every 6 s, and earlier when the file's buffer fills. So the newest rows can be up
to ~6 s late. Nothing here talks to the load process: the run folder is the only channel.
"""

from __future__ import annotations

import csv
import io
import math
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from doorbuster.runfolder import LOCUST_PREFIX, PLANNED_RATE

__all__ = ["CsvTail", "LiveFeed", "Sample", "Snapshot"]

HISTORY = f"{LOCUST_PREFIX}_stats_history.csv"
_KEEP_S = 900.0  # samples older than this are dropped: stop conditions look back less than that
# Locust's p95 (with --csv-full-history, its "current" percentile) covers the requests answered in
# its last ~10 s (`CURRENT_RESPONSE_TIME_PERCENTILE_WINDOW` = 10 in stats.py): when none was, it goes
# on writing the p95 of an older window (it looks for a cached snapshot 2 to 18 s back, the window
# ± 8 s), then 0 (an empty window), never the requests still in flight. Silence while the plan had
# at least this many requests due is a stall, not a lull: the requests in flight are at least as old
# as it.
STALL_DUE = 5.0
# The live req/s: requests answered over Locust's last rows spanning this long, beside the plan's
# rate over the same seconds. Locust's own "Requests/s" is a 10 s average ending 2 s before its
# row, and its file is up to ~6 s late: beside the newest planned rate, a flash sale's first
# seconds read as a generator far behind, and the recovery after it as 5x the plan.
RATE_WINDOW_S = 5.0


class CsvTail:
    """The complete lines appended to a CSV file since the last read (a partial last line waits)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.header: list[str] | None = None

    def read(self) -> list[dict[str, str]]:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                chunk = handle.read()
        except OSError:
            return []
        end = chunk.rfind(b"\n")
        if end < 0:
            return []
        self.offset += end + 1
        lines = chunk[: end + 1].decode("utf-8", errors="replace")
        rows = list(csv.reader(io.StringIO(lines)))
        if self.header is None and rows:
            self.header, rows = rows[0], rows[1:]
        assert self.header is not None or not rows
        return [dict(zip(self.header or [], row, strict=False)) for row in rows if row]


def _number(text: str | None) -> float | None:
    try:
        value = float(text or "")
    except ValueError:
        return None
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class Sample:
    """Locust's aggregated row at one second: cumulative counts, current rate and p95."""

    ts: float
    requests: int
    failures: int
    rps: float
    p95_ms: float | None
    silent_s: float = 0.0  # since the last sample in which a request was answered


@dataclass(frozen=True)
class Snapshot:
    t0: float | None  # the plan's first tick: the origin of the schedule
    now: float
    planned_rps: float | None
    stage: str
    achieved_rps: float | None
    p95_ms: float | None
    error_rate: float | None  # over the last `window_s` seconds
    requests: int
    failures: int

    @property
    def elapsed(self) -> float | None:
        return None if self.t0 is None else self.now - self.t0


class LiveFeed:
    def __init__(self, run_dir: Path, *, window_s: float = 10.0) -> None:
        self._planned = CsvTail(run_dir / PLANNED_RATE)
        self._history = CsvTail(run_dir / HISTORY)
        self.window_s = window_s
        self.t0: float | None = None
        self.planned_rps: float | None = None  # the newest planned rate
        self._plan: deque[tuple[float, float]] = deque()  # (ts, planned_rps) of the plan's ticks
        self.stage = ""
        self.samples: deque[Sample] = deque()
        self._answered_ts: float | None = None  # the last sample whose request count rose

    def poll(self, now: float) -> Snapshot:
        for row in self._planned.read():
            ts = _number(row.get("ts"))
            if ts is None:
                continue
            if self.t0 is None:
                self.t0 = ts
            self.planned_rps = _number(row.get("planned_rps"))
            if self.planned_rps is not None:
                self._plan.append((ts, self.planned_rps))
            self.stage = f"{row.get('stage', '')} {row.get('phase', '')}".strip()
        for row in self._history.read():
            if row.get("Name") != "Aggregated":
                continue
            ts = _number(row.get("Timestamp"))
            if ts is None:
                continue
            requests = int(_number(row.get("Total Request Count")) or 0)
            if requests > (self.samples[-1].requests if self.samples else 0):
                self._answered_ts = ts
            self.samples.append(
                Sample(
                    ts=ts,
                    requests=requests,
                    failures=int(_number(row.get("Total Failure Count")) or 0),
                    rps=_number(row.get("Requests/s")) or 0.0,
                    p95_ms=_number(row.get("95%")),
                    silent_s=0.0 if self._answered_ts is None else ts - self._answered_ts,
                )
            )
        while self.samples and self.samples[0].ts < now - _KEEP_S:
            self.samples.popleft()
        while self._plan and self._plan[0][0] < now - _KEEP_S:
            self._plan.popleft()
        last = self.samples[-1] if self.samples else None
        achieved, planned = self.rates(RATE_WINDOW_S)
        return Snapshot(
            t0=self.t0,
            now=now,
            planned_rps=planned,
            stage=self.stage,
            achieved_rps=achieved,
            p95_ms=last.p95_ms if last else None,
            error_rate=self.error_rate(self.window_s)[0],
            requests=last.requests if last else 0,
            failures=last.failures if last else 0,
        )

    def rates(self, window_s: float) -> tuple[float | None, float | None]:
        """(answered req/s, planned req/s) over the same seconds: the last `window_s` of Locust's
        rows (fewer at the start), and the plan's ticks within them. Before two rows exist, Locust's
        own rate and the newest planned one."""
        last = self.samples[-1] if self.samples else None
        if last is None:
            return None, self.planned_rps
        base = next((s for s in reversed(self.samples) if s.ts <= last.ts - window_s), self.samples[0])
        if last.ts <= base.ts:
            return last.rps, self.planned_rps
        achieved = (last.requests - base.requests) / (last.ts - base.ts)
        # a tick at ts plans the second after it: the seconds (base, last] were planned by the
        # ticks in [base, last)
        plan = [rps for ts, rps in self._plan if base.ts <= ts < last.ts]
        return achieved, (sum(plan) / len(plan) if plan else self.planned_rps)

    def error_rate(self, window_s: float) -> tuple[float | None, int]:
        """(failed share, requests) over the last `window_s` seconds of samples; (None, n) when
        the samples do not yet cover the window."""
        if not self.samples:
            return None, 0
        last = self.samples[-1]
        # The window must be covered: the newest sample at or before its start is the base.
        base = next((s for s in reversed(self.samples) if s.ts <= last.ts - window_s), None)
        if base is None:
            return None, last.requests
        requests = last.requests - base.requests
        failures = last.failures - base.failures
        return (failures / requests if requests > 0 else None), requests

    def p95_over(self, window_s: float) -> list[float | None]:
        """The p95 of each sample in the last `window_s` seconds (empty until they cover it)."""
        if not self.samples or self.samples[-1].ts - self.samples[0].ts < window_s:
            return []
        last = self.samples[-1].ts
        return [self.p95_of(s) for s in self.samples if s.ts >= last - window_s]

    def p95_of(self, sample: Sample) -> float | None:
        """Locust's p95, or during a stall (nothing answered while requests were due) at least the
        stall's length: Locust then reads an old p95 or 0 ms, which would pass any limit."""
        if sample.silent_s > 0 and (self.planned_rps or 0.0) * sample.silent_s >= STALL_DUE:
            return max(sample.p95_ms or 0.0, sample.silent_s * 1000.0)
        return sample.p95_ms
