"""`doorbuster load`: Locust, headless, with our journeys, a shape, a profile and a run folder.

Everything is checked before Locust starts (target, profile, shape), so a bad input is one
sentence and an exit code; the run is bounded by the shape, by --run-time, and by this
process, which stops Locust if it outlives the bound.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from doorbuster.durations import DURATION_HELP, duration_arg
from doorbuster.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_OK, EXIT_UNREACHABLE
from doorbuster.load.errors import LoadError
from doorbuster.load.plans import PLANS, make_plan, parse_shape_args, shape_parameters
from doorbuster.load.profile import load_profile
from doorbuster.load.safety import check_target
from doorbuster.processes import end_leftovers, stop_group
from doorbuster.runfolder import AUDIT, LOCUST_PREFIX, META, new_run_dir

__all__ = [
    "LOCUSTFILE",
    "PARENT_ENV",
    "SUITE_LOCUSTFILE",
    "build_locust_command",
    "check_locustfile",
    "check_reachable",
    "free_loopback_port",
    "register",
]

# The journeys as one locustfile inside the package: an installed wheel has no repository root.
LOCUSTFILE = Path(__file__).resolve().parent / "locustfiles" / "journeys.py"
# Our options and hooks without a User class: loaded beside a locustfile of your own.
SUITE_LOCUSTFILE = Path(__file__).resolve().parent / "locustfiles" / "suite.py"
_PREFLIGHT_S = 120.0  # importing a locustfile (and Locust) on a busy machine
PARENT_ENV = "DOORBUSTER_PARENT_PID"  # Locust quits when this process is gone (even SIGKILLed)
# Locust needs time to start its processes and, at the end, to collect the workers' rows.
_STARTUP_S = 60.0
_LEFTOVER_GRACE_S = 10.0  # after the master exits, its workers finish by themselves within this
_CONNECT_TIMEOUT_S = 3.0
# Signals that end `doorbuster load`: each must end Locust too (it runs in its own session).
_ENDING_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def _locustfile(explicit: str | None) -> str:
    """Locust's -f: our journeys, or the suite's hooks beside a locustfile of your own."""
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise LoadError(f"--locustfile {explicit}: no such file")
        if path.suffix != ".py":
            raise LoadError(f"--locustfile {explicit}: not a Python file (.py)")
        return f"{SUITE_LOCUSTFILE},{path.resolve()}"
    return str(LOCUSTFILE)


def check_locustfile(explicit: str) -> list[str]:
    """The User classes Locust's loader finds in a locustfile of your own, or LoadError naming the
    problem: asked in a child process (reaped on a timeout), before any load is sent."""
    cmd = [sys.executable, "-m", "doorbuster.load.locustfile_check", str(Path(explicit).resolve())]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=_PREFLIGHT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise LoadError(f"--locustfile {explicit}: importing it took more than {_PREFLIGHT_S:g}s") from exc
    lines = out.stdout.strip().splitlines()
    try:
        answer = json.loads(lines[-1]) if lines else {}
    except ValueError:
        answer = {}
    if "users" in answer:
        return list(answer["users"])
    problem = answer.get("error") or (out.stderr.strip().splitlines() or [f"exit {out.returncode}"])[-1]
    raise LoadError(f"--locustfile {explicit}: {problem}")


def build_locust_command(args: argparse.Namespace, run_dir: Path) -> list[str]:
    cmd = [
        sys.executable, "-m", "locust",
        "-f", _locustfile(args.locustfile),
        "--headless",
        "--host", args.host,
        "--shape", args.shape,
        "--shape-args", args.shape_args or "",
        "--traffic-profile", args.profile,
        "--run-dir", str(run_dir),
        "--csv", str(run_dir / LOCUST_PREFIX),
        "--csv-full-history",
        "--only-summary",
    ]  # fmt: skip
    if args.allow_host:
        cmd += ["--allow-host", ",".join(args.allow_host)]
    if args.run_time:
        cmd += ["--run-time", f"{max(1, round(args.run_time))}s"]
    if args.processes and args.processes > 1:
        # Locust's master listens on 5557 on every interface by default, and its forked workers
        # dial 5557: two runs on one machine would join each other's workers. Each run gets
        # its own free loopback port (the master binds it, the workers dial it).
        port = str(free_loopback_port())
        cmd += ["--processes", str(args.processes), "--master-bind-host", "127.0.0.1", "--master-bind-port", port]
        cmd += ["--master-host", "127.0.0.1", "--master-port", port]
    cmd += ["--loglevel", args.loglevel]
    return cmd


def free_loopback_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it), for one run's master."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def check_reachable(url: str) -> None:
    """Fail fast (exit 4) when nothing listens at the target: a closed port is not a load test."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "", port), timeout=_CONNECT_TIMEOUT_S):
            return
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise LoadError(
            f"--host {url}: nothing answers at {parts.hostname}:{port} ({reason}); is the shop up?",
            exit_code=EXIT_UNREACHABLE,
        ) from exc


