"""The whole shop on the local runtime for shop-wide tests: `doorbuster up`, then always
`doorbuster down` and a kill, by PID, of every process it started that is still there."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import psutil
import pytest

from retailflow.common.config import SERVICES

__all__ = ["Shop", "doorbuster", "missing_shop_parts", "running_shop", "shop_env"]

UP_TIMEOUT_S = 240.0  # seeding 7 stores and starting 11 processes on 2 busy cores


def missing_shop_parts() -> list[str]:
    """The modules a whole shop needs that this checkout does not have yet."""
    wanted = ["retailflow.runtime.client", "retailflow.runtime.launch"]
    wanted += [f"retailflow.{service}.bootstrap" for service in SERVICES]
    missing = []
    for name in wanted:
        try:
            if importlib.util.find_spec(name) is None:
                missing.append(name)
        except ModuleNotFoundError:
            missing.append(name)
    return missing


def skip_unless_shop_is_built() -> None:
    missing = missing_shop_parts()
    if missing:
        pytest.skip(f"the shop is not built yet: no {', '.join(missing)}")


@dataclass
class Shop:
    data_dir: Path
    client: Any  # retailflow.runtime.client.RuntimeClient
    status: dict[str, Any]

    @property
    def url(self) -> str:
        return str(self.status["storefront_url"]).rstrip("/")

    def service_url(self, name: str) -> str:
        return next(str(s["url"]) for s in self.status["services"] if s["name"] == name).rstrip("/")

    def logs(self, lines: int = 20) -> str:
        out = []
        for log in sorted((self.data_dir / "logs").glob("*.log")):
            tail = log.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {log.name}\n" + "\n".join(tail))
        return "\n".join(out)


def shop_env(**extra: str) -> dict[str, str]:
    """A test shop's environment: none of this machine's RF_* settings, a small catalog that seeds
    in seconds, the embedded profile unless `extra` asks otherwise."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RF_") and k != "DOORBUSTER_DATA_DIR"}
    env.update({"RF_PRODUCTS": "2000", "RF_LOG_LEVEL": "WARNING", **extra})
    return env


def doorbuster(
    *args: str, env: Mapping[str, str] | None = None, timeout: float = UP_TIMEOUT_S
) -> subprocess.CompletedProcess[str]:
    """`doorbuster ARGS` from this checkout, its output captured, in `env` (default: `shop_env()`)."""
    return subprocess.run(
        [sys.executable, "-m", "doorbuster.cli", *args], env=dict(env or shop_env()), capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip


def _started_processes(data_dir: Path) -> list[psutil.Process]:
    """The supervisor and its pods, as runtime.json names them (PID + start time, so a reused
    PID is never mistaken for ours)."""
    try:
        state = orjson.loads((data_dir / "runtime.json").read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return []
    procs = []
    for pid in [state.get("pid"), *(p.get("pid") for p in state.get("pods", []))]:
        if pid:
            with contextlib.suppress(psutil.Error):
                procs.append(psutil.Process(int(pid)))
    return procs


def _reap(procs: list[psutil.Process]) -> None:
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            if proc.is_running():  # compares the start time: still the process we saw
                proc.send_signal(signal.SIGKILL)
    psutil.wait_procs(procs, timeout=10)


@contextmanager
def running_shop(data_dir: Path, env: Mapping[str, str] | None = None, *, args: tuple[str, ...] = ()) -> Iterator[Shop]:
    skip_unless_shop_is_built()
    from retailflow.runtime.client import RuntimeClient

    environment = shop_env(**(env or {}))
    seen: list[psutil.Process] = []
    try:
        up = doorbuster(
            "up", "--data-dir", str(data_dir), "--port", "0", "--ttl", "20m", "--timeout", str(UP_TIMEOUT_S), *args,
            env=environment,
        )  # fmt: skip
        seen += _started_processes(data_dir)
        assert up.returncode == 0, f"doorbuster up failed ({up.returncode}):\n{up.stdout}\n{up.stderr}"
        client = RuntimeClient(str(data_dir))
        client.wait_ready(UP_TIMEOUT_S)
        seen += _started_processes(data_dir)
        yield Shop(data_dir, client, client.status())
    finally:
        seen += _started_processes(data_dir)  # pods restarted since have new PIDs
        with contextlib.suppress(subprocess.TimeoutExpired):
            doorbuster("down", "--data-dir", str(data_dir), env=environment, timeout=60)
        _reap(seen)
