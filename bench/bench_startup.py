"""Time from `doorbuster up` to all-ready (issue 2 target: ≤ 10 s), default replicas, embedded profile.

    python3 -m bench.bench_startup            # or: python3 -m bench startup

Three starts in one run: cold (fresh data folder: every init job seeds its store), warm (the
same folder again: the init jobs find their stores seeded), and one legacy replica alone, the
floor any start pays (the CLI, the supervisor and one Python service). Ratios are against that
floor, so a busy machine shifts all three alike. Per service it prints the init job's duration
and when its last replica turned ready, to show where the time goes.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

TARGET_S = 10.0


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RF_") and k != "DOORBUSTER_DATA_DIR"}
    env["RF_LOG_LEVEL"] = "WARNING"
    return env


def _doorbuster(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "doorbuster.cli", *args], env=_env(), capture_output=True, text=True, timeout=timeout
    )


def _start(data_dir: Path, *extra: str) -> tuple[float, dict[str, Any]]:
    """Seconds from `up` to its exit (all pods ready), and the runtime's status at that point."""
    start = time.monotonic()
    up = _doorbuster("up", "--data-dir", str(data_dir), "--port", "0", "--timeout", "240", *extra)
    elapsed = time.monotonic() - start
    try:
        if up.returncode != 0:
            raise SystemExit(f"doorbuster up failed ({up.returncode}):\n{up.stderr}")
        state = orjson.loads((data_dir / "runtime.json").read_bytes())
    finally:
        _doorbuster("down", "--data-dir", str(data_dir), timeout=120)
    return elapsed, state


def _breakdown(state: dict[str, Any]) -> list[str]:
    started = state["started_at"]
    lines = []
    for svc in state["services"]:
        ready = [p["ready_at"] for p in state["pods"] if p["service"] == svc["name"] and p.get("ready_at")]
        last = f"{max(ready) - started:5.1f}s" if ready else "    -"
        init = f"{svc['init_s']:5.1f}s" if svc.get("init_s") is not None else "    -"
        lines.append(f"    {svc['name']:<14} init {init}   last replica ready at {last}   ({svc['replicas']} replicas)")
    return lines


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as tmp:
        shop = Path(tmp) / "shop"
        cold, cold_state = _start(shop)
        warm, _ = _start(shop)
        floor, _ = _start(Path(tmp) / "one", "--services", "legacy")
    print(f"one legacy replica (floor)  {floor:6.2f} s   1.00x")
    print(f"whole shop, warm stores     {warm:6.2f} s   {warm / floor:4.2f}x of the floor")
    print(f"whole shop, cold (seeding)  {cold:6.2f} s   {cold / floor:4.2f}x of the floor, {cold / warm:4.2f}x of warm")
    cpu = cold_state.get("cpu_s", {})
    total_cpu = sum(cpu.values())
    cores = os.cpu_count() or 1
    print(
        f"  cold start CPU: {total_cpu:.1f} s (init jobs {cpu.get('exited_children', 0):.1f}, replicas "
        f"{cpu.get('live_pods', 0):.1f}, supervisor {cpu.get('supervisor', 0):.1f}) -> at least "
        f"{total_cpu / cores:.1f} s of wall time on {cores} idle cores"
    )
    print("  cold start, per service (seconds after the supervisor started):")
    for line in _breakdown(cold_state):
        print(line)
    verdict = "meets" if cold <= TARGET_S else "misses"
    print(f"target: all ready in <= {TARGET_S:.0f} s from `up` -> cold start {verdict} it ({cold:.1f} s)")
    with contextlib.suppress(OSError):
        print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
