"""meta.json: what ran, against what, and how it ended (docs/contracts.md, section 1)."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import locust

import doorbuster
from doorbuster.load.recording import RunRecorder
from doorbuster.load.state import LoadState

__all__ = ["run_meta"]


def _git_sha() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
            check=False,
        )
    except OSError:
        return None
    return out.stdout.strip() or None


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()


def _status(environment: Any, state: LoadState) -> str:
    if state.abort_reason or not state.started_at:
        return "failed"
    shape, opts = state.shape, environment.parsed_options
    ran = (state.ended_at or time.time()) - state.started_at
    if shape is not None:
        completed = shape.completed or ran >= shape.bound - 1
    elif getattr(opts, "headless", False):
        completed = ran >= float(getattr(opts, "run_time", 0) or 0) - 1
    else:
        completed = state.ended_at is not None  # the web UI's user stopped the test
    return "completed" if completed else "interrupted"


def run_meta(environment: Any, state: LoadState, recorder: RunRecorder) -> dict[str, Any]:
    shape, profile = state.shape, state.profile
    return {
        "run_id": recorder.run_dir.name,
        "started_at": _iso(state.started_at),
        "ended_at": _iso(state.ended_at or time.time()),
        "target": environment.host,
        "profile": profile.as_dict() if profile else None,
        "shape": {"name": shape.name, "args": shape.args()} if shape else None,
        "model": "open" if state.open_model else "closed",
        "one_x_rps": profile.one_x_rps if profile else None,
        "processes": state.processes,
        "versions": {
            "doorbuster": doorbuster.__version__,
            "locust": locust.__version__,
            "python": sys.version.split()[0],
        },
        "git_sha": _git_sha(),
        "status": _status(environment, state),
        "reason": state.abort_reason or None,
        "rows": dict(recorder.counts),
    }
