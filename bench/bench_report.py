"""Report cost at 1M, 10M and 100M request rows: time, peak memory, and the same answers.

    python3 -m bench report                         # 1M, 10M, 100M rows (100M takes minutes)
    BENCH_REPORT_SIZES=1000000 python3 -m bench report

Each size is a synthetic soak at 1,000 req/s (1M rows: 17 minutes; 100M: 28 hours) with a
fault window in its middle: the same 1M-row block of requests (drawn once, 0.05% errors)
repeated along the run, so that every size should give the same verdict and nearly the same
figures, and 100M rows are written in minutes. The report (`doorbuster.reports.build.build_report`: every
file, the default SLOs, charts, HTML, JSON, JUnit) runs in a fresh process per size, which
reports its own wall time and peak RSS, so generating the data never counts. At 1M rows the
baseline is `pd.read_parquet` of the same file (best of a few interleaved rounds). Every size is
checked against an independent numpy computation of its figures (count, error rate, exact p95s),
read chunk by chunk.

Goals: ≤ 3x `pd.read_parquet` at 1M rows; peak RSS < 2 GB and time linear in rows at every size.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from doorbuster.reports.synthetic import FaultSpec, SyntheticRun

SIZES = [int(s) for s in os.environ.get("BENCH_REPORT_SIZES", "1000000,10000000,100000000").split(",")]
ROUNDS = int(os.environ.get("BENCH_REPORT_ROUNDS", "3"))
RATE = 1000.0  # average req/s of the synthetic soak
GOAL_RATIO, GOAL_RSS_MB = 3.0, 2048.0

# Runs in a fresh interpreter: its peak RSS is the report's alone.
CHILD = """
import json, resource, sys, time
from doorbuster.reports.build import build_report
start = time.perf_counter()  # after the imports, as pd.read_parquet's baseline has pandas loaded
ev = build_report(sys.argv[1])
seconds = time.perf_counter() - start
figures = {r.name: r.measured for r in ev.results}
print(json.dumps({"seconds": seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "verdict": ev.verdict, "verdicts": {r.name: r.verdict for r in ev.results},
                  "figures": figures, "total": ev.total_requests}))
