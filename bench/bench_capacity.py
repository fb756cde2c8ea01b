"""Capacity of the embedded shop: the mixed browse/search/checkout rate it sustains inside the SLOs.

A game day with the default profile (1x = 40 req/s) climbs steps of 10x … 40x, the generator on
the same 2-core machine as the shop (the goal: 40x = 1,600 req/s inside the SLOs).
For each held step: planned and achieved requests/s, achieved counted as the report counts it
(each request at its iteration's intended start, over the whole step), and of the requests sent
after the step's first settling seconds p95 of all, of search and of checkout, errors. The
capacity is the highest step that is reached (achieved/planned ≥ 0.98) with search p95 < 250 ms,
checkout p95 < 3 s and errors ≤ 0.15 % (fixtures/slo.yaml). Also: the time from `up` to all-ready, from runtime.json.

    BENCH_STEPS=10/20/30/40 BENCH_STEP_S=20 python3 -m bench capacity
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pandas as pd
import psutil

from bench._drive import held_steps, run_ended_at

STEPS = os.environ.get("BENCH_STEPS", "10/20/30/40")
STEP_S = int(os.environ.get("BENCH_STEP_S", "20"))
SEARCH_P95_MS, CHECKOUT_P95_MS, MAX_ERRORS = 250.0, 3000.0, 0.0015


def per_step(run: Path) -> pd.DataFrame:
    """Each held step: achieved load counted by intended start over the whole step, as the report
    counts it; latency and errors of the requests sent in its settled window (bench._drive.HeldStep)."""
    requests = pd.read_parquet(run / "requests.parquet")
    plan = pd.read_csv(run / "planned_rate.csv")
    iterations = pd.read_csv(run / "iterations.csv") if (run / "iterations.csv").is_file() else None
    rows = []
    for step in held_steps(plan, requests, iterations, hold_s=STEP_S, ended=run_ended_at(run)):
        window = requests[(requests["ts"] >= step.settled) & (requests["ts"] < step.end)]
        search = window[window["journey"] == "search"]
        checkout = window[window["name"] == "POST /api/orders"]
        rows.append({
            "step": step.stage,
            "planned_rps": step.planned_rps,
            "achieved_rps": step.achieved_rps,
            "achieved/planned": step.achieved_ratio,
            "p95_ms": window["latency_ms"].quantile(0.95),
            "search_p95_ms": search["latency_ms"].quantile(0.95),
            "checkout_p95_ms": checkout["latency_ms"].quantile(0.95),
            "errors": 1 - window["ok"].mean() if len(window) else float("nan"),
        })  # fmt: skip
    table = pd.DataFrame(rows)
    table["inside_slo"] = (
        (table["achieved/planned"] >= 0.98)
        & (table["search_p95_ms"] < SEARCH_P95_MS)
        & (table["checkout_p95_ms"].fillna(0) < CHECKOUT_P95_MS)
        & (table["errors"] <= MAX_ERRORS)
    )
    return table


def _group(proc: psutil.Process) -> str:
    """Who a process is: the generator, a shop service, or the rest of the suite."""
    try:
        cmd = proc.cmdline()
    except psutil.Error:
        return "gone"
    if "locust" in cmd:
        return "generator (locust)"
    if "retailflow.serve" in cmd:
        return f"shop: {cmd[cmd.index('retailflow.serve') + 1]}"
    return "suite (supervisor, cli)"


class CpuSampler(threading.Thread):
    """CPU seconds per second of each group of the run's processes, and of the whole machine."""

    def __init__(self, root: int, run: Path) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.run_dir = str(run)
        self.rows: list[dict[str, float | str]] = []
        self.stopped = threading.Event()
        self._seen: dict[int, tuple[psutil.Process, float]] = {}

    def _tree(self) -> list[psutil.Process]:
        procs: list[psutil.Process] = []
        try:
            procs = psutil.Process(self.root).children(recursive=True)
        except psutil.Error:
            return []
        # the shop's supervisor is detached: find it by the run folder it serves, then its pods
        # (other shops on the machine are the others' load, not ours)
        for proc in psutil.process_iter(["cmdline"]):
            cmd = " ".join(proc.info["cmdline"] or ())
            if "retailflow.runtime.supervisor" in cmd and self.run_dir in cmd:
                with contextlib.suppress(psutil.Error):
                    procs += [proc, *proc.children(recursive=True)]
        return list({p.pid: p for p in procs}.values())

    def run(self) -> None:
        machine0 = psutil.cpu_times()
        while not self.stopped.wait(1.0):
            now, machine1 = time.time(), psutil.cpu_times()
            busy = (sum(machine1) - machine1.idle - machine1.iowait) - (sum(machine0) - machine0.idle - machine0.iowait)
            machine0 = machine1
            row: dict[str, float | str] = {"ts": now, "machine": busy}
            for proc in self._tree():
                try:
                    cpu = sum(proc.cpu_times()[:2])
                except psutil.Error:
                    continue
                _, before = self._seen.get(proc.pid, (proc, cpu))
                self._seen[proc.pid] = (proc, cpu)
                group = _group(proc)
                row[group] = float(row.get(group, 0.0)) + cpu - before
            self.rows.append(row)


