"""One pod: a replica process of a service, restarted with back-off, probed for readiness.

Each pod is its own process group (so a shutdown reaches anything it spawned) and gets
SIGKILL from the kernel if the supervisor dies (PR_SET_PDEATHSIG), so no replica outlives
its supervisor, even one killed with SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import psutil

__all__ = ["Backoff", "Pod", "run_job", "spawn"]

log = logging.getLogger("retailflow.runtime.pods")

PR_SET_PDEATHSIG = 1
_SIGKILL = int(signal.SIGKILL)
_prctl: Any = None
try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):  # not Linux: replicas may outlive a crashed supervisor
    pass


def _die_with_parent() -> None:
    # Runs in the child between fork and exec: one syscall, nothing that could take a lock.
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, _SIGKILL)


def spawn(argv: Sequence[str], *, env: Mapping[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    """Start a process in its own session, its output appended to `log_path`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as out:
        return subprocess.Popen(
            list(argv),
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
            close_fds=True,
        )


async def wait_exit(proc: subprocess.Popen[bytes]) -> int:
    """Wait for the process without a thread: a pidfd becomes readable when it exits."""
    loop = asyncio.get_running_loop()
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        while proc.poll() is None:
            await asyncio.sleep(0.1)
        return int(proc.returncode)
    exited = asyncio.Event()
    loop.add_reader(fd, exited.set)
    try:
        if proc.poll() is None:
            await exited.wait()
        return int(proc.wait())
    finally:
        loop.remove_reader(fd)
        os.close(fd)


