"""Column names, in one place: the run folder's from doorbuster/runfolder.py, plus derived ones."""

from __future__ import annotations

from doorbuster import runfolder as rf

__all__ = [
    "ACHIEVED_SEGMENT",
    "BAD",
    "BUCKET_I",
    "BYTES",
    "CAP_HIT",
    "CATEGORICAL_REQUEST_COLUMNS",
    "CORRECTED_MS",
    "CPU_PERCENT",
    "ENDED_TS",
    "END_TS",
    "ERROR",
    "FAULT",
    "INTENDED_TS",
    "ITERATION",
    "ITERATION_KEY",
    "JOURNEY",
    "LAG_MS",
    "LATENCY_BIN",
    "LATENCY_MS",
    "METHOD",
    "MINUTE_I",
    "MISSED",
    "MULTIPLIER",
    "NAME",
    "OK",
    "OPTIONAL_GENERATOR_COLUMNS",
    "ORDER_ID",
    "PHASE",
    "PLANNED_RPS",
    "REQUEST_READ_COLUMNS",
    "RSS_MB",
    "SEGMENT",
    "STAGE",
    "STARTED_TS",
    "STATUS",
    "TS",
    "USERS",
    "WINDOW",
    "WINDOW_I",
    "WORKER",
]

# Unpacking (rather than retyping) fails at import if the contract's columns ever change.
(TS, INTENDED_TS, JOURNEY, NAME, METHOD, LATENCY_MS, STATUS, BYTES, OK, ERROR, ORDER_ID, ITERATION, WORKER) = (
    rf.REQUEST_COLUMNS
)
(_IT, _IJ, _IW, _IINT, STARTED_TS, ENDED_TS, LAG_MS, MISSED) = rf.ITERATION_COLUMNS
(_PTS, PLANNED_RPS, USERS, STAGE, MULTIPLIER, PHASE) = rf.PLANNED_RATE_COLUMNS
(_GTS, _GW, CPU_PERCENT, RSS_MB) = rf.GENERATOR_COLUMNS

# Optional generator.csv column of generators whose user pool grows up to a cap (the load
# part's pool columns): True when the pool wanted more users than its cap; empty where unknown.
CAP_HIT = "cap_hit"
OPTIONAL_GENERATOR_COLUMNS = (CAP_HIT,)

# Derived by doorbuster.reports.transform.
CORRECTED_MS = "corrected_ms"  # latency corrected for coordinated omission (from intended_ts)
BAD = "bad"  # not ok: failed status or body check
WINDOW = "window"  # start of the evaluation window, epoch s
FAULT = "in_fault"  # the request started inside a fault window
END_TS = "end_ts"  # when the answer came: ts + latency
WINDOW_I = "window_i"  # index of the evaluation window since t0
BUCKET_I = "bucket_i"  # index of the chart bucket since t0
MINUTE_I = "minute_i"  # index of the minute since t0
SEGMENT = "segment"  # index of the plan segment in force at ts (-1: before the plan)
# The plan segment the request is counted in as achieved load: its iteration's intended start's
# (doorbuster.reports.attribution), else the one at ts.
ACHIEVED_SEGMENT = "achieved_segment"
ITERATION_KEY = "iteration_key"  # hash of (worker, iteration), read only for ACHIEVED_SEGMENT
LATENCY_BIN = "latency_bin"  # doorbuster.reports.quantiles.fine_bins(corrected_ms): exact percentiles' first pass

# The columns ingestion needs from requests; the wide per-request strings (order ids,
# iteration ids) stay on disk, which is most of the cost of reading the file. Only with a plan
# are the iteration ids read (as a dictionary), to count achieved load by intended start.
REQUEST_READ_COLUMNS = (TS, INTENDED_TS, JOURNEY, NAME, LATENCY_MS, STATUS, OK, ERROR)
CATEGORICAL_REQUEST_COLUMNS = (JOURNEY, NAME, ERROR)