class _Ended(BaseException):
    """A signal that ends `doorbuster load` (SIGTERM, SIGHUP): stop Locust, record the run as interrupted."""


@contextmanager
def _signals_end_the_run() -> Iterator[None]:
    def handler(signum: int, _frame: Any) -> None:
        raise _Ended(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in _ENDING_SIGNALS}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def cmd_load(args: argparse.Namespace) -> int:
    """Run the journeys headless against --host following --shape; record into the run folder."""
    check_target(args.host, args.allow_host)
    profile = load_profile(args.profile)
    plan = make_plan(
        args.shape, parse_shape_args(args.shape_args), one_x_rps=profile.one_x_rps, time_limit=args.run_time
    )
    if args.processes is not None and args.processes < 1:
        raise LoadError(f"--processes must be at least 1, got {args.processes}")
    if args.locustfile:
        check_locustfile(args.locustfile)
    check_reachable(args.host)
    run_dir = Path(args.run_dir) if args.run_dir else new_run_dir()
    run_dir.mkdir(parents=True, exist_ok=True)
    cmd = build_locust_command(args, run_dir)
    bound = plan.bound + _STARTUP_S + 30 * (args.processes or 1)
    print(f"doorbuster: load {plan.name} {plan.args()} at 1x = {profile.one_x_rps:g} req/s → {run_dir}", flush=True)
    env = {**os.environ, PARENT_ENV: str(os.getpid())}
    with _signals_end_the_run():
        # Its own session: a Ctrl-C in the terminal reaches us alone, and we stop Locust in order.
        proc = subprocess.Popen(cmd, start_new_session=True, env=env)
        try:
            rc = proc.wait(timeout=bound)
        except subprocess.TimeoutExpired:
            print(f"doorbuster: load ran past its bound of {bound:.0f}s; stopping Locust", file=sys.stderr)
            stop_group(proc, grace=30, leader_only=True)
            return EXIT_INTERRUPTED
        except (KeyboardInterrupt, _Ended) as exc:
            name = str(exc) or "SIGINT"
            print(f"doorbuster: {name}: stopping Locust; the run folder keeps what was measured", file=sys.stderr)
            # Locust is stopped however this process is ended; it records the run as interrupted.
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            for sig in _ENDING_SIGNALS:
                signal.signal(sig, signal.SIG_IGN)
            stop_group(proc, grace=30, leader_only=True)
            _outcome(proc.returncode, run_dir)
            return EXIT_INTERRUPTED
    left = end_leftovers(proc, grace=_LEFTOVER_GRACE_S)
    if left:
        print(f"doorbuster: {len(left)} Locust process(es) outlived the master; ended them", file=sys.stderr)
    outcome = _outcome(rc, run_dir)
    if args.audit_cmd and outcome in (EXIT_OK, EXIT_INTERRUPTED):
        _audit(args, run_dir)
    return outcome


