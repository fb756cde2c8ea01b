"""Start, stop and describe the shop on the local pod runtime, for whichever command line drives it.

The functions raise the runtime's own errors (`retailflow.runtime.errors`); the suite's
`doorbuster up|down|status` (doorbuster/shop.py) turns them into messages and exit codes.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from retailflow.runtime.errors import AlreadyRunning, NotReady, PodRuntimeError, TopologyError
from retailflow.runtime.options import Options, build_options
from retailflow.runtime.state import RUNTIME_FILE, is_alive, read_state

__all__ = ["checked_options", "data_dir_of", "down", "format_status", "up", "up_foreground"]

LOG_TAIL_LINES = 15


def data_dir_of(arg: str | os.PathLike[str] | None) -> Path:
    """The shop's folder: the one given, else $DOORBUSTER_DATA_DIR, else ./.doorbuster."""
    return Path(arg or os.environ.get("DOORBUSTER_DATA_DIR") or ".doorbuster").resolve()


# -- up ------------------------------------------------------------------------------------------


def _tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return f"    (no log at {path})"
    return "\n".join(f"    {line}" for line in text) or "    (empty)"


_CAUSE_PREFIX = "retailflow runtime: "


def _failure_cause(log: Path) -> str:
    """The sentence the runtime printed as it failed (its last `retailflow runtime: ...` line)."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return next((line.removeprefix(_CAUSE_PREFIX) for line in reversed(lines) if line.startswith(_CAUSE_PREFIX)), "")


def _running_state(data_dir: Path) -> dict[str, Any] | None:
    state = read_state(data_dir)
    if state and state.get("state") != "stopped" and is_alive(state.get("pid"), state.get("create_time")):
        return state
    return None


def _not_ready_report(state: dict[str, Any] | None, data_dir: Path) -> str:
    if not state:
        return f"the supervisor never wrote {data_dir / RUNTIME_FILE}; its log:\n" + _tail(
            data_dir / "logs" / "supervisor.log"
        )
    parts = []
    for pod in state.get("pods", []):
        if pod.get("ready"):
            continue
        log = Path(pod["log"])
        if pod.get("state") in ("init", "init-failed"):
            log = log.with_name(f"{pod['service']}-init.log")
        parts.append(
            f"  {pod['service']}/{pod['replica']}: state {pod['state']}, pid {pod['pid']}, "
            f"restarts {pod['restarts']}, last exit {pod.get('last_exit')}; last lines of {log}:\n" + _tail(log)
        )
    return "\n".join(parts)


def checked_options(args: argparse.Namespace) -> Options:
    """The supervisor's options from the parsed arguments (`options.add_arguments`), with
    `args.data_dir` resolved; the folder is prepared for a new shop. A bad argument raises
    TopologyError naming it before anything is created; a running shop raises AlreadyRunning."""
    args.data_dir = str(data_dir_of(args.data_dir))
    if not 0 <= args.port <= 65535:
        raise TopologyError(f"--port {args.port} is not a TCP port (0-65535; 0 = any free one)")
    options = build_options(args)
    running = _running_state(options.data_dir)
    if running:
        raise AlreadyRunning(
            f"a shop is already running from {options.data_dir} (supervisor pid {running['pid']}, "
            f"{running.get('storefront_url') or running.get('control_url')}); stop it with "
            f"`doorbuster down --data-dir {options.data_dir}`"
        )
    (options.data_dir / "logs").mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        (options.data_dir / RUNTIME_FILE).unlink()  # a stopped shop's file must not pass for the new one
    return options


def up(args: argparse.Namespace, options: Options, timeout: float) -> dict[str, Any]:
    """Start the supervisor detached, wait until every pod is ready and return runtime.json's
    state; a half-started shop is stopped before NotReady is raised."""
    data_dir = options.data_dir
    argv = [
        sys.executable,
        "-m",
        "retailflow.runtime.supervisor",
        "--data-dir",
        str(data_dir),
        "--port",
        str(args.port),
        "--ttl",
        args.ttl,
    ]
    if args.services:
        argv += ["--services", args.services]
    for item in args.replicas or []:
        argv += ["--replicas", item]
    for flag in ("products", "seed"):
        if getattr(args, flag) is not None:
            argv += [f"--{flag}", str(getattr(args, flag))]
    with open(data_dir / "logs" / "supervisor.log", "ab") as log:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, close_fds=True
        )
    try:
        return _wait_ready(proc, data_dir, timeout)
    except (PodRuntimeError, KeyboardInterrupt):
        _stop_supervisor(proc.pid, None, data_dir, 15.0)  # a half-started shop is not left behind
        raise


def _wait_ready(proc: subprocess.Popen[bytes], data_dir: Path, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    state: dict[str, Any] | None = None
    while True:
        code = proc.poll()
        current = read_state(data_dir)
        if current and current.get("pid") == proc.pid:
            state = current
        if code is not None:
            log = data_dir / "logs" / "supervisor.log"
            cause = _failure_cause(log)
            message = (
                (f"{cause}\n" if cause else "")
                + f"the runtime exited with code {code} before the shop was ready; last lines of {log}:\n"
                + _tail(log)
            )
            # The runtime's own exit 2 is bad input (a port in use, a bad option): the user's to fix,
            # so `doorbuster up` exits 2 for it (TopologyError), and 4 (NotReady) for anything else.
            raise TopologyError(message) if code == 2 else NotReady(message)
        if state and state.get("all_ready"):
            return state
        failed = [p for p in (state or {}).get("pods", []) if p.get("state") == "init-failed"]
        if failed:
            raise NotReady(
                f"the init job (schema and fixtures) of {failed[0]['service']} failed:\n"
                + _not_ready_report({"pods": failed[:1]}, data_dir)
            )
        if time.monotonic() >= deadline:
            raise NotReady(
                f"the shop was not ready within {timeout:g} s; not ready:\n" + _not_ready_report(state, data_dir)
            )
        time.sleep(0.1)


def up_foreground(options: Options) -> int:
    """Run the supervisor in this process until it stops; print the storefront URL once ready."""
    import uvloop

    from retailflow.runtime.supervisor import Supervisor

    def announce(supervisor: Supervisor) -> None:
        print(supervisor.storefront_url or supervisor.control_url, flush=True)

    uvloop.install()
    return asyncio.run(Supervisor(options, on_ready=announce).run())


# -- down ----------------------------------------------------------------------------------------


def _pod_pids(state: dict[str, Any] | None) -> list[tuple[int, float | None]]:
    return [(p["pid"], p.get("create_time")) for p in (state or {}).get("pods", []) if p.get("pid")]


def _stop_supervisor(pid: int, create_time: float | None, data_dir: Path, timeout: float) -> bool:
    """SIGTERM the supervisor, wait for it and its pods to be gone; SIGKILL what outstays `timeout`."""
    pods = _pod_pids(read_state(data_dir))
    if is_alive(pid, create_time):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pods = [p for p in pods if is_alive(*p)]
        if not is_alive(pid, create_time) and not pods:
            return True
        time.sleep(0.1)
    # It did not stop in time: kill what is provably ours (pid and start time match).
    for pod_pid, created in [(pid, create_time), *pods]:
        if is_alive(pod_pid, created):
            kill = os.kill if pod_pid == pid else os.killpg  # each pod leads its own process group
            with contextlib.suppress(ProcessLookupError, PermissionError):
                kill(pod_pid, signal.SIGKILL)
    return False


def down(data_dir: Path, timeout: float) -> str:
    """Stop the shop of the data folder, wait until its processes are gone; a sentence saying how."""
    state = read_state(data_dir)
    if not state or not is_alive(state.get("pid"), state.get("create_time")):
        leftovers = [p for p in _pod_pids(state) if is_alive(*p)]
        for pid, _ in leftovers:  # pods of a supervisor that died without taking them along
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        return f"no shop is running from {data_dir}" + (f"; killed {len(leftovers)} leftover pods" if leftovers else "")
    if not _stop_supervisor(int(state["pid"]), state.get("create_time"), data_dir, timeout):
        return f"the shop from {data_dir} did not stop within {timeout:g} s; its processes were killed"
    return f"stopped the shop from {data_dir}"


# -- status --------------------------------------------------------------------------------------


def format_status(status: dict[str, Any]) -> str:
    left = max(0, int(status.get("expires_at", 0) - time.time()))
    lines = [
        f"storefront {status.get('storefront_url') or '-'}  profile {status.get('profile')}  "
        f"control {status.get('control_url')}  supervisor pid {status.get('pid')}, stops in {left // 60} min",
        "",
        f"{'SERVICE':<14}{'URL':<28}{'READY':>7}",
    ]
    for svc in status.get("services", []):
        lines.append(f"{svc['name']:<14}{svc['url']:<28}{svc['ready']:>3}/{svc['replicas']:<3}")
    lines += ["", f"{'POD':<17}{'PID':>8}{'PORT':>7}  {'STATE':<12}{'READY':<7}{'RESTARTS':>8}"]
    for pod in status.get("pods", []):
        name = f"{pod['service']}/{pod['replica']}"
        lines.append(
            f"{name:<17}{pod['pid'] or '-':>8}{pod['port']:>7}  {pod['state']:<12}"
            f"{'yes' if pod['ready'] else 'no':<7}{pod['restarts']:>8}"
        )
    if status.get("links"):
        lines += ["", f"{'LINK':<24}{'STATE':<11}{'LATENCY':>8}  TARGET"]
        for link in status["links"]:
            lines.append(f"{link['name']:<24}{link['state']:<11}{link['latency_ms']:>6}ms  {link['target']}")
    return "\n".join(lines)
