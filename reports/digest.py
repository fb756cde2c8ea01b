"""What the report needs from the request table, computed chunk by chunk in bounded memory.

Each chunk goes through the same pure steps (transform.py: corrected latency, time indexes,
plan segment, fault flag); every figure is then a per-group statistic (aggregate.py): windows,
chart buckets, minutes, endpoints, plan segments, each SLO's scope, the load steps, the faults.
Percentiles are exact (quantiles.py), at any run length.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from fnmatch import fnmatch

import numpy as np
import pandas as pd

from doorbuster.reports import columns as c
from doorbuster.reports import transform as t
from doorbuster.reports.aggregate import Grouping, run_passes
from doorbuster.reports.attribution import IterationStarts, Offsets, counted_at
from doorbuster.reports.figures import Clock, Digest, ScopeFigures, minute_frame, scope_figures, time_frame
from doorbuster.reports.load import Fault
from doorbuster.reports.quantiles import fine_bins
from doorbuster.reports.scan import RequestFile, Vocabulary
from doorbuster.reports.slo import LOAD_PHASES, Objective, Settings

__all__ = ["Clock", "Digest", "ScopeFigures", "digest_requests"]

QS = tuple(q / 100.0 for q in t.PERCENTILES)


class _Globs:
    """Which vocabulary codes match a set of globs; extended as the vocabulary grows."""

    def __init__(self, vocab: Vocabulary, globs: tuple[str, ...]) -> None:
        self.vocab, self.globs, self.hit = vocab, globs, np.zeros(0, dtype=bool)

    def mask(self, codes: np.ndarray) -> np.ndarray:
        if len(self.hit) < len(self.vocab.names):
            new = [any(fnmatch(name, g) for g in self.globs) for name in self.vocab.names[len(self.hit) :]]
            self.hit = np.append(self.hit, np.array(new, dtype=bool))
        hit: np.ndarray = self.hit[codes]
        return hit


@dataclass(frozen=True)
class _Plan:
    starts: np.ndarray  # segment start ts
    phase: np.ndarray  # per segment
    multiplier: np.ndarray


_OFFSET, _STARTED, _ATTRIBUTED = "offset_s", "iteration_started", "attributed"  # with iterations.csv's starts


@dataclass
class _Attributed:
    """Requests counted at their iteration's intended start, and their offsets in it (first pass)."""

    starts: IterationStarts
    offsets: Offsets
    requests: int = 0


def _prepare(
    chunk: pd.DataFrame, clock: Clock, plan: _Plan | None, faults: Sequence[Fault], attributed: _Attributed | None
) -> pd.DataFrame:
    """One chunk with its derived columns (the .pipe chain of the whole-table report, per chunk)."""
    prepared = chunk.pipe(t.with_corrected_latency).pipe(t.with_faults, faults)
    ts = prepared[c.TS].to_numpy()
    segment = achieved = np.full(len(ts), -1, dtype=np.int64)
    if plan is not None and len(plan.starts):
        segment = achieved = np.searchsorted(plan.starts, ts, side="right") - 1
        if attributed is not None:
            intended, started = attributed.starts.find(prepared[c.ITERATION_KEY].to_numpy())
            achieved = np.searchsorted(plan.starts, counted_at(ts, intended), side="right") - 1
            prepared = prepared.assign(**{_OFFSET: ts - started, _STARTED: started, _ATTRIBUTED: ~np.isnan(intended)})
    return prepared.assign(
        **{
            c.LATENCY_BIN: fine_bins(prepared[c.CORRECTED_MS].to_numpy()),
            c.WINDOW_I: clock.index(ts, clock.window_s),
            c.BUCKET_I: clock.index(ts, clock.bucket_s),
            c.MINUTE_I: clock.index(ts, 60.0),
            c.SEGMENT: segment,
            c.ACHIEVED_SEGMENT: achieved,
        }
    )


def _where(mask: np.ndarray, gid: np.ndarray | int) -> np.ndarray:
    return np.where(mask, gid, -1)


