"""Load achieved, counted by when the plan intended it: each request at its iteration's intended start.

A journey's requests follow its start by think pauses (browse: 8 requests over about 5 s), so
counting requests by their own send time lags the plan by about half an iteration: every rise of
the planned rate reads short, and a run that ends at its peak never recoups it (a quiet shop
"took only 90 % of the planned load"). Joined on (worker, iteration) with iterations.csv, a
planned iteration and the requests it sent fall in the same plan segment.

What is counted are requests, not iterations: planned_rate.csv plans requests (iterations × the
journey's declared requests per iteration), and a journey cut short by an error sends fewer of
them. Counting iterations would call such a journey served in full and hide a shop that errors;
counted as requests, a shop that cuts journeys short reads short. So does a journey that sends
fewer requests than it declares even on a healthy shop (browse: 8 declared, 7.9 sent on
average): the plan is what the journeys declared, and the gap is not normalised away. A missed
iteration sent nothing and counts as nothing; one started late counts where it was intended
(its lateness is the schedule-lag check's and the corrected latency's to judge), unless the
run's end cut it. A request whose iteration is unknown (no iteration id, a closed
model with no intended start, an older run folder, an id that is not unique) keeps the
send-time accounting.

The run's end: the generator starts nothing after it was asked to stop (the last intended start
of iterations.csv), and iterations under way get a grace before they are killed, so an iteration
intended in the last seconds may never send its later requests. The plan's last seconds count
only what the plan could expect to be sent before the run ended (meta.json's `ended_at`, after
the grace; never before the plan's stop or the last request): the share of an iteration's
requests that come within that time of its start, measured over the run's own iterations.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from doorbuster.reports import columns as c

__all__ = [
    "OFFSET_BIN_S",
    "SETTLED_S",
    "IterationStarts",
    "Offsets",
    "achieved_by_segment",
    "counted_at",
    "expected_requests",
    "iteration_keys",
]

OFFSET_BIN_S = 0.1  # resolution of the offsets of requests within their iteration
_MAX_OFFSET_S = 86_400.0
SETTLED_S = 60.0  # longer than a journey and its end's grace: iterations begun earlier sent all they would
_ENOUGH = 1_000  # requests of settled iterations for their offsets to stand for all


def _add(counts: np.ndarray, bins: np.ndarray) -> np.ndarray:
    more = np.bincount(bins)
    if len(more) > len(counts):
        counts = np.append(counts, np.zeros(len(more) - len(counts), np.int64))
    counts[: len(more)] += more
    return counts


_WORKER_MIX = np.uint64(0x9E3779B97F4A7C15)


def _hashes(values: pd.Series) -> np.ndarray:
    """A 64-bit hash per value, the same for the same string in any file (a missing one reads as
    ""). A categorical column is hashed once per distinct value: ids and workers repeat."""
    if not isinstance(values.dtype, pd.CategoricalDtype):
        strings = values.fillna("").astype(str).to_numpy(dtype=object)
        return np.asarray(pd.util.hash_array(strings, categorize=False))
    names = values.cat.categories.astype(str).to_numpy(dtype=object)
    table = np.append(pd.util.hash_array(names, categorize=False), pd.util.hash_array(np.array([""], dtype=object)))
    codes = values.cat.codes.to_numpy()
    hashed: np.ndarray = table[np.where(codes >= 0, codes, len(names))]
    return hashed


def iteration_keys(iteration: pd.Series, worker: pd.Series | None) -> np.ndarray:
    """One uint64 key per row for (worker, iteration): iteration ids are only unique per worker."""
    keys = _hashes(iteration)
    if worker is not None:
        with np.errstate(over="ignore"):
            keys = keys ^ (_hashes(worker) * _WORKER_MIX)
    return keys


def _once(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mask of the keys that appear once, the keys that appear more than once)."""
    order = np.argsort(keys, kind="stable")
    ordered = keys[order]
    same = ordered[1:] == ordered[:-1]
    single = np.ones(len(keys), dtype=bool)
    single[1:] &= ~same
    single[:-1] &= ~same
    once = np.empty(len(keys), dtype=bool)
    once[order] = single
    return once, np.unique(ordered[1:][same])


