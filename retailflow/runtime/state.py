"""`<data-dir>/runtime.json`: what the supervisor is running, for the CLI and other processes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import orjson
import psutil

__all__ = ["RUNTIME_FILE", "is_alive", "read_state", "write_state"]

RUNTIME_FILE = "runtime.json"


def write_state(data_dir: Path, state: dict[str, Any]) -> None:
    """Replace runtime.json atomically, so a reader never sees half a file."""
    path = data_dir / RUNTIME_FILE
    tmp = path.with_suffix(f".json.{os.getpid()}.tmp")
    tmp.write_bytes(orjson.dumps(state, option=orjson.OPT_INDENT_2))
    os.replace(tmp, path)


def read_state(data_dir: Path) -> dict[str, Any] | None:
    try:
        raw = (data_dir / RUNTIME_FILE).read_bytes()
    except FileNotFoundError:
        return None
    try:
        state = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return state if isinstance(state, dict) else None


def is_alive(pid: int | None, create_time: float | None = None) -> bool:
    """True when `pid` runs and, if `create_time` is known, is the process we started (not a reuse)."""
    if not pid:
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return create_time is None or abs(proc.create_time() - create_time) < 0.05
    except psutil.Error:
        return False