def cpu_by_step(samples: list[dict[str, float | str]], run: Path) -> pd.DataFrame:
    """Mean CPU (cores) of each group over each held step; `others` is the rest of the machine."""
    cpu = pd.DataFrame(samples).fillna(0.0)
    plan = pd.read_csv(run / "planned_rate.csv")
    rows = []
    for stage, ticks in plan[plan["phase"] == "steady"].groupby("stage", sort=False):
        window = cpu[(cpu["ts"] >= ticks["ts"].min()) & (cpu["ts"] < ticks["ts"].max() + 1.0)]
        means = window.drop(columns=["ts"]).mean()
        ours = means.drop(labels=["machine"]).sum()
        others = round(means["machine"] - ours, 2)
        rows.append({"step": stage, **means.round(2).to_dict(), "others on the machine": others})
    return pd.DataFrame(rows).set_index("step").T


def generator_by_step(run: Path) -> pd.DataFrame:
    """How the generator kept up in each held step: its CPU, its pool, late starts, the cap."""
    generator = pd.read_csv(run / "generator.csv")
    plan = pd.read_csv(run / "planned_rate.csv")
    rows = []
    for stage, ticks in plan[plan["phase"] == "steady"].groupby("stage", sort=False):
        window = generator[(generator["ts"] >= ticks["ts"].min()) & (generator["ts"] < ticks["ts"].max() + 1.0)]
        rows.append({
            "step": stage,
            "generator_cpu_%_p95": window["cpu_percent"].quantile(0.95),
            "users_asked_min": ticks["users"].min(),
            "pool_users_max": window["pool_users"].max(),
            "late_starts_max": window["late_starts"].max(),
            "cap_hit": bool(window["cap_hit"].fillna(False).astype(bool).any()),
        })  # fmt: skip
    return pd.DataFrame(rows)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-capacity-") as tmp:
        run = Path(tmp) / "run"
        steps = STEPS.split("/")
        duration = STEP_S * len(steps)
        cmd = [sys.executable, "-m", "doorbuster.cli", "gameday", "--no-chaos", "--run-dir", str(run),
               "--profile", "default", "--shape", "ramp", "--shape-args", f"steps={STEPS},step_s={STEP_S}",
               "--run-time", f"{duration}s"]  # fmt: skip
        proc = subprocess.Popen(cmd, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        sampler = CpuSampler(proc.pid, run)
        sampler.start()
        try:
            out, err = proc.communicate(timeout=duration + 900)
        finally:
            sampler.stopped.set()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        result = subprocess.CompletedProcess(cmd, proc.returncode, out, err)
        if not (run / "requests.parquet").is_file():
            print(result.stdout[-3000:], result.stderr[-3000:], sep="\n")
            return 1
        table = per_step(run)
        state = json.loads((run / "shop" / "runtime.json").read_text())
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
        inside = table[table["inside_slo"]]
        if len(inside):
            top = inside.loc[inside["planned_rps"].idxmax()]
            print(f"capacity inside the SLOs: the {top['step']} step, planned {top['planned_rps']:,.0f} req/s, "
                  f"achieved {top['achieved_rps']:,.0f} req/s mixed (goal: the 40x step, 1,600 req/s)")  # fmt: skip
        else:
            print("capacity inside the SLOs: no step (goal: the 40x step, 1,600 req/s)")
        ready_at = [p["ready_at"] for p in state["pods"] if p.get("ready_at")]
        if ready_at:
            print(f"up → all pods ready: {max(ready_at) - state['started_at']:.1f} s (target ≤ 10 s)")
        summary = run / "summary.json"
        headline = json.loads(summary.read_text()).get("headline", "") if summary.is_file() else "no summary.json"
        print(f"the whole game day (ramps included, judged as a run): exit {result.returncode}, {headline}")
        print("\nthe generator in each held step:")
        print(generator_by_step(run).to_string(index=False, float_format=lambda v: f"{v:.3g}"))
        print("\nwhere the CPU goes (cores, mean over each held step; 2 cores in all):")
        print(cpu_by_step(sampler.rows, run).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
