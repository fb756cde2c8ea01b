"""Synthetic run folders with exactly known slowdowns, error bursts and fault windows.

For tests, the benchmark and demos: numpy draws the requests, so a test can inject a
slowdown or an error burst and compute the expected figures independently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from doorbuster import runfolder as rf
from reports import columns as c
from reports.checks import INVARIANTS

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
    total_requests: int | None = None  # overrides one_x_rps: spread this many over the stages

    @property
    def duration_s(self) -> float:
        return float(sum(s[1] for s in self.stages))

    def requests(self) -> pd.DataFrame:
        """Every request of the run, as the load part would record it."""
        rng = np.random.default_rng(self.seed)
        planned = np.array([m * self.one_x_rps * d for m, d, _ in self.stages])
        if self.total_requests is not None:
            planned = planned / planned.sum() * self.total_requests
        counts = np.round(planned * self.achieved_fraction).astype(int)
        offsets = np.cumsum([0.0] + [d for _, d, _ in self.stages])
        rel = np.concatenate([np.sort(rng.uniform(offsets[i], offsets[i + 1], n)) for i, n in enumerate(counts)])
        mult = np.repeat([m for m, _, _ in self.stages], counts)
        n = len(rel)
        weights = np.array([e[3] for e in ENDPOINTS])
        which = rng.choice(len(ENDPOINTS), size=n, p=weights / weights.sum())
        median = np.array([e[4] for e in ENDPOINTS])[which]
        factor = np.vectorize(lambda m: self.latency_factor.get(float(m), 1.0), otypes=[float])(mult)
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
                c.ORDER_ID: np.where(names[which] == "POST /api/orders", "o-" + np.arange(n).astype(str), ""),
                c.ITERATION: "it-" + (np.arange(n) // 4).astype(str),
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
        return {
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

    def write(self, run_dir: Path, *, parquet: bool = True) -> Path:
        """Write the whole run folder; returns it."""
        run_dir.mkdir(parents=True, exist_ok=True)
        requests = self.requests()
        if parquet:
            pq.write_table(pa.Table.from_pandas(requests, preserve_index=False), run_dir / rf.REQUESTS_PARQUET)
        else:
            requests.to_csv(run_dir / rf.REQUESTS_CSV, index=False)
        self.planned().to_csv(run_dir / rf.PLANNED_RATE, index=False)
        seconds = np.arange(0, self.duration_s, 1.0)
        pd.DataFrame(
            {c.TS: self.t0 + seconds, c.WORKER: "127.0.0.1:4242", c.CPU_PERCENT: self.generator_cpu, c.RSS_MB: 80.0}
        ).to_csv(run_dir / rf.GENERATOR, index=False)
        iters = requests.drop_duplicates(c.ITERATION)
        pd.DataFrame(
            {
                c.ITERATION: iters[c.ITERATION],
                c.JOURNEY: iters[c.JOURNEY],
                c.WORKER: iters[c.WORKER],
                "intended_ts": iters[c.INTENDED_TS],
                c.STARTED_TS: iters[c.TS],
                c.ENDED_TS: iters[c.TS] + 1.0,
                c.LAG_MS: self.lag_ms,
                c.MISSED: False,
            }
        ).to_csv(run_dir / rf.ITERATIONS, index=False)
        orders = requests[requests[c.ORDER_ID] != ""]
        pd.DataFrame(
            {
                "order_id": orders[c.ORDER_ID],
                "idempotency_key": "k-" + orders[c.ORDER_ID],
                "items": '[{"sku": "SKU-1", "qty": 1}]',
                "total_cents": 1999,
                "confirmed_ts": orders[c.TS],
                "journey": orders[c.JOURNEY],
            }
        ).to_csv(run_dir / rf.LEDGER, index=False)
        if self.faults:
            (run_dir / rf.CHAOS_DIR).mkdir(exist_ok=True)
            for i, fault in enumerate(self.faults):
                path = run_dir / rf.CHAOS_DIR / f"{i:02d}-{fault.action}.journal.json"
                path.write_text(json.dumps(self.journal(fault), indent=1), encoding="utf-8")
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
        return run_dir
