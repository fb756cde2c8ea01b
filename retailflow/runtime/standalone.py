"""One shop service as real processes without the supervisor, for tests and benchmarks.

`run_service` seeds the service's store, starts its replicas on one shared service port, waits
for each to be ready and stops them, by PID, on the way out whatever happens. The supervisor
does the same for a whole shop with restarts and links; this is the smallest real setup.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from retailflow.runtime.errors import NotReady

__all__ = ["ServiceProcess", "free_port", "run_service", "seed_service", "stop"]

SMALL_CATALOG = "2000"  # products: seeds in a second, enough for every journey


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class ServiceProcess:
    service: str
    proc: subprocess.Popen[bytes]
    url: str
    pod_url: str
    log: Path

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def _env(data_dir: Path, extra: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RF_")}
    env.update({"RF_DATA_DIR": str(data_dir), "RF_PRODUCTS": SMALL_CATALOG, **extra})
    return env


def seed_service(service: str, data_dir: Path, env: Mapping[str, str] | None = None, timeout: float = 120) -> None:
    """Run the service's init job (schema and seed data); NotReady with its stderr if it fails."""
    result = subprocess.run(
        [sys.executable, "-m", "retailflow.serve", service, "--seed-only"],
        env=_env(data_dir, env or {}), capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    if result.returncode != 0:
        raise NotReady(f"seeding {service} failed:\n{result.stderr[-3000:]}")


def _wait_ready(sp: ServiceProcess, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if sp.proc.poll() is not None:
            raise NotReady(f"{sp.service} exited with {sp.proc.returncode}:\n{sp.log_tail()}")
        try:
            if requests.get(sp.pod_url + "/readyz", timeout=2).status_code == 200:
                return
        except requests.RequestException as exc:  # not listening yet
            last = exc
        time.sleep(0.05)
    raise NotReady(f"{sp.service} was not ready within {timeout:g}s ({last!r}):\n{sp.log_tail()}")


@contextmanager
def run_service(
    service: str,
    data_dir: Path,
    env: Mapping[str, str] | None = None,
    *,
    seed: bool = True,
    replicas: int = 1,
    service_port: int | None = None,
    ready_timeout: float = 60,
) -> Iterator[list[ServiceProcess]]:
    """Seed, start `replicas` processes of a service on one shared service port, wait for /readyz, and
    kill them (SIGTERM, then SIGKILL) on the way out whatever happens."""
    if seed:
        seed_service(service, data_dir, env)
    port = service_port or free_port()
    started: list[ServiceProcess] = []
    (data_dir / "logs").mkdir(parents=True, exist_ok=True)
    try:
        for replica in range(replicas):
            pod_port = free_port()
            log = data_dir / "logs" / f"{service}-{replica}.log"
            with open(log, "ab") as out:
                proc = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "retailflow.serve",
                        service,
                        "--service-port",
                        str(port),
                        "--pod-port",
                        str(pod_port),
                    ],
                    env=_env(data_dir, {**(env or {}), "RF_REPLICA": str(replica)}),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            started.append(
                ServiceProcess(service, proc, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{pod_port}", log)
            )
        for sp in started:
            _wait_ready(sp, ready_timeout)
        yield started
    finally:
        for sp in started:
            stop(sp.proc)


def stop(proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """Stop one process (a frozen one is resumed first); SIGKILL if it outstays `timeout`."""
    if proc.poll() is not None:
        return
    try:
        os.kill(proc.pid, signal.SIGCONT)  # a test may have frozen it
        proc.terminate()
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)
    except ProcessLookupError:
        pass