def _scope_key(objective: Objective, rf: RequestFile, plan: _Plan | None) -> Callable[[pd.DataFrame], np.ndarray]:
    journeys = _Globs(rf.journeys, objective.journeys) if objective.journeys else None
    endpoints = _Globs(rf.names, objective.endpoints) if objective.endpoints else None
    exclude = _Globs(rf.names, objective.exclude) if objective.exclude else None

    def mask(d: pd.DataFrame) -> np.ndarray:
        m = np.ones(len(d), dtype=bool)
        if journeys:
            m &= journeys.mask(d[c.JOURNEY].to_numpy())
        if endpoints:
            m &= endpoints.mask(d[c.NAME].to_numpy())
        if exclude:
            m &= ~exclude.mask(d[c.NAME].to_numpy())
        if objective.phase == "fault":
            m &= d[c.FAULT].to_numpy()
        elif objective.phase == "no-fault":
            m &= ~d[c.FAULT].to_numpy()
        elif objective.phase in LOAD_PHASES and plan is not None:
            seg = d[c.SEGMENT].to_numpy()
            m &= (seg >= 0) & (plan.phase[np.maximum(seg, 0)] == objective.phase)
        return m

    return mask


def _step_key(chosen: pd.DataFrame) -> tuple[Callable[[pd.DataFrame], np.ndarray], np.ndarray]:
    """Rows in the chosen plan segments, outside fault windows, by load step (multiplier)."""
    steps = np.sort(chosen[c.MULTIPLIER].astype(float).unique())
    lookup = np.full(int(chosen.index.max()) + 1 if len(chosen) else 0, -1, dtype=np.int64)
    lookup[chosen.index.to_numpy()] = np.searchsorted(steps, chosen[c.MULTIPLIER].astype(float).to_numpy())

    def key(d: pd.DataFrame) -> np.ndarray:
        seg = d[c.SEGMENT].to_numpy()
        inside = (seg >= 0) & (seg < len(lookup)) & ~d[c.FAULT].to_numpy()
        return _where(inside, lookup[np.clip(seg, 0, max(len(lookup) - 1, 0))] if len(lookup) else -1)

    return key, steps


def _index_key(column: str) -> Callable[[pd.DataFrame], np.ndarray]:
    return lambda d: d[column].to_numpy()


def _bad(d: pd.DataFrame) -> np.ndarray:
    bad: np.ndarray = d[c.BAD].to_numpy()
    return bad


def _ok(d: pd.DataFrame) -> np.ndarray:
    ok: np.ndarray = d[c.OK].to_numpy()
    return ok


class _Pairs:
    """(journey, endpoint) code pairs to dense ids, stable across chunks."""

    def __init__(self) -> None:
        self.ids: dict[int, int] = {}

    def key(self, d: pd.DataFrame) -> np.ndarray:
        pair = d[c.JOURNEY].to_numpy().astype(np.int64) << 32 | d[c.NAME].to_numpy().astype(np.int64)
        uniq, inverse = np.unique(pair, return_inverse=True)
        dense = np.array([self.ids.setdefault(int(p), len(self.ids)) for p in uniq], dtype=np.int64)
        return dense[inverse] if len(uniq) else np.zeros(0, np.int64)