"""


BLOCK_ROWS = 1_000_000


def _run(rows: int) -> SyntheticRun:
    duration = rows / RATE
    return SyntheticRun(
        stages=((1.0, duration, "soak"),),
        one_x_rps=RATE,
        error_rate=0.0005,
        faults=[FaultSpec(duration / 2, duration / 2 + 60)],
        readable_ids=False,
    )


def _write(run: SyntheticRun, run_dir: Path, rows: int) -> Path:
    """The run folder: one block of requests drawn once, repeated along the run with its times shifted."""
    run_dir.mkdir(parents=True)
    block_s = BLOCK_ROWS / RATE
    block = replace(run, stages=((1.0, block_s, "soak"),), faults=[], total_requests=min(rows, BLOCK_ROWS))
    requests = block.requests()
    table = pa.Table.from_pandas(requests, preserve_index=False)
    block.write_iterations_and_orders(run_dir, requests, append=False)
    iterations, ledger = ((run_dir / name).read_bytes() for name in ("iterations.csv", "ledger.csv"))
    bodies = [data[data.index(b"\n") + 1 :] for data in (iterations, ledger)]
    with pq.ParquetWriter(run_dir / "requests.parquet", table.schema) as writer:
        for k in range(max(1, rows // BLOCK_ROWS)):
            shift = k * block_s
            shifted = table.set_column(0, "ts", pc.add(table["ts"], shift))
            shifted = shifted.set_column(1, "intended_ts", pc.add(table["intended_ts"], shift))
            writer.write_table(shifted)
            if k:
                for name, body in zip(("iterations.csv", "ledger.csv"), bodies, strict=True):
                    with (run_dir / name).open("ab") as out:
                        out.write(body)
    run.write_other_files(run_dir)
    return run_dir


def _report(run_dir: Path) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-c", CHILD, str(run_dir)], capture_output=True, text=True, check=False)
    if out.returncode not in (0, 1, 3):
        raise SystemExit(f"report failed ({out.returncode}):\n{out.stderr[-3000:]}")
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def _independent(run_dir: Path, run: SyntheticRun) -> dict[str, float]:
    """The figures again, by plain numpy over the raw rows (a chunk at a time, scoped values kept)."""
    total = bad_outside = outside = 0
    search: list[np.ndarray] = []
    orders: list[np.ndarray] = []
    fault = run.faults[0]
    start, end = run.t0 + fault.start_s, run.t0 + fault.end_s
    source = pq.ParquetFile(run_dir / "requests.parquet")
    for batch in source.iter_batches(batch_size=2_000_000, columns=["ts", "intended_ts", "latency_ms", "name", "ok"]):
        frame = batch.to_pandas()
        ts = frame["ts"].to_numpy()
        corrected = frame["latency_ms"].to_numpy() + np.clip(ts - frame["intended_ts"].to_numpy(), 0, None) * 1000
        names = frame["name"].astype(str).to_numpy()
        ok = frame["ok"].to_numpy()
        total += len(frame)
        out = (ts < start) | (ts > end)
        outside += int(out.sum())
        bad_outside += int((~ok & out).sum())
        search.append(corrected[names == "GET /search"])
        orders.append(corrected[names == "POST /api/orders"])
    return {
        "total": float(total),
        "error-rate": bad_outside / outside,
        "search-p95": float(np.quantile(np.concatenate(search), 0.95)),
        "checkout-p95": float(np.quantile(np.concatenate(orders), 0.95)),
    }


def main() -> int:
    worst = 0
    rows_seconds = []
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        for rows in SIZES:
            run = _run(rows)
            start = time.perf_counter()
            run_dir = _write(run, Path(tmp) / f"run-{rows}", rows)
            parquet = run_dir / "requests.parquet"
            print(f"{rows:>12,} rows: requests.parquet {parquet.stat().st_size / 1e6:,.0f} MB, "
                  f"{run.duration_s / 3600:.1f} h at {RATE:g} req/s (written in {time.perf_counter() - start:.0f} s)",
                  flush=True)  # fmt: skip
            if rows <= 2_000_000:
                reads, reports = [], []
                for _ in range(ROUNDS):
                    t0 = time.perf_counter()
                    pd.read_parquet(parquet)
                    reads.append(time.perf_counter() - t0)
                    reports.append(_report(run_dir))
                best = min(reports, key=lambda r: float(r["seconds"]))  # type: ignore[arg-type]
                ratio = float(best["seconds"]) / min(reads)  # type: ignore[arg-type]
                print(f"  pd.read_parquet {min(reads):.3f} s; report {best['seconds']:.3f} s = {ratio:.1f}x "
                      f"(goal ≤ {GOAL_RATIO:g}x)")  # fmt: skip
                worst = max(worst, int(ratio > GOAL_RATIO))
            else:
                best = _report(run_dir)
            rss = float(best["peak_rss_mb"])  # type: ignore[arg-type]
            seconds = float(best["seconds"])  # type: ignore[arg-type]
            rows_seconds.append((rows, seconds))
            print(f"  report: {seconds:.1f} s ({seconds / rows * 1e6:.2f} s per million rows), peak RSS "
                  f"{rss:,.0f} MB (goal < {GOAL_RSS_MB:,.0f} MB), verdict {best['verdict']}", flush=True)  # fmt: skip
            worst = max(worst, int(rss >= GOAL_RSS_MB))
            expected = _independent(run_dir, run)
            figures = dict(best["figures"])  # type: ignore[call-overload]
            figures["total"] = best["total"]
            same = {k: figures[k] == v if k.endswith("p95") or k == "total" else abs(figures[k] - v) < 1e-12
                    for k, v in expected.items()}  # fmt: skip
            print("  against numpy: " + ", ".join(
                f"{k} {figures[k]:.6g} {'=' if same[k] else '!='} {v:.6g}" for k, v in expected.items()))  # fmt: skip
            worst = max(worst, int(not all(same.values())))
            print(f"  SLO verdicts: {best['verdicts']}", flush=True)
            _remove(run_dir)  # 100M rows take GBs of disk
    if len(rows_seconds) > 1:
        base_rows, base_s = rows_seconds[0]
        print("linearity (time / rows, relative to the smallest): " + ", ".join(
            f"{rows:,}: {s / rows / (base_s / base_rows):.2f}" for rows, s in rows_seconds))  # fmt: skip
    return worst


def _remove(run_dir: Path) -> None:
    for path in sorted(run_dir.rglob("*"), reverse=True):
        path.rmdir() if path.is_dir() else path.unlink()
    run_dir.rmdir()


if __name__ == "__main__":
    sys.exit(main())
