"""Start real shop processes for tests and always reap them, by PID."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import requests

__all__ = ["ServiceProcess", "free_port", "run_service", "seed_service", "wait_until"]

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until(check: Callable[[], T], *, timeout: float = 30.0, interval: float = 0.05, what: str = "") -> T:
    """Poll `check` until it returns something truthy; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_exc: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as exc:  # not up yet
            last_exc = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or check}: {last_exc!r}")


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
    env.update({"RF_DATA_DIR": str(data_dir), "RF_PRODUCTS": "2000", **extra})
    return env


def seed_service(service: str, data_dir: Path, env: Mapping[str, str] | None = None, timeout: float = 120) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "retailflow.serve", service, "--seed-only"],
        env=_env(data_dir, env or {}), capture_output=True, text=True, timeout=timeout,
    )
    assert result.returncode == 0, f"seeding {service} failed:\n{result.stderr[-3000:]}"


@contextmanager
def run_service(service: str, data_dir: Path, env: Mapping[str, str] | None = None, *, seed: bool = True,
                replicas: int = 1, service_port: int | None = None,
                ready_timeout: float = 60) -> Iterator[list[ServiceProcess]]:
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
                    [sys.executable, "-m", "retailflow.serve", service, "--service-port", str(port),
                     "--pod-port", str(pod_port)],
                    env=_env(data_dir, {**(env or {}), "RF_REPLICA": str(replica)}),
                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                )
            sp = ServiceProcess(service, proc, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{pod_port}", log)
            started.append(sp)
        for sp in started:
            def ready(sp: ServiceProcess = sp) -> bool:
                if sp.proc.poll() is not None:
                    raise AssertionError(f"{service} exited with {sp.proc.returncode}:\n{sp.log_tail()}")
                return requests.get(sp.pod_url + "/readyz", timeout=2).status_code == 200
            try:
                wait_until(ready, timeout=ready_timeout, what=f"{service} ready")
            except AssertionError as exc:
                raise AssertionError(f"{exc}\n{sp.log_tail()}") from None
        yield started
    finally:
        for sp in started:
            stop(sp.proc)


def stop(proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
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
