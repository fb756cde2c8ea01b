"""Capacity of the embedded shop: the mixed browse/search/checkout rate it sustains inside the SLOs.

A game day with the default profile (1x = 40 req/s) climbs steps of 1x … 10x, the generator on
the same 2-core machine as the shop. For each held step: planned and achieved requests/s, p95
of all requests, of search and of checkout, errors. The capacity is the highest step that is
reached (achieved/planned ≥ 0.98) with search p95 < 250 ms, checkout p95 < 3 s and errors
≤ 0.15 % (fixtures/slo.yaml). Also: the time from `up` to all-ready, from runtime.json.

    BENCH_STEPS=1/2.5/5/7.5/10 BENCH_STEP_S=20 python3 -m bench capacity
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

STEPS = os.environ.get("BENCH_STEPS", "1/2.5/5/7.5/10")
STEP_S = int(os.environ.get("BENCH_STEP_S", "20"))
SEARCH_P95_MS, CHECKOUT_P95_MS, MAX_ERRORS = 250.0, 3000.0, 0.0015


def per_step(run: Path) -> pd.DataFrame:
    requests = pd.read_parquet(run / "requests.parquet")
    plan = pd.read_csv(run / "planned_rate.csv")
    held = plan[plan["phase"] == "steady"]
    rows = []
    for stage, ticks in held.groupby("stage", sort=False):
        start, end = ticks["ts"].min(), ticks["ts"].max() + 1.0
        window = requests[(requests["ts"] >= start) & (requests["ts"] < end)]
        search = window[window["journey"] == "search"]
        checkout = window[window["name"] == "POST /api/orders"]
        rows.append({
            "step": stage,
            "planned_rps": ticks["planned_rps"].mean(),
            "achieved_rps": len(window) / (end - start),
            "p95_ms": window["latency_ms"].quantile(0.95),
            "search_p95_ms": search["latency_ms"].quantile(0.95),
            "checkout_p95_ms": checkout["latency_ms"].quantile(0.95),
            "errors": 1 - window["ok"].mean() if len(window) else float("nan"),
        })
    table = pd.DataFrame(rows)
    table["achieved/planned"] = table["achieved_rps"] / table["planned_rps"]
    table["inside_slo"] = (
        (table["achieved/planned"] >= 0.98)
        & (table["search_p95_ms"] < SEARCH_P95_MS)
        & (table["checkout_p95_ms"].fillna(0) < CHECKOUT_P95_MS)
        & (table["errors"] <= MAX_ERRORS)
    )
    return table


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-capacity-") as tmp:
        run = Path(tmp) / "run"
        steps = STEPS.split("/")
        duration = STEP_S * len(steps)
        cmd = [sys.executable, "-m", "doorbuster.cli", "gameday", "--no-chaos", "--run-dir", str(run),
               "--profile", "default", "--shape", "ramp", "--shape-args", f"steps={STEPS},step_s={STEP_S}",
               "--run-time", f"{duration}s"]
        result = subprocess.run(cmd, cwd=tmp, capture_output=True, text=True, timeout=duration + 900)
        if not (run / "requests.parquet").is_file():
            print(result.stdout[-3000:], result.stderr[-3000:], sep="\n")
            return 1
        table = per_step(run)
        state = json.loads((run / "shop" / "runtime.json").read_text())
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
        inside = table[table["inside_slo"]]
        best = inside["achieved_rps"].max() if len(inside) else 0.0
        print(f"capacity inside the SLOs: {best:.0f} req/s mixed "
              f"({best / 40:.1f}x of the 1x peak of 40 req/s; target 400 req/s = 10x)")
        ready_at = [p["ready_at"] for p in state["pods"] if p.get("ready_at")]
        if ready_at:
            print(f"up → all pods ready: {max(ready_at) - state['started_at']:.1f} s (target ≤ 10 s)")
        print(f"game day verdict: exit {result.returncode}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
