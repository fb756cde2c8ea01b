"""`doorbuster up`, `doorbuster down`, `doorbuster status`: the shop on the local pod runtime."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from doorbuster.errors import EXIT_BAD_INPUT, EXIT_UNREACHABLE, DoorbusterError
from retailflow.runtime.errors import PodRuntimeError
from retailflow.runtime.options import Options, add_arguments, add_data_dir_argument, build_options
from retailflow.runtime.state import RUNTIME_FILE, is_alive, read_state

__all__ = ["register"]

LOG_TAIL_LINES = 15


def _data_dir(args: argparse.Namespace) -> Path:
    return Path(args.data_dir or os.environ.get("DOORBUSTER_DATA_DIR") or ".doorbuster").resolve()


def register(subparsers: Any) -> None:
    up = subparsers.add_parser(
        "up",
        help="start the RetailFlow shop on the local pod runtime",
        description="Start every RetailFlow service as replica processes on loopback, wait until all are "
        "ready and print the storefront URL. Exit 4 if the shop is not ready in time.",
    )
    add_arguments(up, data_dir_required=False)
    up.add_argument(
        "--timeout", type=float, default=120.0, help="seconds to wait for every pod to be ready (default 120)"
    )
    up.add_argument("--foreground", action="store_true", help="run the supervisor in this process until Ctrl-C")
    up.set_defaults(func=cmd_up)

    down = subparsers.add_parser("down", help="stop the shop and wait until its processes are gone")
    add_data_dir_argument(down, required=False)
    down.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the processes to exit")
    down.set_defaults(func=cmd_down)

    status = subparsers.add_parser("status", help="services, pods and links of the running shop")
    add_data_dir_argument(status, required=False)
    status.add_argument("--json", action="store_true", help="print the control API's /status as JSON")
    status.set_defaults(func=cmd_status)


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


def cmd_up(args: argparse.Namespace) -> int:
    """Start the shop (detached unless --foreground) and print its storefront URL once ready."""
    data_dir = _data_dir(args)
    args.data_dir = str(data_dir)
    if not 0 <= args.port <= 65535:
        raise DoorbusterError(f"--port {args.port} is not a TCP port (0-65535; 0 = any free one)")
    try:
        options = build_options(args)
    except PodRuntimeError as exc:
        raise DoorbusterError(str(exc), exit_code=EXIT_BAD_INPUT) from exc
    running = _running_state(data_dir)
    if running:
        raise DoorbusterError(
            f"a shop is already running from {data_dir} (supervisor pid {running['pid']}, "
            f"{running.get('storefront_url') or running.get('control_url')}); stop it with "
            f"`doorbuster down --data-dir {data_dir}`"
        )
    (data_dir / "logs").mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        (data_dir / RUNTIME_FILE).unlink()  # a stopped shop's file must not pass for the new one
    if args.foreground:
        return _up_foreground(options)

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
    started = time.time()
    with open(data_dir / "logs" / "supervisor.log", "ab") as log:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, close_fds=True
        )
    try:
        state = _wait_ready(proc, data_dir, args.timeout)
    except (DoorbusterError, KeyboardInterrupt):
        _stop_supervisor(proc.pid, None, data_dir, 15.0)  # a half-started shop is not left behind
        raise
    ready = len(state.get("pods", []))
    print(
        f"RetailFlow is up: {ready} pods ready in {time.time() - started:.1f} s; data in {data_dir}; "
        f"stop it with `doorbuster down --data-dir {data_dir}`",
        file=sys.stderr,
    )
    print(state.get("storefront_url") or state["control_url"])
    return 0


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
            raise DoorbusterError(
                (f"{cause}\n" if cause else "")
                + f"the runtime exited with code {code} before the shop was ready; last lines of {log}:\n"
                + _tail(log),
                # The runtime's own exit 2 is bad input (a port in use, a bad option): the user's to fix.
                exit_code=EXIT_BAD_INPUT if code == EXIT_BAD_INPUT else EXIT_UNREACHABLE,
            )
        if state and state.get("all_ready"):
            return state
        failed = [p for p in (state or {}).get("pods", []) if p.get("state") == "init-failed"]
        if failed:
            raise DoorbusterError(
                f"the init job (schema and fixtures) of {failed[0]['service']} failed:\n"
                + _not_ready_report({"pods": failed[:1]}, data_dir),
                exit_code=EXIT_UNREACHABLE,
            )
        if time.monotonic() >= deadline:
            raise DoorbusterError(
                f"the shop was not ready within {timeout:g} s; not ready:\n" + _not_ready_report(state, data_dir),
                exit_code=EXIT_UNREACHABLE,
            )
        time.sleep(0.1)


def _up_foreground(options: Options) -> int:
    import uvloop

    from retailflow.runtime.supervisor import Supervisor

    def announce(supervisor: Supervisor) -> None:
        print(supervisor.storefront_url or supervisor.control_url, flush=True)

    uvloop.install()
    try:
        return asyncio.run(Supervisor(options, on_ready=announce).run())
    except PodRuntimeError as exc:
        raise DoorbusterError(str(exc)) from exc


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


def cmd_down(args: argparse.Namespace) -> int:
    """Stop the shop of the data folder and wait until its processes are gone."""
    data_dir = _data_dir(args)
    state = read_state(data_dir)
    if not state or not is_alive(state.get("pid"), state.get("create_time")):
        leftovers = [p for p in _pod_pids(state) if is_alive(*p)]
        for pid, _ in leftovers:  # pods of a supervisor that died without taking them along
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)
        print(
            f"no shop is running from {data_dir}" + (f"; killed {len(leftovers)} leftover pods" if leftovers else ""),
            file=sys.stderr,
        )
        return 0
    clean = _stop_supervisor(int(state["pid"]), state.get("create_time"), data_dir, args.timeout)
    if not clean:
        print(
            f"the shop from {data_dir} did not stop within {args.timeout:g} s; its processes were killed",
            file=sys.stderr,
        )
    else:
        print(f"stopped the shop from {data_dir}", file=sys.stderr)
    return 0


# -- status --------------------------------------------------------------------------------------


def _format_status(status: dict[str, Any]) -> str:
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


def cmd_status(args: argparse.Namespace) -> int:
    """Print the running shop's services, pods and links (`--json`: the control API's /status)."""
    data_dir = _data_dir(args)
    from retailflow.runtime.client import RuntimeClient

    try:
        status = RuntimeClient(data_dir).status()
    except PodRuntimeError as exc:
        raise DoorbusterError(str(exc), exit_code=EXIT_UNREACHABLE) from exc
    print(json.dumps(status, indent=2) if args.json else _format_status(status))
    return 0