@dataclass(frozen=True)
class IterationStarts:
    """iterations.csv's planned iterations, by key: intended start and how late it started.

    20 bytes per iteration (a 10M-request run has about 1.3M iterations: 26 MB)."""

    keys: np.ndarray  # sorted, unique
    intended: np.ndarray  # float64 epoch s
    lag: np.ndarray  # float32 s from intended to actual start; NaN: never started (missed)
    stop: float  # the plan's end: its last intended start and a start interval (nothing was wanted after)
    by_worker: bool  # keys include the worker column

    @classmethod
    def collect(cls, chunks: Iterable[pd.DataFrame]) -> IterationStarts | None:
        """From iterations.csv chunks (iteration, intended_ts, started_ts, worker if present);
        None when no iteration has an intended start (the closed model) or no id is unique."""
        keys, intended, lag, ambiguous = [], [], [], [np.zeros(0, np.uint64)]
        stop, by_worker = -np.inf, True
        for chunk in chunks:
            by_worker = c.WORKER in chunk.columns
            when = pd.to_numeric(chunk[c.INTENDED_TS], errors="coerce").to_numpy(dtype=float)
            planned = np.isfinite(when)
            if not planned.any():
                continue
            stop = max(stop, float(when[planned].max()))
            # One row per iteration: its ids are distinct, its workers few (hashed once each).
            worker = chunk[c.WORKER].astype("category") if by_worker else None
            key = iteration_keys(chunk[c.ITERATION], worker)[planned]
            # An id written twice cannot say which start its requests belong to: neither counts by it.
            once, twice = _once(key)
            ambiguous.append(twice)
            started = pd.to_numeric(chunk[c.STARTED_TS], errors="coerce").to_numpy(dtype=float)[planned]
            keys.append(key[once])
            intended.append(when[planned][once])
            lag.append((started - when[planned])[once].astype(np.float32))
        if not keys:
            return None
        key, when = np.concatenate(keys), np.concatenate(intended)
        once, twice = _once(key)
        once &= ~np.isin(key, np.concatenate([*ambiguous, twice]))
        if not once.any():
            return None
        order = np.argsort(key[once], kind="stable")
        # Starts come a start interval apart: the plan ran about one interval past its last one.
        interval = 1.0 / max(1, int((when > stop - 1.0).sum()))
        return cls(
            key[once][order],
            when[once][order],
            np.concatenate(lag)[once][order],
            stop + interval,
            by_worker=by_worker,
        )

    def __post_init__(self) -> None:
        # A hash index: about 10x faster than a binary search for a chunk's million lookups.
        object.__setattr__(self, "_index", pd.Index(self.keys))

    def find(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(intended start, actual start) per key; NaN where the iteration is unknown."""
        at = self._index.get_indexer(keys)
        found = at >= 0
        intended = np.where(found, self.intended[at], np.nan)
        return intended, intended + self.lag[at]


@dataclass
class Offsets:
    """How long after its iteration started each request was sent, as histograms.

    The run's end cut the later requests of the iterations begun in its last seconds, so their
    offsets would make the late requests look rarer than they are: the offsets of iterations
    that began at least SETTLED_S before the last request are used when there are enough."""

    counts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # every iteration
    settled: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # begun >= SETTLED_S before the end

    def add(self, offsets: np.ndarray, started: np.ndarray, last_sent: float) -> None:
        known = np.isfinite(offsets)
        bins = (np.clip(offsets[known], 0.0, _MAX_OFFSET_S) / OFFSET_BIN_S).astype(np.int64)
        old = started[known] <= last_sent - SETTLED_S
        self.counts = _add(self.counts, bins)
        self.settled = _add(self.settled, bins[old])

    @property
    def used(self) -> np.ndarray:
        return self.settled if self.settled.sum() >= _ENOUGH else self.counts

    def sendable_time(self, within: np.ndarray) -> np.ndarray:
        """∫₀ˣ F(u) du for each x in `within`, F(u) the share of an iteration's requests sent
        within u seconds of its start: the planned seconds' worth of requests an iteration
        intended x seconds before the last request could have sent. Offsets are taken at their
        bin's start, so the plan expects each request a little early: never less than it could."""
        x = np.asarray(within, dtype=float)
        counts = self.used
        total = counts.sum()
        if total == 0:
            return np.clip(x, 0.0, None)
        edges = OFFSET_BIN_S * np.arange(len(counts) + 1)
        share = np.cumsum(counts) / total  # F over each bin: its requests and the earlier ones
        area = np.append(0.0, np.cumsum(share * OFFSET_BIN_S))
        beyond = np.clip(x - edges[-1], 0.0, None)  # past the longest offset every request was sent
        out: np.ndarray = np.interp(np.clip(x, 0.0, edges[-1]), edges, area) + beyond
        return out


def expected_requests(
    segments: pd.DataFrame, starts: IterationStarts, offsets: Offsets, *, last_sent: float, ended: float | None
) -> np.ndarray:
    """Per plan segment, the requests the plan wanted and could expect to be sent: starts up to
    the plan's stop (none were wanted after it), each sending only what comes before the run's end.

    The stop is the last intended start, or the plan's last tick should the generator have stopped
    recording starts early. The end is meta.json's `ended` (after the grace), never before the
    stop or the `last_sent` request (a generator silent before then is no excuse)."""
    stop = max(starts.stop, float(segments[c.TS].iloc[-1]))
    end = max(stop, last_sent, -np.inf if ended is None else ended)
    start = segments[c.TS].to_numpy(dtype=float)
    until = np.clip(segments["end"].to_numpy(dtype=float), None, stop)
    span = np.clip(until - start, 0.0, None)
    near = offsets.sendable_time(end - start) - offsets.sendable_time(end - np.maximum(until, start))
    rate = segments[c.PLANNED_RPS].astype(float).to_numpy()
    out: np.ndarray = rate * np.clip(np.minimum(near, span), 0.0, None)
    return out


def counted_at(ts: np.ndarray, intended: np.ndarray) -> np.ndarray:
    """When each request counts as achieved load: its iteration's intended start, or its own send
    time `ts` where the iteration is unknown (`intended` NaN)."""
    at: np.ndarray = np.where(np.isnan(intended), ts, intended)
    return at


def achieved_by_segment(
    segments: pd.DataFrame, requests: pd.DataFrame, iterations: pd.DataFrame | None, *, ended: float | None = None
) -> pd.DataFrame:
    """`segments` (doorbuster.reports.transform.plan_segments) with load achieved as the report
    counts it: `achieved_requests`, each request in the segment of its iteration's intended start
    (its send time's where the iteration is unknown), and `planned_requests`, what the plan could
    expect to be sent before the run's `ended` (meta.json's `ended_at`).

    The whole-table form of the report's chunked count, for callers that hold the run's frames
    in memory (the benchmarks): `requests` needs ts and iteration (and worker, when iterations.csv
    has it), `iterations` iterations.csv's iteration, intended_ts, started_ts (and worker). Without
    iteration starts every request counts at its send time and the plan is planned_rps × duration.
    """
    if not len(segments) or not len(requests):
        return segments.assign(achieved_requests=np.zeros(len(segments), np.int64))
    ts = requests[c.TS].to_numpy(dtype=float)
    at, offsets, starts = ts, None, None
    needed = (c.ITERATION, c.INTENDED_TS, c.STARTED_TS)
    if iterations is not None and all(col in iterations.columns for col in needed):
        starts = IterationStarts.collect([iterations])
    if starts is not None and c.ITERATION in requests and (c.WORKER in requests or not starts.by_worker):
        worker = requests[c.WORKER] if starts.by_worker else None
        intended, started = starts.find(iteration_keys(requests[c.ITERATION], worker))
        if not np.isnan(intended).all():
            offsets = Offsets()
            offsets.add(ts - started, started, float(ts.max()))
            at = counted_at(ts, intended)
    n = len(segments)
    segment = np.searchsorted(segments[c.TS].to_numpy(dtype=float), at, side="right") - 1
    counted = segments.assign(achieved_requests=np.bincount(segment[segment >= 0], minlength=n)[:n])
    if offsets is None or starts is None:
        return counted
    expected = expected_requests(segments, starts, offsets, last_sent=float(ts.max()), ended=ended)
    return counted.assign(planned_requests=expected)
