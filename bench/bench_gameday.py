"""The `ci` game day's own overhead: wall time outside the planned load (shop up, waiting for the
faults to finish, audit, shop down, report) as a share of the whole game day. Goal ≤ 25%.

The load's span comes from the run folder (meta.json: Locust's start and end); the planned
load from the game day profile. `BENCH_GAMEDAY` picks another game day (default ci);
`BENCH_GAMEDAY_KEEP=DIR` keeps its run folder there (report.html included).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

GOAL = 0.25


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def main() -> int:
    from doorbuster.gameday.profile import load_gameday
    from doorbuster.gameday.schedule import build_timeline

    name = os.environ.get("BENCH_GAMEDAY", "ci")
    planned = build_timeline(load_gameday(name)).duration_s
    with tempfile.TemporaryDirectory(prefix="bench-gameday-") as tmp:
        run = Path(tmp) / "run"
        started = time.time()
        result = subprocess.run([sys.executable, "-m", "doorbuster.cli", "gameday", name, "--run-dir", str(run)],
                                cwd=tmp, capture_output=True, text=True, timeout=planned + 1200)  # fmt: skip
        ended = time.time()
        try:
            meta = json.loads((run / "meta.json").read_text())
        except OSError:
            print(result.stdout[-3000:], result.stderr[-3000:], sep="\n")
            return 1
        load_start, load_end = _epoch(meta["started_at"]), _epoch(meta["ended_at"])
        keep = os.environ.get("BENCH_GAMEDAY_KEEP")
        if keep:
            shutil.copytree(run, keep, dirs_exist_ok=True, ignore=shutil.ignore_patterns("shop"))
    total = ended - started
    overhead = total - planned
    share = overhead / total
    print(f"game day {name}: exit {result.returncode}, {total:.1f} s in all, planned load {planned:.0f} s")
    print(f"  before the load (shop up, Locust start): {load_start - started:6.1f} s")
    print(f"  the load (Locust's own span):             {load_end - load_start:6.1f} s")
    print(f"  after the load (faults finishing, audit, shop down, report): {ended - load_end:6.1f} s")
    print(
        f"overhead outside the planned load: {overhead:.1f} s = {share:.1%} of the game day "
        f"(goal ≤ {GOAL:.0%}: {'met' if share <= GOAL else 'MISSED'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
