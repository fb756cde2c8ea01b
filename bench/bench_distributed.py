"""Distributed load: one Locust process, `--processes 2`, and a master with 2 workers on loopback,
the same ramp against the same embedded shop in one run.

For each: requests/s per generator core at the top step (requests in the step over the CPU
seconds of every generator process, master included, sampled with psutil), achieved/planned at
the top step, the seconds where less than half the planned rate went out (a stall while users
are re-dispatched, later made up, does not show in an average), and whether the merged run
folder holds every worker's rows. It shows what
distribution costs on one machine before it is needed on a cluster (deploy/load/).

    python3 -m bench distributed      (BENCH_DISTRIBUTED_HOLD=15 s a step by default)
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import psutil

from bench._drive import ShopDidNotStart, bench_shop, held_steps, run_ended_at
from doorbuster.background import Background

ROOT = Path(__file__).resolve().parent.parent
HOLD_S = float(os.environ.get("BENCH_DISTRIBUTED_HOLD", "15"))
RAMP_S = 3.0
SERVICES = "gateway,catalog,inventory,orders,payments,legacy"
MERGED = ("requests.parquet", "iterations.csv", "planned_rate.csv", "generator.csv", "locust_stats.csv", "meta.json")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _locust(host: str, run_dir: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "locust", "-f", str(ROOT / "locustfile.py"), "--headless", "--host", host,
        "--shape", "ramp", "--shape-args", f"hold={HOLD_S:g},ramp={RAMP_S:g}", "--run-dir", str(run_dir),
        "--csv", str(run_dir / "locust"), "--csv-full-history", "--only-summary", "--loglevel", "INFO", *extra,
    ]  # fmt: skip


class CpuSampler(Background):
    """The summed CPU seconds of some processes and their children, sampled twice a second."""

    join_timeout_s = 5.0

    def __init__(self, roots: Callable[[], list[psutil.Process]]) -> None:
        super().__init__(self._run)
        self.roots = roots
        self.samples: list[tuple[float, float]] = []
        self.seen: dict[int, float] = {}  # the last CPU time of every process seen, so exits keep theirs

    def _run(self) -> None:
        while not self.stop.is_set():
            for root in self.roots():
                try:
                    for proc in [root, *root.children(recursive=True)]:
                        times = proc.cpu_times()
                        self.seen[proc.pid] = times.user + times.system
                except psutil.Error:
                    continue
            self.samples.append((time.time(), sum(self.seen.values())))
            self.stop.wait(0.5)

    def between(self, start: float, end: float) -> float:
        frame = pd.DataFrame(self.samples, columns=["ts", "cpu"])
        at = lambda t: float(frame[frame.ts <= t].cpu.iloc[-1]) if (frame.ts <= t).any() else 0.0  # noqa: E731
        return at(end) - at(start)


def _run(name: str, host: str, tmp: Path) -> dict[str, object]:
    run_dir = tmp / name
    timeout = 3 * (3 * (HOLD_S + RAMP_S)) + 180
    procs: list[subprocess.Popen[str]] = []
    if name == "one process":
        procs.append(
            subprocess.Popen(_locust(host, run_dir), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        )
    elif name == "--processes 2":
        # Locust's default port (5557) is shared by every run on the machine: a concurrent run's
        # workers would join this master. The forked workers dial --master-port, the master binds
        # --master-bind-port: one free port for both.
        port = _free_port()
        procs.append(
            subprocess.Popen(
                _locust(host, run_dir, "--processes", "2", "--master-bind-port", str(port), "--master-port", str(port)),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    else:
        port = _free_port()
        master = _locust(host, run_dir, "--master", "--expect-workers", "2", "--master-bind-host", "127.0.0.1",
                         "--master-bind-port", str(port))  # fmt: skip
        worker = [sys.executable, "-m", "locust", "-f", str(ROOT / "locustfile.py"), "--worker",
                  "--master-host", "127.0.0.1", "--master-port", str(port), "--loglevel", "WARNING"]  # fmt: skip
        procs.append(subprocess.Popen(master, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True))
        procs += [subprocess.Popen(worker, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
                  for _ in range(2)]  # fmt: skip
    roots = [psutil.Process(p.pid) for p in procs]
    try:
        with CpuSampler(lambda: [r for r in roots if r.is_running()]) as cpu:
            _, err = procs[0].communicate(timeout=timeout)
            for proc in procs[1:]:
                proc.wait(timeout=60)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
    if procs[0].returncode not in (0, 1):
        raise RuntimeError(f"{name}: locust exited {procs[0].returncode}: {err[-1500:]}")

    planned = pd.read_csv(run_dir / "planned_rate.csv")
    requests = pd.read_parquet(run_dir / "requests.parquet")
    iterations = pd.read_csv(run_dir / "iterations.csv")
    # Achieved counted by intended start, over the whole step; what goes by send time, after it settled.
    step = held_steps(planned, requests, iterations, hold_s=HOLD_S, ended=run_ended_at(run_dir))[-1]
    start, end = step.settled, step.end
    in_step = requests[(requests.ts >= start) & (requests.ts < end)]
    cpu_s = cpu.between(start, end)
    # Seconds, from the end of the 1x step on, where less than half the planned rate went out: a
    # generator that stalls while users are re-dispatched and then catches up hides it in averages.
    per_second = requests.groupby(requests.ts.astype(int)).size()
    planned_at = planned.assign(sec=planned.ts.astype(int)).groupby("sec").planned_rps.last()
    first_steady = planned[planned.phase == "steady"].ts.min()
    seconds = [s for s in planned_at.index if s > first_steady + HOLD_S and s < int(end)]
    stalled = sum(per_second.get(s, 0) < 0.5 * planned_at[s] for s in seconds)
    return {
        "generator": name,
        "top step": step.stage,
        "planned_rps": step.planned_rps,
        "achieved_rps": step.achieved_rps,
        "achieved/planned": step.achieved_ratio,
        "req/s per core": len(in_step) / cpu_s if cpu_s > 0 else float("nan"),
        "generator cores": cpu_s / (end - start),
        "stalled s": stalled,
        "workers in rows": requests.worker.nunique(),
        "merged files": all((run_dir / f).is_file() for f in MERGED),
        "status": json.loads((run_dir / "meta.json").read_text()).get("status"),
        # why Locust stopped, when it did (its INFO lines say a worker went missing)
        "log": "\n".join(
            line
            for line in err.splitlines()
            if any(w in line for w in ("missing", "stopping", "rror", "WARNING")) and "spawn rate" not in line
        )[-2000:],
    }


def main() -> int:
    try:
        with bench_shop("bench-distributed-", SERVICES) as shop:
            print(f"ramp 1x → 5x → 10x of the default profile (1x = 40 req/s), {HOLD_S:g} s a step, top step:")
            rows = [_run(name, shop.url, shop.tmp) for name in ("one process", "--processes 2", "master + 2 workers")]
    except ShopDidNotStart as exc:
        print(exc, file=sys.stderr)
        return 1
    table = pd.DataFrame(rows).drop(columns="log")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    for row in rows:
        if row["status"] != "completed":
            print(f"  {row['generator']} ended {row['status']}; the master's last words:\n{row['log']}")
    one = rows[0]["req/s per core"]
    for row in rows[1:]:
        print(f"  {row['generator']}: {row['req/s per core'] / one:.2f}x the requests per core of one process")  # type: ignore[operator]
    merged = all(
        r["merged files"] and r["status"] == "completed" and r["workers in rows"] == (1 if r is rows[0] else 2)
        for r in rows
    )
    print(f"  every run completed, its merged folder complete, one worker id per generator process: {merged}")
    return 0 if merged else 1


if __name__ == "__main__":
    sys.exit(main())
