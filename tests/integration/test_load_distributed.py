"""Distributed generators on one machine: a busy worker is not dropped, and runs do not share workers.

Real Locust (--processes 2) against a tiny loopback HTTP server; the rows in the merged
run folder say which worker sent them.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from tests.integration.test_load_recording import finish, locustfile, profile, server, start_run  # noqa: F401

pytestmark = pytest.mark.slow

# Each worker's first journey holds its gevent loop for STALL_S seconds without yielding, as a
# big spawn on a loaded machine does: its heartbeat greenlet cannot run meanwhile.
STALL_S = 7
STALLING_LOCUSTFILE = textwrap.dedent(
    f"""
    import time

    from locust import FastHttpUser  # noqa: F401  (gevent before anything else)

    from doorbuster.load.user import PacedUser

    stalled = False


    class PingJourney(PacedUser):
        journey = "ping"
        requests_per_iteration = 1

        def run_journey(self):
            global stalled
            if not stalled:
                stalled = True
                end = time.perf_counter() + {STALL_S}
                while time.perf_counter() < end:
                    pass
            self.client.get("/ping", name="GET /ping")
    """
)


def doorbuster_load(journeys: Path, host: str, prof: Path, run_dir: Path, shape_args: str) -> list[str]:
    return [
        sys.executable, "-m", "doorbuster.cli", "load", "--host", host, "--locustfile", str(journeys),
        "--profile", str(prof), "--shape", "steady", "--shape-args", shape_args, "--processes", "2",
        "--run-dir", str(run_dir), "--loglevel", "INFO",
    ]  # fmt: skip


def worker_ids(run_dir: Path) -> set[str]:
    return set(pd.read_parquet(run_dir / "requests.parquet").worker)


def test_a_worker_busy_for_seconds_is_not_counted_missing_and_the_run_completes(
    server: tuple[str, object],  # noqa: F811
    tmp_path: Path,
) -> None:
    host, _ = server
    stalling = tmp_path / "stalling_locustfile.py"
    stalling.write_text(STALLING_LOCUSTFILE)
    prof = profile(tmp_path, 40, {"ping": 1})
    run_dir = tmp_path / "run"
    err = finish(start_run(doorbuster_load(stalling, host, prof, run_dir, "duration=14")), timeout=150)
    # Locust's own liveness (3 s) counts both stalled workers missing and stops the test.
    assert "went missing" not in err and "failed to send heartbeat" not in err, err[-2000:]
    meta = json.loads((run_dir / "meta.json").read_text())
    assert meta["status"] == "completed", err[-2000:]
    assert len(worker_ids(run_dir)) == 2
    requests = pd.read_parquet(run_dir / "requests.parquet")
    assert requests.ts.max() - requests.ts.min() >= 14 - STALL_S - 2, "load went on after the stall"


def test_two_concurrent_processes_runs_keep_their_own_two_workers(
    server: tuple[str, object],  # noqa: F811
    locustfile: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    host, _ = server
    prof = profile(tmp_path, 40, {"ping": 1})
    runs = [tmp_path / "run-a", tmp_path / "run-b"]
    procs = [start_run(doorbuster_load(locustfile, host, prof, run_dir, "duration=8")) for run_dir in runs]
    errs = [finish(proc, timeout=150) for proc in procs]
    for proc, run_dir, err in zip(procs, runs, errs, strict=True):
        assert proc.returncode == 0, err[-2000:]
        assert json.loads((run_dir / "meta.json").read_text())["status"] == "completed"
        assert len(worker_ids(run_dir)) == 2, f"{run_dir.name}: rows of another run's workers, or one missing"
    assert not worker_ids(runs[0]) & worker_ids(runs[1]), "a worker sent its rows to both runs"