async def stop_group(proc: subprocess.Popen[bytes], grace_s: float) -> None:
    """SIGTERM the process group, then SIGKILL what is left after `grace_s`."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
        os.killpg(proc.pid, signal.SIGCONT)  # a pod an experiment froze with SIGSTOP must see the SIGTERM
    try:
        await asyncio.wait_for(wait_exit(proc), grace_s)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        await wait_exit(proc)


async def run_job(argv: Sequence[str], *, env: Mapping[str, str], log_path: Path) -> int:
    """Run a process to completion (an init job) and return its exit code."""
    proc = spawn(argv, env=env, log_path=log_path)
    try:
        return await wait_exit(proc)
    finally:
        await stop_group(proc, 2.0)  # only does something when we were cancelled


class Backoff:
    """Exponential restart delays, reset once a pod has stayed up for `stable_s` (like kubelet)."""

    def __init__(self, base_s: float = 0.5, cap_s: float = 30.0, stable_s: float = 30.0) -> None:
        self.base_s = base_s
        self.cap_s = cap_s
        self.stable_s = stable_s
        self.failures = 0

    def next_delay(self, ran_s: float) -> float:
        self.failures = 1 if ran_s >= self.stable_s else self.failures + 1
        return float(min(self.cap_s, self.base_s * 2 ** (self.failures - 1)))


class Pod:
    """One replica: keeps its process running and knows whether it is ready."""

    def __init__(
        self,
        service: str,
        replica: int,
        *,
        argv: Sequence[str],
        env: Mapping[str, str],
        pod_port: int,
        log_path: Path,
        on_change: Callable[[], None],
        backoff: Backoff | None = None,
    ) -> None:
        self.service = service
        self.replica = replica
        self.argv = list(argv)
        self.env = dict(env)
        self.port = pod_port
        self.log_path = log_path
        self.on_change = on_change
        self.backoff = backoff or Backoff()
        self.proc: subprocess.Popen[bytes] | None = None
        self.create_time: float | None = None
        self.state = "pending"
        self.ready = False
        self.restarts = 0
        self.last_exit: int | None = None
        self.next_start_at: float | None = None
        self.ready_at: float | None = None  # when the current process first answered /readyz
        self.frozen = False  # SIGSTOPped by an experiment (a hung pod), until thawed
        self.held = False  # kept down by an experiment (its service scaled to zero), until released
        self._stopping = asyncio.Event()
        self._released = asyncio.Event()  # cleared while held: the loop waits before restarting
        self._released.set()
        self._planned_restart = False  # a rolling restart's SIGTERM: restart at once, not a crash

    @property
    def name(self) -> str:
        return f"{self.service}/{self.replica}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None and self.proc.poll() is None else None

    def update(self, **changes: Any) -> None:
        """Change the pod's fields and tell the supervisor (it rewrites runtime.json)."""
        for key, value in changes.items():
            setattr(self, key, value)
        self.on_change()

    async def run(self, session: aiohttp.ClientSession) -> None:
        """Start the replica and restart it whenever it exits, until stop()."""
        while not self._stopping.is_set():
            if self.held:
                await self._wait_released(self.last_exit)
                continue
            try:
                proc = spawn(self.argv, env=self.env, log_path=self.log_path)
            except OSError as exc:  # out of PIDs or file descriptors: a failed start, retried like a crash
                log.error("pod could not start", extra={"pod": self.name, "error": str(exc)})
                await self._back_off(code=-1, ran_s=0.0)
                continue
            try:
                create_time: float | None = psutil.Process(proc.pid).create_time()
            except psutil.Error:
                create_time = None
            started = time.monotonic()
            self.update(
                proc=proc, create_time=create_time, state="running", ready=False, next_start_at=None, ready_at=None
            )
            probing = asyncio.create_task(self._probe(session))
            try:
                code = await wait_exit(proc)
            finally:
                probing.cancel()
            self.frozen = False
            if self._stopping.is_set():
                break
            if self.held:
                self.update(last_exit=code)  # the loop's top keeps it down until released
            elif self._planned_restart:
                self._planned_restart = False
                self.update(state="restarting", ready=False, last_exit=code)
            else:
                await self._back_off(code=code, ran_s=time.monotonic() - started)
        self.update(state="stopped", ready=False)

    async def _wait_released(self, code: int | None) -> None:
        log.warning("pod held down", extra={"pod": self.name, "exit": code})
        self.update(state="held", ready=False, last_exit=code, next_start_at=None)
        stopping = asyncio.create_task(self._stopping.wait())
        released = asyncio.create_task(self._released.wait())
        try:
            await asyncio.wait({stopping, released}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            released.cancel()

    async def _back_off(self, *, code: int, ran_s: float) -> None:
        delay = self.backoff.next_delay(ran_s)
        log.warning("pod exited; restarting", extra={"pod": self.name, "exit": code, "delay_s": delay})
        self.update(state="backoff", ready=False, last_exit=code, next_start_at=time.time() + delay)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), delay)
        if not self._stopping.is_set():
            self.restarts += 1

    async def _probe(self, session: aiohttp.ClientSession) -> None:
        # Fast probes until the first success (startup time is what `up` waits for), then one
        # a second; three failures in a row make a ready pod unready, as kubelet's default does.
        url = f"http://127.0.0.1:{self.port}/readyz"
        failures = 0
        while True:
            try:
                async with session.get(url, timeout=aiohttp.ClientTimeout(total=2)) as resp:
                    ok = resp.status == 200
            except (aiohttp.ClientError, TimeoutError):
                ok = False
            failures = 0 if ok else failures + 1
            if ok and not self.ready:
                self.update(ready=True, ready_at=self.ready_at or time.time())
            elif self.ready and failures >= 3:
                self.update(ready=False)
            await asyncio.sleep(1.0 if self.ready else 0.1)

    def kill(self, sig: int) -> int:
        """Send `sig` to the replica's process (not its group: this is the chaos action)."""
        pid = self.pid
        if pid is None:
            raise ProcessLookupError(f"pod {self.name} has no running process (state {self.state})")
        os.kill(pid, sig)
        return pid

    def freeze(self) -> int:
        """SIGSTOP the replica's process group: it holds its sockets but answers nothing."""
        pid = self.pid
        if pid is None:
            raise ProcessLookupError(f"pod {self.name} has no running process to freeze (state {self.state})")
        os.killpg(pid, signal.SIGSTOP)
        self.update(frozen=True)
        return pid

    def thaw(self) -> bool:
        """SIGCONT a frozen replica; False when it was not frozen (safe to call any time)."""
        was = self.frozen
        pid = self.pid
        if pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGCONT)
        self.update(frozen=False)
        return was

    def hold_down(self) -> int | None:
        """Kill the replica and keep it down until `release()` (its service scaled to zero)."""
        self._released.clear()
        self.held = True
        pid = self.pid
        if pid is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGCONT)  # a frozen pod dies as well
                os.killpg(pid, signal.SIGKILL)
        self.update(ready=False)
        return pid

    def release(self) -> bool:
        """Let a held replica start again; False when it was not held."""
        was = self.held
        self.held = False
        self._released.set()
        return was

    def restart_planned(self) -> int:
        """SIGTERM the replica for a rolling restart: it is replaced at once, without back-off."""
        pid = self.pid
        if pid is None:
            raise ProcessLookupError(f"pod {self.name} has no running process to restart (state {self.state})")
        self._planned_restart = True
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pid, signal.SIGCONT)
            os.kill(pid, signal.SIGTERM)
        return pid

    async def stop(self, grace_s: float = 5.0) -> None:
        self._stopping.set()
        self._released.set()
        if self.proc is not None:
            await stop_group(self.proc, grace_s)

    def snapshot(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "replica": self.replica,
            "pid": self.pid,
            "port": self.port,
            "restarts": self.restarts,
            "ready": self.ready,
            "state": self.state,
            "last_exit": self.last_exit,
            "next_start_at": self.next_start_at,
            "create_time": self.create_time,
            "ready_at": self.ready_at,
            "frozen": self.frozen,
            "held": self.held,
            "log": str(self.log_path),
        }


def python_argv(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]