def _audit(args: argparse.Namespace, run_dir: Path) -> None:
    """The shop's own integrity check after the load: its verdict goes into audit.json."""
    from doorbuster.integrity import run_audit_command

    doc = run_audit_command(args.audit_cmd, run_dir, host=args.host, timeout=args.audit_timeout)
    broken = [i.name for i in doc.invariants if not i.ok]
    verdict = "OK" if doc.ok else f"FAILED ({', '.join(broken)})"
    print(f"doorbuster: audit {verdict} → {run_dir / AUDIT}", flush=True)


def _outcome(rc: int, run_dir: Path) -> int:
    """Failed requests are data for the report, not a failure of the load stage."""
    try:
        meta: dict[str, Any] = json.loads((run_dir / META).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        print(f"doorbuster: Locust exited {rc} without finishing {run_dir / META}", file=sys.stderr)
        return rc if rc not in (EXIT_OK, 1) else EXIT_BAD_INPUT
    print(f"doorbuster: run {meta.get('status')} → {run_dir}", flush=True)
    if meta.get("status") == "completed" and rc in (EXIT_OK, 1):
        return EXIT_OK
    if meta.get("status") == "interrupted":
        return EXIT_INTERRUPTED
    return rc or EXIT_BAD_INPUT


def _shapes_help() -> str:
    lines = ["shapes and their --shape-args (defaults; durations in the grammar of --run-time):"]
    for name, cls in sorted(PLANS.items()):
        params = ", ".join(f"{key}={_default(value)}" for key, value in shape_parameters(cls).items())
        lines.append(f"  {name:<12}{params}")
    lines += [
        "",
        "example:",
        "  doorbuster load --host http://127.0.0.1:8080 --shape ramp --shape-args steps=1/5/10,hold=1m,ramp=10s",
        "",
        "exit codes: 0 the run completed (failed requests are data for the report), 2 bad input,",
        "4 the shop is unreachable or every request failed, 5 a refused target, 130 interrupted",
    ]
    return "\n".join(lines)


def _default(value: Any) -> str:
    if isinstance(value, tuple):
        return "/".join(f"{v:g}" for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return "-" if value is None else str(value)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "load",
        help="run the journeys (Locust, headless) with a traffic shape; record into a run folder",
        description=(__doc__ or "").split("\n\n")[0],
        epilog=_shapes_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", required=True, help="the shop's storefront URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("--shape", default="steady", choices=sorted(PLANS), help="traffic shape (default: steady)")
    parser.add_argument(
        "--shape-args", default="", help="the shape's arguments as key=value,... (listed below), e.g. step_s=15"
    )
    parser.add_argument(
        "--profile", default=os.environ.get("DOORBUSTER_PROFILE", "default"), help="traffic profile name or YAML path"
    )
    parser.add_argument("--run-dir", default=None, help="run folder (default: a new runs/<run-id>/)")
    parser.add_argument(
        "--run-time", type=duration_arg("--run-time"), default=None, help=f"cap the shape at {DURATION_HELP}"
    )
    parser.add_argument("--processes", type=int, default=None, help="Locust generator processes on this machine")
    parser.add_argument(
        "--allow-host", action="append", default=[], help="a non-loopback host the load may reach (repeatable)"
    )
    parser.add_argument(
        "--locustfile",
        default=None,
        help="a locustfile of your own (default: the suite's journeys); its users get our shapes, "
        "profile, safety rules and run folder; plain HttpUser/FastHttpUser classes run the closed model",
    )
    parser.add_argument(
        "--audit-cmd",
        default=None,
        metavar="COMMAND",
        help="after the load, run this shell command to check the shop's integrity: it must write audit.json "
        "(docs/contracts.md) to $DOORBUSTER_AUDIT_JSON; $DOORBUSTER_LEDGER is the run's ledger.csv",
    )
    parser.add_argument(
        "--audit-timeout",
        type=duration_arg("--audit-timeout"),
        default=300.0,
        help=f"stop the audit command after this long (exit 2), {DURATION_HELP} (default: 5m)",
    )
    parser.add_argument("--loglevel", default="WARNING", help="Locust's log level (default: WARNING)")
    parser.set_defaults(func=cmd_load)
