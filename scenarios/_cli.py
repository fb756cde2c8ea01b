"""`doorbuster load`: Locust, headless, with our journeys, a shape, a profile and a run folder.

Everything is checked before Locust starts (target, profile, shape), so a bad input is one
sentence and an exit code; the run is bounded by the shape, by --run-time, and by this
process, which stops Locust if it outlives the bound.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from doorbuster.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_OK
from doorbuster.processes import stop_group
from doorbuster.runfolder import LOCUST_PREFIX, META, new_run_dir
from scenarios._errors import LoadError
from scenarios._plan import PLANS, make_plan, parse_shape_args
from scenarios._profile import load_profile
from scenarios._safety import check_target

__all__ = ["build_locust_command", "parse_duration", "register"]

ROOT = Path(__file__).resolve().parent.parent
# Locust needs time to start its processes and, at the end, to collect the workers' rows.
_STARTUP_S = 60.0


def parse_duration(text: str) -> float:
    """`90`, `90s`, `10m`, `1h30m` -> seconds."""
    text = text.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    match = re.fullmatch(r"(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?", text)
    if not text or not match or not any(match.groups()):
        raise LoadError(f"--run-time {text!r}: expected a duration like 90s, 10m or 1h30m")
    hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return float(hours * 3600 + minutes * 60 + seconds)


def _locustfile(explicit: str | None) -> Path:
    if explicit:
        path = Path(explicit)
        if not path.exists():
            raise LoadError(f"--locustfile {explicit}: no such file")
        return path
    return ROOT / "locustfile.py"


def build_locust_command(args: argparse.Namespace, run_dir: Path) -> list[str]:
    cmd = [
        sys.executable, "-m", "locust",
        "-f", str(_locustfile(args.locustfile)),
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
        cmd += ["--run-time", f"{int(parse_duration(args.run_time))}s"]
    if args.processes and args.processes > 1:
        cmd += ["--processes", str(args.processes)]
    cmd += ["--loglevel", args.loglevel]
    return cmd


def cmd_load(args: argparse.Namespace) -> int:
    """Run the journeys headless against --host following --shape; record into the run folder."""
    check_target(args.host, args.allow_host)
    profile = load_profile(args.profile)
    time_limit = parse_duration(args.run_time) if args.run_time else None
    plan = make_plan(args.shape, parse_shape_args(args.shape_args), one_x_rps=profile.one_x_rps, time_limit=time_limit)
    if args.processes is not None and args.processes < 1:
        raise LoadError(f"--processes must be at least 1, got {args.processes}")
    run_dir = Path(args.run_dir) if args.run_dir else new_run_dir()
    run_dir.mkdir(parents=True, exist_ok=True)
    cmd = build_locust_command(args, run_dir)
    bound = plan.bound + _STARTUP_S + 30 * (args.processes or 1)
    print(f"doorbuster: load {plan.name} {plan.args()} at 1x = {profile.one_x_rps:g} req/s → {run_dir}", flush=True)
    proc = subprocess.Popen(cmd, start_new_session=True)
    try:
        rc = proc.wait(timeout=bound)
    except subprocess.TimeoutExpired:
        print(f"doorbuster: load ran past its bound of {bound:.0f}s; stopping Locust", file=sys.stderr)
        stop_group(proc, grace=30)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        stop_group(proc, grace=30)
        raise
    return _outcome(rc, run_dir)


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


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "load",
        help="run the journeys (Locust, headless) with a traffic shape; record into a run folder",
        description=(__doc__ or "").split("\n\n")[0],
    )
    parser.add_argument("--host", required=True, help="the shop's storefront URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("--shape", default="steady", choices=sorted(PLANS), help="traffic shape (default: steady)")
    parser.add_argument("--shape-args", default="", help="shape arguments, e.g. hold=30,ramp=5 or step_s=15")
    parser.add_argument(
        "--profile", default=os.environ.get("DOORBUSTER_PROFILE", "default"), help="traffic profile name or YAML path"
    )
    parser.add_argument("--run-dir", default=None, help="run folder (default: a new runs/<run-id>/)")
    parser.add_argument("--run-time", default=None, help="stop after this long (e.g. 90s, 10m); caps the shape")
    parser.add_argument("--processes", type=int, default=None, help="Locust generator processes on this machine")
    parser.add_argument(
        "--allow-host", action="append", default=[], help="a non-loopback host the load may reach (repeatable)"
    )
    parser.add_argument("--locustfile", default=None, help="another locustfile (default: the suite's journeys)")
    parser.add_argument("--loglevel", default="WARNING", help="Locust's log level (default: WARNING)")
    parser.set_defaults(func=cmd_load)
