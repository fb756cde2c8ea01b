"""The run folder: the only channel between load, chaos, audit and report.

File names and column names live here, once (docs/contracts.md, section 1).
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

# The audit (the shop's) reads the ledger too, so its columns live in the shop's contract module.
from retailflow.contracts import LEDGER_COLUMNS

__all__ = [
    "AUDIT",
    "CHAOS_DIR",
    "CHAOS_JOURNAL",
    "CHAOS_LOG",
    "CHAOS_VERDICT",
    "GENERATOR",
    "GENERATOR_COLUMNS",
    "GENERATOR_POOL_COLUMNS",
    "ITERATIONS",
    "ITERATION_COLUMNS",
    "LEDGER",
    "LEDGER_COLUMNS",
    "LOCUST_PREFIX",
    "LOGS_DIR",
    "META",
    "NOT_MEASURED",
    "PLANNED_RATE",
    "PLANNED_RATE_COLUMNS",
    "REQUESTS_CSV",
    "REQUESTS_PARQUET",
    "REQUEST_COLUMNS",
    "SHOP_DIR",
    "STOP",
    "new_run_dir",
]

META = "meta.json"
REQUESTS_PARQUET = "requests.parquet"
REQUESTS_CSV = "requests.csv"
ITERATIONS = "iterations.csv"
PLANNED_RATE = "planned_rate.csv"
GENERATOR = "generator.csv"
LOCUST_PREFIX = "locust"  # Locust --csv prefix: locust_stats.csv, locust_stats_history.csv, ...
LEDGER = "ledger.csv"
CHAOS_DIR = "chaos"
CHAOS_JOURNAL = "{name}.journal.json"  # inside CHAOS_DIR: Chaos Toolkit's journal, unchanged
CHAOS_VERDICT = "{name}.verdict.json"  # inside CHAOS_DIR: `doorbuster chaos run`'s verdict from the journal
CHAOS_LOG = "{name}.log"  # inside CHAOS_DIR: Chaos Toolkit's log of the run
AUDIT = "audit.json"
STOP = "stop.json"  # a game day stopped early: a stop condition fired, or an interrupt
NOT_MEASURED = "not_measured.json"  # parts a game day did not run, and why: {"integrity": "...", "fault": "..."}
SHOP_DIR = "shop"
LOGS_DIR = "logs"  # the game day's stages and experiment runners: logs/<stage>.log, logs/chaos-<name>.log
REPORT_HTML = "report.html"
SUMMARY = "summary.json"
JUNIT = "junit.xml"
CHARTS_DIR = "charts"

REQUEST_COLUMNS = (
    "ts",
    "intended_ts",
    "journey",
    "name",
    "method",
    "latency_ms",
    "status",
    "bytes",
    "ok",
    "error",
    "order_id",
    "iteration",
    "worker",
)
ITERATION_COLUMNS = (
    "iteration",
    "journey",
    "worker",
    "intended_ts",
    "started_ts",
    "ended_ts",
    "lag_ms",
    "missed",
)
PLANNED_RATE_COLUMNS = ("ts", "planned_rps", "users", "stage", "multiplier", "phase")
GENERATOR_COLUMNS = ("ts", "worker", "cpu_percent", "rss_mb")
# How the elastic user pool kept up, after GENERATOR_COLUMNS in generator.csv: this process's
# users at the sample, those waiting for a start (idle) and due starts waiting for a user (late);
# the pool size the controller asked for and whether it wanted more than the profile's max_users
# (these two on the local runner and the master; empty on workers and in the closed model).
GENERATOR_POOL_COLUMNS = ("users", "idle_users", "late_starts", "pool_users", "cap_hit")

RUNS_ENV = "DOORBUSTER_RUNS_DIR"
RUN_DIR_ENV = "DOORBUSTER_RUN_DIR"


def new_run_dir(base: str | os.PathLike[str] | None = None, run_id: str | None = None) -> Path:
    """Create and return `runs/<run-id>/` (base from DOORBUSTER_RUNS_DIR, default ./runs)."""
    root = Path(base or os.environ.get(RUNS_ENV, "runs"))
    run_id = run_id or time.strftime("%Y%m%d-%H%M%S", time.gmtime()) + "-" + uuid.uuid4().hex[:6]
    path = root / run_id
    path.mkdir(parents=True, exist_ok=False)
    return path
