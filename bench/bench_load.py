"""Load generator: CPU per request of the journeys vs a bare FastHttpUser GET loop, requests/s
per generator core, and achieved/planned rate at each step of the ramp against the embedded shop.

Everything in one run against one shop, so the ratios hold on a busy machine too. CPU is the
Locust process's own CPU time (psutil) over a window after warm-up; requests in that window
come from Locust's full-history CSV, the same way for both runs.

    python3 -m bench load            (BENCH_LOAD_SECONDS=20 BENCH_LOAD_HOLD=20 by default)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pandas as pd
import psutil

from bench._drive import ShopDidNotStart, bench_shop, held_steps, run_ended_at

ROOT = Path(__file__).resolve().parent.parent
WINDOW_S = float(os.environ.get("BENCH_LOAD_SECONDS", "20"))
HOLD_S = float(os.environ.get("BENCH_LOAD_HOLD", "20"))
RATE = float(os.environ.get("BENCH_LOAD_RATE", "60"))  # req/s of the cost comparison
# ...and again at a rate where the generator's cost limits what one machine can offer (0: skip)
HIGH_RATE = float(os.environ.get("BENCH_LOAD_HIGH_RATE", "400"))
WARMUP_S = 5.0  # after the first requests are counted
SERVICES = "gateway,catalog,inventory,orders,payments,legacy"

BARE = textwrap.dedent(
    """
    import random

    import gevent
    from locust import FastHttpUser, constant_throughput, task

    PATHS = {paths!r}

    class BareGetLoop(FastHttpUser):
        wait_time = constant_throughput({per_user})

        def on_start(self):
            # spread the users over the period, as the journeys' schedule does; users that
            # start together stay in lockstep and batch their requests, which is cheaper
            self.i = random.randrange(len(PATHS))
            gevent.sleep(random.uniform(0, 1 / {per_user}))

        @task
        def get(self):
            self.i += 1
            self.client.get(PATHS[self.i % len(PATHS)])
    """
)


# The same GETs through the suite's paced users and recording, no checks: where the cost sits.
PACED = textwrap.dedent(
    """
    from locust import FastHttpUser  # noqa: F401

    from doorbuster.load.user import PacedUser

    PATHS = {paths!r}

    class PacedBareGet(PacedUser):
        journey = "bare"
        requests_per_iteration = 1

        def run_journey(self):
            self.client.get(PATHS[self.rng.randrange(len(PATHS))])
    """
)


def _get(host: str, path: str) -> Any:
    with urllib.request.urlopen(host + path, timeout=10) as resp:
        return json.loads(resp.read())


def _bare_paths(host: str) -> list[str]:
    """GETs of the kinds the journeys make: pages and their API calls."""
    slug = _get(host, "/api/categories")[0]["slug"]
    skus = [p["sku"] for p in _get(host, f"/api/products?category={slug}&per_page=5")["items"]]
    term = urllib.parse.quote(_get(host, f"/api/products/{skus[0]}")["name"].split()[-1])
    paths = ["/", "/api/categories", f"/c/{slug}", f"/search?q={term}", f"/api/search?q={term}"]
    for sku in skus[:3]:
        paths += [f"/p/{sku}", f"/api/products/{sku}"]
    return paths


def _requests_between(history_csv: Path, start: float, end: float) -> int:
    history = pd.read_csv(history_csv)
    total = history[history["Name"] == "Aggregated"][["Timestamp", "Total Request Count"]]
    before = total[total.Timestamp <= start]["Total Request Count"]
    after = total[total.Timestamp <= end]["Total Request Count"]
    return int((after.iloc[-1] if len(after) else 0) - (before.iloc[-1] if len(before) else 0))


def _wait_for_load(history_csv: Path, proc: subprocess.Popen[str], timeout: float = 120) -> None:
    """Until Locust has counted requests: on a busy machine its start-up alone takes seconds,
    and a window that includes it would charge the imports to the requests."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if history_csv.exists():
            try:
                history = pd.read_csv(history_csv)
            except (pd.errors.EmptyDataError, pd.errors.ParserError):
                history = pd.DataFrame()
            if len(history) and (history[history["Name"] == "Aggregated"]["Total Request Count"] > 0).any():
                return
        time.sleep(0.5)
    raise RuntimeError(f"no requests counted in {history_csv} within {timeout:.0f} s")


