"""Synthetic run folders with exactly known slowdowns, error bursts and fault windows.

For tests, the benchmark and demos: numpy draws the requests, so a test can inject a
slowdown or an error burst and compute the expected figures independently.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from doorbuster import runfolder as rf
from doorbuster.experiment_verdict import APPLIES_FUNC, judge
from doorbuster.reports import columns as c
from doorbuster.reports.checks import INVARIANTS

__all__ = ["ENDPOINTS", "Burst", "FaultSpec", "Slowdown", "SyntheticRun"]

# (journey, name, method, weight, median latency ms)
ENDPOINTS = (
    ("browse", "GET /", "GET", 0.25, 30.0),
    ("browse", "GET /c/[slug]", "GET", 0.20, 45.0),
    ("browse", "GET /p/[sku]", "GET", 0.25, 35.0),
    ("search", "GET /search", "GET", 0.20, 60.0),
    ("checkout", "POST /api/orders", "POST", 0.10, 120.0),
)


@dataclass(frozen=True)
class Slowdown:
    start_s: float
    end_s: float
    extra_ms: float
    name: str | None = None  # only this endpoint; None = all


@dataclass(frozen=True)
class Burst:
    start_s: float
    end_s: float
    error_rate: float


@dataclass(frozen=True)
class FaultSpec:
    start_s: float
    end_s: float
    action: str = "cut-inventory-legacy-link"
    title: str = "Partition the inventory dual-write"
    # How its hypothesis came out, as `doorbuster chaos run` judges the journal: passed, failed
    # (the after-check finds stock_conservation broken), skipped (it does not apply), interrupted.
    outcome: str = "passed"
    name: str = ""  # the file stem: chaos/<name>.journal.json ("" → "<i>-<action>")
    verdict_file: bool = False  # also chaos/<name>.verdict.json, as `doorbuster chaos run` writes it


@dataclass
class SyntheticRun:
    """A run: load stages (multiplier, seconds, phase) at `one_x_rps`, plus injected trouble."""

    stages: tuple[tuple[float, float, str], ...] = ((1.0, 60.0, "steady"),)
    one_x_rps: float = 40.0
    t0: float = 1_764_000_000.0
    seed: int = 7
    error_rate: float = 0.0
    achieved_fraction: float = 1.0
    slowdowns: list[Slowdown] = field(default_factory=list)
    bursts: list[Burst] = field(default_factory=list)
    faults: list[FaultSpec] = field(default_factory=list)
    latency_factor: dict[float, float] = field(default_factory=dict)  # per multiplier
    generator_cpu: float = 35.0
    lag_ms: float = 4.0
    audit_ok: bool = True
    missed_share: float = 0.0  # share of planned iterations the generator never started
    cap_hit_s: float | None = None  # seconds the user pool sat at its cap; None: no such column
    # False: order and iteration ids as short numbers, so that 100M rows are written in minutes
    # (the report never reads them; the ledger and iterations keep one row per order/iteration).
    readable_ids: bool = True
    total_requests: int | None = None  # overrides one_x_rps: spread this many over the stages

    @property
    def duration_s(self) -> float:
        return float(sum(s[1] for s in self.stages))

    def _counts(self) -> np.ndarray:
        planned = np.array([m * self.one_x_rps * d for m, d, _ in self.stages])
        if self.total_requests is not None:
            planned = planned / planned.sum() * self.total_requests
        return np.round(planned * self.achieved_fraction).astype(int)

    def requests(self) -> pd.DataFrame:
        """Every request of the run, as the load part would record it."""
        rng = np.random.default_rng(self.seed)
        offsets = np.cumsum([0.0] + [d for _, d, _ in self.stages])
        counts = self._counts()
        rel = np.concatenate([np.sort(rng.uniform(offsets[i], offsets[i + 1], n)) for i, n in enumerate(counts)])
        mult = np.repeat([m for m, _, _ in self.stages], counts)
        return self._frame(rng, rel, mult, 0)

    def request_chunks(self, chunk_rows: int) -> Iterator[pd.DataFrame]:
        """The run's requests in time order, about `chunk_rows` at a time, never all in memory:
        each time slice draws its own requests (same distributions as `requests()`)."""
        counts = self._counts()
        slices = max(1, int(np.ceil(counts.sum() / chunk_rows)))
        edges = np.linspace(0.0, self.duration_s, slices + 1)
        offsets = np.cumsum([0.0] + [d for _, d, _ in self.stages])
        first = 0
        for k in range(slices):
            rng = np.random.default_rng([self.seed, k])
            parts, mults = [], []
            for i, (m, d, _) in enumerate(self.stages):
                lo, hi = max(edges[k], offsets[i]), min(edges[k + 1], offsets[i + 1])
                if hi <= lo:
                    continue
                n = round(counts[i] * (hi - lo) / d)
                parts.append(np.sort(rng.uniform(lo, hi, n)))
                mults.append(np.full(n, m))
            rel = np.concatenate(parts) if parts else np.zeros(0)
            frame = self._frame(rng, rel, np.concatenate(mults) if mults else np.zeros(0), first)
            first += len(frame)
            yield frame

    def _frame(self, rng: np.random.Generator, rel: np.ndarray, mult: np.ndarray, first: int) -> pd.DataFrame:
        n = len(rel)
        weights = np.array([e[3] for e in ENDPOINTS])
        which = rng.choice(len(ENDPOINTS), size=n, p=weights / weights.sum())
        median = np.array([e[4] for e in ENDPOINTS])[which]
        factor = np.ones(n)
        for m, f in self.latency_factor.items():
            factor[mult == m] = f
        latency = median * rng.lognormal(0.0, 0.35, n) * factor
        names = np.array([e[1] for e in ENDPOINTS])
        for slow in self.slowdowns:
            hit = (rel >= slow.start_s) & (rel < slow.end_s)
            if slow.name is not None:
                hit &= names[which] == slow.name
            latency = latency + np.where(hit, slow.extra_ms, 0.0)
        p_err = np.full(n, self.error_rate)
        for burst in self.bursts:
            p_err = np.where((rel >= burst.start_s) & (rel < burst.end_s), burst.error_rate, p_err)
        ok = rng.random(n) >= p_err
        ts = self.t0 + rel
        index = first + np.arange(n)
        is_order = names[which] == "POST /api/orders"
        if self.readable_ids:
            order_id = np.where(is_order, "o-" + index.astype(str), "")
            iteration = "it-" + (index // 4).astype(str)
        else:  # a category of a few values: no 100M distinct strings to build
            order_id = pd.Categorical(np.where(is_order, "o", ""))
            iteration = pd.Categorical(np.full(n, "it"))
        frame = pd.DataFrame(
            {
                c.TS: ts,
                c.INTENDED_TS: ts - self.lag_ms / 1000.0,
                c.JOURNEY: pd.Categorical(np.array([e[0] for e in ENDPOINTS])[which]),
                c.NAME: pd.Categorical(names[which]),
                c.METHOD: pd.Categorical(np.array([e[2] for e in ENDPOINTS])[which]),
                c.LATENCY_MS: latency,
                c.STATUS: np.where(ok, 200, 503).astype("int32"),
                c.BYTES: rng.integers(500, 20_000, n),
                c.OK: ok,
                c.ERROR: pd.Categorical(np.where(ok, "", "HTTP 503")),
                c.ORDER_ID: order_id,
                c.ITERATION: iteration,
                c.WORKER: "127.0.0.1:4242",
            }
        )
        return frame

    def planned(self) -> pd.DataFrame:
        rows, at = [], self.t0
        for m, d, phase in self.stages:
            rps = m * self.one_x_rps
            rows.append(
                {c.TS: at, c.PLANNED_RPS: rps, c.USERS: int(rps), c.STAGE: f"{m:g}x", c.MULTIPLIER: m, c.PHASE: phase}
            )
            at += d
        return pd.DataFrame(rows, columns=list(rf.PLANNED_RATE_COLUMNS))

    def journal(self, fault: FaultSpec) -> dict[str, object]:
        def iso(rel: float) -> str:
            return datetime.fromtimestamp(self.t0 + rel, UTC).isoformat()

        probe = {"type": "probe", "name": "shop-is-ready", "provider": {"type": "python"}}
        action = {"type": "action", "name": fault.action, "provider": {"type": "python"}}
        heal = {"type": "action", "name": "heal", "provider": {"type": "python"}}
        journal = {
            "chaoslib-version": "1.44.0",
            "experiment": {"title": fault.title, "method": [action]},
            "start": iso(fault.start_s - 1),
            "end": iso(fault.end_s + 1),
            "status": "completed",
            "deviated": False,
            "steady_states": {"before": {"steady_state_met": True}, "after": {"steady_state_met": True}, "during": []},
            "run": [
                {
                    "activity": probe,
                    "status": "succeeded",
                    "start": iso(fault.start_s - 1),
                    "end": iso(fault.start_s - 0.5),
                },
                {  # our fault actions hold the fault and heal it before they return
                    "activity": action,
                    "status": "succeeded",
                    "start": iso(fault.start_s),
                    "end": iso(fault.end_s),
                },
            ],
            "rollbacks": [  # after the after-hypothesis: a safety net, not part of the window
                {
                    "activity": heal,
                    "status": "succeeded",
                    "start": iso(fault.end_s + 0.5),
                    "end": iso(fault.end_s + 0.6),
                }
            ],
        }
        return _with_outcome(journal, fault.outcome)

    def write(self, run_dir: Path, *, parquet: bool = True, chunk_rows: int | None = None) -> Path:
        """Write the whole run folder; returns it. With `chunk_rows`, the requests are drawn and
        written a chunk at a time (a 100M-row run never sits in memory)."""
        run_dir.mkdir(parents=True, exist_ok=True)
        chunks = [self.requests()] if chunk_rows is None else self.request_chunks(chunk_rows)
        writer: pq.ParquetWriter | None = None
        try:
            for i, requests in enumerate(chunks):
                if parquet:
                    table = pa.Table.from_pandas(requests, preserve_index=False)
                    if writer is None:
                        writer = pq.ParquetWriter(run_dir / rf.REQUESTS_PARQUET, table.schema)
                    writer.write_table(table.cast(writer.schema))
                else:
                    requests.to_csv(run_dir / rf.REQUESTS_CSV, index=False, mode="a" if i else "w", header=not i)
                self.write_iterations_and_orders(run_dir, requests, append=bool(i))
        finally:
            if writer is not None:
                writer.close()
        self.write_other_files(run_dir)
        return run_dir

    def write_paced(
        self,
        run_dir: Path,
        *,
        requests_per_iteration: int = 4,
        spread_s: float = 4.0,
        grace_s: float = 5.0,
        cut_share: float = 0.0,
    ) -> Path:
        """A run folder as the open model writes it: iterations start as the plan says (evenly,
        `missed_share` of them never started) and each sends its requests over `spread_s` after
        its start; `cut_share` of the iterations fail their first request and send no other (a
        journey an error cut short). The run stops at the plan's end; iterations under way get
        `grace_s`, then are killed and send nothing more."""
        rng = np.random.default_rng(self.seed)
        edges = np.cumsum([0.0] + [d for _, d, _ in self.stages])
        starts = np.concatenate(
            [
                np.arange(edges[i], edges[i + 1], requests_per_iteration / (m * self.one_x_rps))
                for i, (m, _, _) in enumerate(self.stages)
            ]
        )
        n = len(starts)
        missed = rng.random(n) < self.missed_share
        cut = ~missed & (rng.random(n) < cut_share)
        lag = self.lag_ms / 1000.0
        offsets = np.sort(rng.uniform(0.0, spread_s, (n, requests_per_iteration)), axis=1)
        offsets[:, 0] = 0.0
        sent = ~missed[:, None] & (offsets + starts[:, None] + lag <= self.duration_s + grace_s)
        sent[cut, 1:] = False
        which, _ = np.nonzero(sent)
        rel = (starts[:, None] + lag + offsets)[sent]
        order = np.argsort(rel, kind="stable")
        which, rel = which[order], rel[order]
        requests = self._frame(rng, rel, np.ones(len(rel)), 0)
        first_of_cut = cut[which] & np.isclose(rel, starts[which] + lag)
        ids = np.array([f"it-{i}" for i in range(n)], dtype=object)
        requests = requests.assign(
            **{
                c.INTENDED_TS: self.t0 + starts[which] + (rel - starts[which] - lag),
                c.ITERATION: ids[which],
                c.OK: requests[c.OK].to_numpy() & ~first_of_cut,
                c.STATUS: np.where(first_of_cut, 503, requests[c.STATUS].to_numpy()).astype("int32"),
                c.ERROR: np.where(first_of_cut, "HTTP 503", requests[c.ERROR].astype(str).to_numpy()),
            }
        )
        run_dir.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pandas(requests, preserve_index=False), run_dir / rf.REQUESTS_PARQUET)
        started = np.where(missed, np.nan, self.t0 + starts + lag)
        pd.DataFrame(
            {
                c.ITERATION: ids,
                c.JOURNEY: "browse",
                c.WORKER: "127.0.0.1:4242",
                c.INTENDED_TS: self.t0 + starts,
                c.STARTED_TS: started,
                c.ENDED_TS: started + spread_s,
                c.LAG_MS: np.where(missed, np.nan, self.lag_ms),
                c.MISSED: missed,
            }
        ).to_csv(run_dir / rf.ITERATIONS, index=False)
        pd.DataFrame(columns=["order_id", "idempotency_key", "items", "total_cents", "confirmed_ts", "journey"]).to_csv(
            run_dir / rf.LEDGER, index=False
        )
        self.write_other_files(run_dir)
        meta = json.loads((run_dir / rf.META).read_text(encoding="utf-8"))
        meta["ended_at"] = datetime.fromtimestamp(self.t0 + self.duration_s + grace_s, UTC).isoformat()
        (run_dir / rf.META).write_text(json.dumps(meta), encoding="utf-8")
        return run_dir

    def write_other_files(self, run_dir: Path) -> None:
        """Every file of the run folder but requests, iterations and the ledger."""
        self.planned().to_csv(run_dir / rf.PLANNED_RATE, index=False)
        seconds = np.arange(0, self.duration_s, 1.0)
        generator = pd.DataFrame(
            {c.TS: self.t0 + seconds, c.WORKER: "127.0.0.1:4242", c.CPU_PERCENT: self.generator_cpu, c.RSS_MB: 80.0}
        )
        if self.cap_hit_s is not None:
            generator[c.CAP_HIT] = seconds >= self.duration_s - self.cap_hit_s
        generator.to_csv(run_dir / rf.GENERATOR, index=False)
        self._write_the_rest(run_dir)

    def write_iterations_and_orders(self, run_dir: Path, requests: pd.DataFrame, *, append: bool) -> None:
        iters = requests.drop_duplicates(c.ITERATION) if self.readable_ids else requests.iloc[::4]
        pd.DataFrame(
            {
                c.ITERATION: iters[c.ITERATION],
                c.JOURNEY: iters[c.JOURNEY],
                c.WORKER: iters[c.WORKER],
                "intended_ts": iters[c.INTENDED_TS],
                c.STARTED_TS: iters[c.TS],
                c.ENDED_TS: iters[c.TS] + 1.0,
                c.LAG_MS: self.lag_ms,
                # The first iterations of the list stand for the ones never started.
                c.MISSED: np.arange(len(iters)) < round(self.missed_share * len(iters)),
            }
        ).to_csv(run_dir / rf.ITERATIONS, index=False, mode="a" if append else "w", header=not append)
        orders = requests[requests[c.ORDER_ID] != ""]
        pd.DataFrame(
            {
                "order_id": orders[c.ORDER_ID],
                "idempotency_key": "k-" + orders[c.ORDER_ID].astype(str),
                "items": '[{"sku": "SKU-1", "qty": 1}]',
                "total_cents": 1999,
                "confirmed_ts": orders[c.TS],
                "journey": orders[c.JOURNEY],
            }
        ).to_csv(run_dir / rf.LEDGER, index=False, mode="a" if append else "w", header=not append)

    def _write_the_rest(self, run_dir: Path) -> None:
        if self.faults:
            (run_dir / rf.CHAOS_DIR).mkdir(exist_ok=True)
            for i, fault in enumerate(self.faults):
                stem = fault.name or f"{i:02d}-{fault.action}"
                journal = self.journal(fault)
                path = run_dir / rf.CHAOS_DIR / rf.CHAOS_JOURNAL.format(name=stem)
                path.write_text(json.dumps(journal, indent=1), encoding="utf-8")
                if fault.verdict_file:
                    verdict = json.dumps(judge(journal, stem).as_dict(), indent=2)
                    (run_dir / rf.CHAOS_DIR / rf.CHAOS_VERDICT.format(name=stem)).write_text(verdict, encoding="utf-8")
        # A failed audit breaks one invariant: no_negative_stock.
        broken = {name: not self.audit_ok and name == "no_negative_stock" for name in INVARIANTS}
        invariants = [
            {
                "name": name,
                "ok": not bad,
                "violations": 2 if bad else 0,
                "details": ["SKU-DB-1 at -2"] if bad else [],
            }
            for name, bad in broken.items()
        ]
        audit = {
            "ok": self.audit_ok,
            "checked_at": datetime.fromtimestamp(self.t0 + self.duration_s, UTC).isoformat(),
            "invariants": invariants,
        }
        (run_dir / rf.AUDIT).write_text(json.dumps(audit), encoding="utf-8")
        meta = {
            "run_id": run_dir.name,
            "target": "http://127.0.0.1:8000",
            "one_x_rps": self.one_x_rps,
            "status": "completed",
            "started_at": datetime.fromtimestamp(self.t0, UTC).isoformat(),
            "ended_at": datetime.fromtimestamp(self.t0 + self.duration_s, UTC).isoformat(),
        }
        (run_dir / rf.META).write_text(json.dumps(meta), encoding="utf-8")


def _missed(name: str, output: dict[str, object], func: str = "integrity_audit") -> dict[str, object]:
    probe = {"type": "probe", "name": name, "provider": {"type": "python", "func": func}}
    return {"steady_state_met": False, "probes": [{"activity": probe, "output": output, "tolerance_met": False}]}


def _with_outcome(journal: dict[str, object], outcome: str) -> dict[str, object]:
    """The journal of an experiment whose hypothesis came out as `outcome`."""
    if outcome == "failed":  # the fault healed, yet the after-check finds stock that does not add up
        broken = _missed("nothing-lost-oversold-or-charged-twice", {"broken": ["stock_conservation"]})
        states = {"before": {"steady_state_met": True}, "during": [], "after": broken}
        return {**journal, "deviated": True, "steady_states": states}
    if outcome == "skipped":  # the before-check says it does not apply: no fault is injected
        why = {"applies": False, "reason": "applies to the services storage profile only"}
        states = {"before": _missed("experiment-applies", why, APPLIES_FUNC), "during": []}
        return {**journal, "status": "failed", "steady_states": states, "run": []}
    if outcome == "interrupted":
        return {**journal, "status": "interrupted"}
    return journal
