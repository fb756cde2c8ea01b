"""`doorbuster gameday`: the suite's main job, one bounded run from shop-up to verdict.

    shop up (unless --target) → load (a shape) → audit → shop down → report

Each stage is the suite's own sub-command run as a child process, and the run folder is the
only thing they share (docs/architecture.md, "The run folder"), so a stage that fails or is
interrupted still leaves what it measured and the report is written from whatever is there.
The shop is always taken down, whatever happens.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from doorbuster.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_UNREACHABLE, DoorbusterError
from doorbuster.processes import stop_group
from doorbuster.runfolder import AUDIT, LEDGER, SHOP_DIR, new_run_dir

__all__ = ["register", "run_gameday"]

QUICK_STEP_S = 15  # --quick: the ci profile, ramp 1x → 5x → 10x, this long a step
PRODUCTS = 10_000


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "doorbuster.cli", *args]


def _stage(name: str, argv: list[str], *, timeout: float, env: dict[str, str] | None = None) -> int:
    """Run one stage in its own process group; on timeout or Ctrl-C it is stopped, by its PID."""
    print(f"\n── {name}: {' '.join(argv[3:])}", flush=True)
    proc = subprocess.Popen(argv, env=env, start_new_session=True)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"doorbuster: {name} ran past its bound of {timeout:.0f}s; stopping it", file=sys.stderr)
        stop_group(proc, grace=15)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        stop_group(proc, grace=15)
        raise


def _storefront(shop_dir: Path) -> str:
    state = json.loads((shop_dir / "runtime.json").read_text())
    return str(state["storefront_url"]).rstrip("/")


def run_gameday(args: argparse.Namespace) -> int:
    run_dir = Path(args.run_dir) if args.run_dir else new_run_dir()
    run_dir.mkdir(parents=True, exist_ok=True)
    shop_dir = run_dir / SHOP_DIR
    print(f"doorbuster: game day → {run_dir}", flush=True)
    env = dict(os.environ)
    own_shop = args.target is None
    interrupted = False
    load_rc = 0
    try:
        if own_shop:
            ttl = args.duration + 900  # the shop stops by itself even if everything above dies
            up = _stage("shop up", _cli("up", "--data-dir", str(shop_dir), "--port", "0", "--ttl", f"{ttl}s",
                                        "--products", str(args.products)), timeout=300, env=env)
            if up != 0:
                print(f"doorbuster: the shop did not come up (exit {up}); logs in {shop_dir / 'logs'}",
                      file=sys.stderr)
                return EXIT_UNREACHABLE
            target = _storefront(shop_dir)
        else:
            target = args.target
        load_args = ["load", "--host", target, "--run-dir", str(run_dir), "--profile", args.profile,
                     "--shape", args.shape, "--run-time", f"{args.duration}s"]
        if args.shape_args:
            load_args += ["--shape-args", args.shape_args]
        for host in args.allow_host:
            load_args += ["--allow-host", host]
        load_rc = _stage("load", _cli(*load_args), timeout=args.duration + 120, env=env)
        if own_shop:
            _stage("audit", _cli("audit", "--data-dir", str(shop_dir), "--ledger", str(run_dir / LEDGER),
                                 "--out", str(run_dir / AUDIT)), timeout=300, env=env)
    except KeyboardInterrupt:
        interrupted = True
        print("doorbuster: interrupted; taking the shop down and reporting what was measured", file=sys.stderr)
    finally:
        if own_shop and (shop_dir / "runtime.json").exists():
            _stage("shop down", _cli("down", "--data-dir", str(shop_dir)), timeout=120, env=env)
    if load_rc not in (0, 1):
        print(f"doorbuster: the load stage ended with exit {load_rc}; the report shows what it recorded",
              file=sys.stderr)
    report = ["report", str(run_dir)]
    if args.slo:
        report += ["--slo", args.slo]
    if args.baseline:
        report += ["--baseline", args.baseline]
    rc = _stage("report", _cli(*report), timeout=600, env=env)
    print(f"\ndoorbuster: report → {run_dir / 'report.html'} (exit {rc})", flush=True)
    return EXIT_INTERRUPTED if interrupted else rc


def _duration(args: argparse.Namespace) -> None:
    if args.duration is None:
        args.duration = QUICK_STEP_S * 3 if args.quick else 600
    if args.duration <= 0:
        raise DoorbusterError(f"--duration must be positive, got {args.duration}", exit_code=EXIT_BAD_INPUT)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "gameday",
        help="shop up → load → audit → report, bounded in time",
        description=(__doc__ or "").split("\n\n")[0],
    )
    parser.add_argument("--quick", action="store_true",
                        help="a short CI game day: the 'ci' profile, ramp 1x → 5x → 10x, 15 s a step")
    parser.add_argument("--target", help="base URL of a running shop (default: start the embedded shop)")
    parser.add_argument("--allow-host", action="append", default=[], help="a non-loopback host the load may reach")
    parser.add_argument("--profile", default=None, help="traffic profile name in fixtures/profiles or a YAML path")
    parser.add_argument("--shape", default=None, help="steady, ramp, spike, blackfriday, soak")
    parser.add_argument("--shape-args", default=None, help="shape parameters, e.g. 'step_s=15'")
    parser.add_argument("--duration", type=int, default=None, help="bound of the load stage in seconds")
    parser.add_argument("--products", type=int, default=PRODUCTS, help="catalog size of the embedded shop")
    parser.add_argument("--slo", default=None, help="SLO file (default fixtures/slo.yaml)")
    parser.add_argument("--baseline", default=None, help="an earlier run folder to compare against")
    parser.add_argument("--run-dir", default=None, help="the run folder (default runs/<run-id>)")

    def func(args: argparse.Namespace) -> int:
        _duration(args)
        args.profile = args.profile or ("ci" if args.quick else "default")
        args.shape = args.shape or "ramp"
        if args.quick and args.shape_args is None and args.shape == "ramp":
            args.shape_args = f"step_s={QUICK_STEP_S}"
        started = time.monotonic()
        rc = run_gameday(args)
        print(f"doorbuster: game day took {time.monotonic() - started:.0f}s", flush=True)
        return rc

    parser.set_defaults(func=func)