WAKEUPS: dict[str, float] = {}  # voluntary context switches per request, by run


def _measure(cmd: list[str], run_dir: Path) -> tuple[float, int]:
    """(generator CPU seconds, requests) over WINDOW_S after WARMUP_S of a Locust run."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        ps = psutil.Process(proc.pid)
        _wait_for_load(run_dir / "locust_stats_history.csv", proc)
        time.sleep(WARMUP_S)
        start, cpu0, ctx0 = time.time(), sum(ps.cpu_times()[:2]), ps.num_ctx_switches().voluntary
        time.sleep(WINDOW_S)
        end, cpu1, ctx1 = time.time(), sum(ps.cpu_times()[:2]), ps.num_ctx_switches().voluntary
        _, err = proc.communicate(timeout=WINDOW_S + 120)
        if proc.returncode not in (0, 1):
            raise RuntimeError(f"locust exited {proc.returncode}: {err[-1500:]}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
    requests = _requests_between(run_dir / "locust_stats_history.csv", start, end)
    WAKEUPS[run_dir.name] = (ctx1 - ctx0) / max(1, requests)
    return cpu1 - cpu0, requests


def _locust(locustfile: Path, host: str, run_dir: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "--host", host,
        "--csv", str(run_dir / "locust"), "--csv-full-history", "--only-summary", "--loglevel", "ERROR", *extra,
    ]  # fmt: skip


def _cost(host: str, tmp: Path, rate: float) -> tuple[float, float]:
    WAKEUPS.clear()
    run_time = WARMUP_S + WINDOW_S + 15  # start-up on a busy machine included
    journeys_dir = tmp / f"journeys-{rate:g}"
    journeys_cmd = _locust(
        ROOT / "locustfile.py", host, journeys_dir,
        "--shape", "steady", "--shape-args", f"multiplier={rate / 40:g},duration={run_time:g}",
        "--run-dir", str(journeys_dir),
    )  # fmt: skip
    journeys_cpu, journeys_n = _measure(journeys_cmd, journeys_dir)

    users = 20
    bare_file = tmp / "bare_locustfile.py"
    bare_file.write_text(BARE.format(paths=_bare_paths(host), per_user=rate / users))
    bare_dir = tmp / f"bare-{rate:g}"
    bare_dir.mkdir()
    bare_cmd = _locust(bare_file, host, bare_dir, "-u", str(users), "-r", str(users), "--run-time", f"{run_time:g}s")
    bare_cpu, bare_n = _measure(bare_cmd, bare_dir)

    paced_file = tmp / "paced_locustfile.py"
    paced_file.write_text(PACED.format(paths=_bare_paths(host)))
    paced_profile = tmp / "paced.json"
    paced_profile.write_text(json.dumps({"one_x_rps": rate, "mix": {"bare": 1}, "think_time_s": {"min": 0, "max": 0}}))
    paced_dir = tmp / f"paced-{rate:g}"
    paced_cmd = _locust(
        paced_file, host, paced_dir,
        "--traffic-profile", str(paced_profile), "--shape-args", f"duration={run_time:g}", "--run-dir", str(paced_dir),
    )  # fmt: skip
    paced_cpu, paced_n = _measure(paced_cmd, paced_dir)

    journeys_ms = journeys_cpu * 1000 / max(1, journeys_n)
    bare_ms = bare_cpu * 1000 / max(1, bare_n)
    paced_ms = paced_cpu * 1000 / max(1, paced_n)
    print(f"  journeys (checks + recording): {journeys_n} requests, {journeys_ms:.3f} ms CPU/request")
    print(f"  same GETs, paced + recorded:   {paced_n} requests, {paced_ms:.3f} ms CPU/request")
    print(f"  bare FastHttpUser GET loop:    {bare_n} requests, {bare_ms:.3f} ms CPU/request")
    print(f"  checks and journey logic: journeys / paced GETs = {journeys_ms / paced_ms:.2f}x")
    # Evenly paced arrivals wake the generator for nearly every request; a closed loop's users
    # drift into step and share wake-ups. On a busy VM a wake-up is most of a request's cost.
    wakeups = ", ".join(f"{name} {value:.2f}" for name, value in WAKEUPS.items())
    print(f"  generator wake-ups (voluntary context switches) per request: {wakeups}")
    print(f"  cost ratio journeys / bare: {journeys_ms / bare_ms:.2f}x (goal ≤ 1.3x)")
    print(f"  requests/s per generator core: journeys {1000 / journeys_ms:.0f}, bare {1000 / bare_ms:.0f}")
    return journeys_ms, bare_ms


def _ramp(host: str, tmp: Path) -> pd.DataFrame:
    run_dir = tmp / "ramp"
    ramp_s = 5.0
    cmd = _locust(
        ROOT / "locustfile.py", host, run_dir,
        "--shape", "ramp", "--shape-args", f"hold={HOLD_S:g},ramp={ramp_s:g}", "--run-dir", str(run_dir),
    )  # fmt: skip
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=3 * (HOLD_S + ramp_s) + 180, check=False)
    if result.returncode not in (0, 1):
        raise RuntimeError(f"locust exited {result.returncode}: {result.stderr[-1500:]}")
    planned = pd.read_csv(run_dir / "planned_rate.csv")
    requests = pd.read_parquet(run_dir / "requests.parquet")
    iterations = pd.read_csv(run_dir / "iterations.csv")
    generator = pd.read_csv(run_dir / "generator.csv")
    rows = []
    # Achieved, lag and missed starts by intended start, over the whole step; what is read by send
    # or sample time (ok, p95, CPU) from the step's settled seconds on (bench._drive.HeldStep).
    for step in held_steps(planned, requests, iterations, hold_s=HOLD_S, ended=run_ended_at(run_dir)):
        its = iterations[(iterations.intended_ts >= step.start) & (iterations.intended_ts < step.intended_end)]
        cpu = generator[(generator.ts >= step.settled) & (generator.ts < step.end)].cpu_percent
        in_step = requests[(requests.ts >= step.settled) & (requests.ts < step.end)]
        rows.append(
            {
                "stage": step.stage,
                "planned_rps": step.planned_rps,
                "achieved_rps": step.achieved_rps,
                "achieved/planned": step.achieved_ratio,
                "lag_p99_ms": its.lag_ms.quantile(0.99),
                "missed": int(its.missed.sum()),
                "ok": in_step.ok.mean(),
                "p95_ms": in_step.latency_ms.quantile(0.95),
                "generator_cpu_%": cpu.mean(),
            }
        )
    table = pd.DataFrame(rows)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    return table


def main() -> int:
    try:
        with bench_shop("bench-load-", SERVICES) as shop:
            print(f"CPU per request at {RATE:g} req/s, {WINDOW_S:g} s windows:")
            journeys_ms, bare_ms = _cost(shop.url, shop.tmp, RATE)
            if HIGH_RATE:
                print(f"\nCPU per request at {HIGH_RATE:g} req/s, {WINDOW_S:g} s windows:")
                _cost(shop.url, shop.tmp, HIGH_RATE)
            print(f"\nramp 1x → 5x → 10x of the default profile (1x = 40 req/s), {HOLD_S:g} s a step:")
            _ramp(shop.url, shop.tmp)
    except ShopDidNotStart as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0 if journeys_ms / bare_ms <= 1.3 else 1


if __name__ == "__main__":
    sys.exit(main())