def digest_requests(
    rf: RequestFile,
    clock: Clock,
    *,
    segments: pd.DataFrame | None,
    faults: Sequence[Fault],
    objectives: Sequence[Objective],
    settings: Settings,
    sustained_steps: dict[str, pd.DataFrame],
    headroom_steps: pd.DataFrame | None,
    iteration_starts: IterationStarts | None = None,
) -> Digest:
    """Every figure the report reads from the request table, in one or two passes over its chunks.

    `sustained_steps` holds, per sustained_multiplier objective, the plan segments it judges;
    `headroom_steps` the segments of the headroom curve; with `iteration_starts` achieved load is
    counted at each request's iteration's intended start (doorbuster.reports.attribution)."""
    plan = None
    if segments is not None and len(segments):
        plan = _Plan(
            segments[c.TS].to_numpy(dtype=float),
            segments[c.PHASE].astype(str).to_numpy(),
            segments[c.MULTIPLIER].astype(float).to_numpy(),
        )
    pairs = _Pairs()
    groupings = [
        Grouping("windows", _index_key(c.WINDOW_I), _bad, c.CORRECTED_MS, QS, bins=c.LATENCY_BIN),
        Grouping("minutes", _index_key(c.MINUTE_I), lambda d: ~_ok(d)),
        Grouping("endpoints", pairs.key, _bad, c.CORRECTED_MS, QS, maximum=True, bins=c.LATENCY_BIN),
        Grouping("segments", _index_key(c.SEGMENT), _bad),
        Grouping("achieved", _index_key(c.ACHIEVED_SEGMENT)),
    ]
    attributed = None
    if plan is not None and iteration_starts is not None:
        # The iteration ids are read only when there is a plan to count them against.
        keyed = rf.read_iteration_keys(by_worker=iteration_starts.by_worker)
        attributed = _Attributed(iteration_starts, Offsets()) if keyed else None
    if clock.bucket_s != clock.window_s:
        groupings.append(Grouping("timeline", _index_key(c.BUCKET_I), _bad, c.CORRECTED_MS, QS, bins=c.LATENCY_BIN))
    for i, fault in enumerate(faults):
        groupings.append(Grouping(f"fault:{i}", _fault_key(fault), _bad))
    step_values: dict[str, np.ndarray] = {}
    for o in objectives:
        groupings += _objective_groupings(o, rf, plan, sustained_steps.get(o.name), step_values)
    if headroom_steps is not None and len(headroom_steps):
        key, steps = _step_key(headroom_steps)
        step_values["headroom"] = steps
        q = (settings.headroom_percentile / 100.0,)
        groupings.append(Grouping("headroom", key, None, c.CORRECTED_MS, q, bins=c.LATENCY_BIN, few_groups=True))
    errors = _ErrorCounts()

    reads, t_end = 0, clock.t0

    def chunks() -> Iterator[pd.DataFrame]:
        nonlocal reads, t_end
        reads += 1
        # Achieved load and offsets are counted in the first pass: the second reads no iteration ids.
        for chunk in rf.chunks(keys=reads == 1):
            prepared = _prepare(chunk, clock, plan, faults, attributed if reads == 1 else None)
            if reads == 1:  # the second pass reads the same rows again for exact percentiles
                errors.add(prepared)
                t_end = max(t_end, float(prepared[c.END_TS].max()))
                if attributed is not None:
                    offsets, started = prepared[_OFFSET].to_numpy(), prepared[_STARTED].to_numpy()
                    attributed.offsets.add(offsets, started, clock.last_sent)
                    attributed.requests += int(prepared[_ATTRIBUTED].sum())
            yield prepared

    frames = run_passes(chunks, groupings)
    digest = _assemble(frames, clock, t_end, rf, pairs, errors, objectives, settings, faults, step_values)
    if attributed is not None and attributed.requests:
        digest.attributed, digest.offsets = attributed.requests, attributed.offsets
    return digest


def _fault_key(fault: Fault) -> Callable[[pd.DataFrame], np.ndarray]:
    def key(d: pd.DataFrame) -> np.ndarray:
        ts = d[c.TS].to_numpy()
        return _where((ts >= fault.start) & (ts <= fault.end), 0)

    return key


def _objective_groupings(
    o: Objective,
    rf: RequestFile,
    plan: _Plan | None,
    sustained: pd.DataFrame | None,
    step_values: dict[str, np.ndarray],
) -> list[Grouping]:
    if o.metric == "sustained_multiplier":
        if sustained is None or not len(sustained):
            return []
        key, steps = _step_key(sustained)
        step_values[o.name] = steps
        return [Grouping(f"steps:{o.name}", key, _bad, c.CORRECTED_MS, (0.95,), bins=c.LATENCY_BIN, few_groups=True)]
    if o.metric == "achieved_ratio":
        return []
    mask = _scope_key(o, rf, plan)
    quantiles = (o.percentile / 100.0,) if o.percentile is not None else ()
    whole = Grouping(
        f"scope:{o.name}",
        lambda d: _where(mask(d), 0),
        _bad,
        c.CORRECTED_MS,
        quantiles,
        maximum=o.metric == "latency_max_ms",
        bins=c.LATENCY_BIN,
        few_groups=True,
    )
    out = [whole]
    if o.metric == "availability":
        minutes = Grouping(f"minutes:{o.name}", lambda d: _where(mask(d), d[c.MINUTE_I].to_numpy()), lambda d: ~_ok(d))
        out.append(minutes)
    if o.metric == "error_rate" or o.percentile is not None:
        # The error budget: failures (or requests slower than the bound) per window.
        slow = _bad if o.metric == "error_rate" else (lambda d: d[c.CORRECTED_MS].to_numpy() > o.bound)
        out.append(Grouping(f"budget:{o.name}", lambda d: _where(mask(d), d[c.WINDOW_I].to_numpy()), slow))
    return out


