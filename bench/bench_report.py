"""Report cost for 1M request rows: ingest + evaluate + render vs reading the rows with pandas alone.

    python3 -m bench.bench_report            # or: python3 -m bench report

A synthetic run folder (three load steps, a fault window, an error burst) with 1,000,000 rows
in requests.parquet. Baseline: `pd.read_parquet` of that file, the least any pandas report
must pay. Measured: `reports.build.build_report` (load every file, evaluate the default SLOs,
charts, HTML, JSON, JUnit). Best of a few interleaved rounds each, so both see the same machine.
Goal: ≤ 3x the baseline.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from reports.build import build_report
from reports.evaluate import evaluate
from reports.load import load_run
from reports.render import write_outputs
from reports.slo import load_slo_file
from reports.synthetic import Burst, FaultSpec, SyntheticRun

ROWS = int(os.environ.get("BENCH_REPORT_ROWS", "1000000"))
ROUNDS = int(os.environ.get("BENCH_REPORT_ROUNDS", "3"))
GOAL = 3.0


def _timed(fn: object) -> float:
    start = time.perf_counter()
    fn()  # type: ignore[operator]
    return time.perf_counter() - start


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        run = SyntheticRun(
            stages=((1.0, 600.0, "steady"), (5.0, 600.0, "steady"), (10.0, 600.0, "steady")),
            total_requests=ROWS,
            faults=[FaultSpec(900, 960)],
            bursts=[Burst(900, 960, 0.03)],
        )
        start = time.perf_counter()
        run_dir = run.write(Path(tmp) / "run")
        parquet = run_dir / "requests.parquet"
        print(f"synthetic run folder: {ROWS:,} rows, requests.parquet {parquet.stat().st_size / 1e6:.1f} MB "
              f"(written in {time.perf_counter() - start:.1f}s)")  # fmt: skip
        slo = load_slo_file()
        baseline, full, parts = [], [], {"load": [], "evaluate": [], "render": []}
        for _ in range(ROUNDS):
            baseline.append(_timed(lambda: pd.read_parquet(parquet)))
            full.append(_timed(lambda: build_report(run_dir)))
            t0 = time.perf_counter()
            data = load_run(run_dir)
            t1 = time.perf_counter()
            ev = evaluate(data, slo)
            t2 = time.perf_counter()
            write_outputs(ev)
            t3 = time.perf_counter()
            for key, value in zip(parts, (t1 - t0, t2 - t1, t3 - t2), strict=True):
                parts[key].append(value)
        # The same report on 1% of the rows: what does not grow with the run (charts, templates).
        small_dir = SyntheticRun(stages=run.stages, total_requests=ROWS // 100, faults=run.faults).write(
            Path(tmp) / "small"
        )
        small = min(_timed(lambda: build_report(small_dir)) for _ in range(ROUNDS))
        base, ours = min(baseline), min(full)
        print(f"pd.read_parquet alone          {base:7.3f}s")
        print(f"report (ingest+evaluate+render) {ours:6.3f}s   = {ours / base:.2f}x   (goal ≤ {GOAL:g}x)")
        print("  of which: " + ", ".join(f"{k} {min(v):.3f}s" for k, v in parts.items()))
        grows = max(ours - small, 0.0)
        print(f"  the same report on {ROWS // 100:,} rows: {small:.3f}s (fixed cost); "
              f"the part that grows with the rows {grows:.3f}s = {grows / base:.2f}x the read")  # fmt: skip
        print(f"  verdict of the synthetic run: {ev.verdict} ({len(ev.results)} SLOs)")
        return 0 if ours / base <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