class _ErrorCounts:
    """The failed requests by endpoint, status and error text."""

    def __init__(self) -> None:
        self.counts: pd.Series | None = None

    def add(self, d: pd.DataFrame) -> None:
        bad = d.loc[d[c.BAD].to_numpy(), [c.NAME, c.STATUS, c.ERROR]]
        if not len(bad):
            return
        counts = bad.value_counts()
        self.counts = counts if self.counts is None else self.counts.add(counts, fill_value=0)

    def table(self, rf: RequestFile, top: int = 10) -> pd.DataFrame:
        if self.counts is None:
            return pd.DataFrame(columns=[c.NAME, c.STATUS, c.ERROR, "occurrences"])
        table = self.counts.rename("occurrences").sort_values(ascending=False, kind="stable").head(top).reset_index()
        names, errors = np.array(rf.names.names, dtype=object), np.array(rf.errors.names, dtype=object)
        return table.assign(
            **{
                c.NAME: names[table[c.NAME].to_numpy()],
                c.ERROR: errors[table[c.ERROR].to_numpy()],
                "occurrences": table["occurrences"].astype(np.int64),
            }
        )


def _assemble(
    frames: dict[str, pd.DataFrame],
    clock: Clock,
    t_end: float,
    rf: RequestFile,
    pairs: _Pairs,
    errors: _ErrorCounts,
    objectives: Sequence[Objective],
    settings: Settings,
    faults: Sequence[Fault],
    step_values: dict[str, np.ndarray],
) -> Digest:
    windows = time_frame(frames["windows"], clock, clock.window_s)
    timeline = time_frame(frames["timeline"], clock, clock.bucket_s) if "timeline" in frames else windows
    endpoints = _endpoints(frames["endpoints"], rf, pairs)
    segs = frames["segments"]
    digest = Digest(
        clock=clock,
        total=int(frames["windows"]["requests"].sum()),
        t_end=t_end,
        windows=windows,
        timeline=t.on_grid(timeline, t0=clock.t0, step=clock.bucket_s, end=clock.last_sent),
        minutes=minute_frame(frames["minutes"], clock, settings.good_minute_ratio),
        endpoints=endpoints,
        errors=errors.table(rf),
        segment_sent=frames["achieved"]["requests"].to_numpy(),
        segment_bad=segs["flagged"].to_numpy(),
    )
    for i in range(len(faults)):
        f = frames[f"fault:{i}"]
        digest.faults.append((int(f["requests"].sum()), int(f["flagged"].sum())))
    for o in objectives:
        digest.scopes[o.name] = scope_figures(o, frames, clock, settings, step_values)
    if "headroom" in frames:
        h = frames["headroom"]
        q = f"p{settings.headroom_percentile:g}"
        digest.headroom_steps = pd.DataFrame(
            {c.MULTIPLIER: step_values["headroom"][: len(h)], "lat": h[q].to_numpy(), "n": h["requests"].to_numpy()}
        )
    return digest


def _endpoints(stats: pd.DataFrame, rf: RequestFile, pairs: _Pairs) -> pd.DataFrame:
    by_id = {dense: pair for pair, dense in pairs.ids.items()}
    codes = np.array([by_id[i] for i in range(len(stats))], dtype=np.int64)
    frame = pd.DataFrame(
        {
            c.JOURNEY: np.array(rf.journeys.names, dtype=object)[codes >> 32] if len(codes) else [],
            c.NAME: np.array(rf.names.names, dtype=object)[codes & 0xFFFFFFFF] if len(codes) else [],
            "requests": stats["requests"].to_numpy(),
            "failures": stats["flagged"].to_numpy(),
            "mean_ms": (stats["sum"] / stats["requests"]).to_numpy(),
            "max_ms": stats["max"].to_numpy(),
            **{f"p{q:g}": stats[f"p{q:g}"].to_numpy() for q in t.PERCENTILES},
        }
    )
    frame = frame[frame["requests"] > 0].assign(error_rate=lambda f: f["failures"] / f["requests"])
    return frame.sort_values([c.JOURNEY, c.NAME], kind="stable").reset_index(drop=True)
