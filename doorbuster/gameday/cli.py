"""`doorbuster gameday NAME`: a game day profile from shop-up to verdict, bounded in time.

Everything is validated before the shop starts (profile, shape, schedule, experiments, port,
dependencies, target), so a bad input is one sentence and exit 2 (4: the named shop does not
answer; 5: a target the safety rules refuse), and nothing is left running. A shop that is not
RetailFlow is told apart and checked in ownshop.py.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from doorbuster.chaos.cli import add_platform_options
from doorbuster.durations import DURATION_HELP, duration_arg
from doorbuster.gameday.errors import GamedayError
from doorbuster.gameday.ownshop import check_chaos_platform, not_measured
from doorbuster.gameday.preflight import check_dependencies, check_experiments, check_port_free, check_target
from doorbuster.gameday.profile import available_gamedays, load_gameday
from doorbuster.gameday.progress import make_progress
from doorbuster.gameday.run import GamedayRun, run_gameday
from doorbuster.gameday.schedule import build_timeline
from doorbuster.runfolder import new_run_dir

__all__ = ["prepare", "register"]

QUICK = "smoke"


def _name(args: argparse.Namespace) -> str:
    if args.quick and args.name not in (None, QUICK):
        raise GamedayError(f"--quick is the game day {QUICK!r}; it cannot be combined with {args.name!r}")
    return args.name or (QUICK if args.quick else "ci")


def prepare(args: argparse.Namespace) -> GamedayRun:
    """Every check that can fail before anything starts; the validated run."""
    profile = load_gameday(_name(args))
    if args.locustfile and not Path(args.locustfile).is_file():
        raise GamedayError(f"--locustfile {args.locustfile}: no such file")
    unmeasured = not_measured(args, profile)
    updates: dict[str, Any] = {}
    if args.shape:
        updates["shape"] = args.shape
        updates["shape_args"] = {}
    if args.shape_args is not None:
        from doorbuster.gameday.loadengine import LoadError, parse_shape_args

        try:
            updates["shape_args"] = parse_shape_args(args.shape_args)
        except LoadError as exc:
            raise GamedayError(f"--shape-args: {exc}") from None
    if args.no_chaos:
        updates["chaos"] = ()
    if updates:
        profile = profile.model_copy(update=updates)
    traffic = args.profile or profile.traffic_profile
    timeline = build_timeline(profile, traffic_profile=traffic, run_time=args.run_time)
    check_experiments(profile)
    chaos_argv = check_chaos_platform(args, profile, timeline)
    check_dependencies(profile, dict(os.environ))
    data_dir = Path(args.data_dir) if args.data_dir else None
    target = check_target(args.host, data_dir, args.allow_host, profile, timeline, args.platform)
    if target is None:
        if args.port is not None and not 0 <= args.port <= 65535:
            raise GamedayError(f"--port {args.port} is not a TCP port (0-65535; 0 = any free one)")
        check_port_free(args.port or 0)
    elif args.port:
        raise GamedayError("--port is the embedded shop's port; with --host/--data-dir the shop is already up")
    run_dir = Path(args.run_dir) if args.run_dir else new_run_dir()
    return GamedayRun(
        profile=profile,
        timeline=timeline,
        run_dir=run_dir,
        target=target,
        traffic_profile=traffic,
        allow_host=list(args.allow_host),
        port=args.port or 0,
        products=args.products or profile.products,
        slo=args.slo or profile.slo,
        baseline=args.baseline,
        chaos=not args.no_chaos,
        locustfile=args.locustfile,
        audit_cmd=args.audit_cmd,
        chaos_argv=chaos_argv,
        not_measured=unmeasured,
    )


def _run(args: argparse.Namespace) -> int:
    """Run a game day profile: shop up → load with its chaos schedule and stop conditions → audit → report."""
    if args.list:
        for name in available_gamedays():
            print(f"{name:<14} {load_gameday(name).description}")
        return 0
    run = prepare(args)
    run.progress = make_progress(sys.stdout)
    started = time.monotonic()
    rc = run_gameday(run)
    print(f"doorbuster: game day took {time.monotonic() - started:.0f}s", flush=True)
    return rc


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "gameday",
        help="a game day: shop up → load + chaos schedule + stop conditions → audit → report",
        description=(__doc__ or "").split("\n\n")[0],
        epilog=f"Game days in fixtures/gamedays/: {', '.join(available_gamedays())}. A shop of your own: --host "
        "URL with --locustfile (and --audit-cmd, --slo); its chaos schedule needs --platform kubernetes --namespace "
        "NS, or --no-chaos. Exit codes: 0 GO, 1 NO-GO "
        "(an SLO breached or a stop condition fired), 2 bad input, 3 INCONCLUSIVE, 4 shop unreachable, "
        "5 refused target, 130 interrupted.",
    )
    parser.add_argument(
        "name",
        nargs="?",
        metavar="NAME",
        help="a game day in fixtures/gamedays/ (smoke, ci, black-friday) or a YAML path (default: ci)",
    )
    parser.add_argument("--quick", action="store_true", help=f"the {QUICK!r} game day (under a minute)")
    parser.add_argument("--list", action="store_true", help="list the game days and exit")
    parser.add_argument(
        "--host",
        default=None,
        help="a shop already up (its storefront URL): RetailFlow (add --data-dir for chaos and "
        "audit), or a shop of your own when --locustfile or --audit-cmd comes without --data-dir",
    )
    parser.add_argument(
        "--data-dir", default=None, help="the folder of a RetailFlow shop already up (its control API and stores)"
    )
    parser.add_argument(
        "--locustfile",
        default=None,
        metavar="FILE",
        help="your own journeys (a locustfile), as `doorbuster load --locustfile`; with --host and "
        "no --data-dir it makes --host a shop of your own",
    )
    parser.add_argument(
        "--audit-cmd",
        default=None,
        metavar="COMMAND",
        help="your shop's audit command, run after the load as `doorbuster integrity RUN --host URL "
        "--audit-cmd COMMAND`; without it (or --data-dir) integrity is 'not measured', never a pass",
    )
    parser.add_argument("--allow-host", action="append", default=[], help="a non-loopback host the load may reach")
    parser.add_argument("--profile", default=None, help="traffic profile (fixtures/profiles name or YAML path)")
    parser.add_argument(
        "--run-time", type=duration_arg("--run-time"), default=None, help=f"cap the load at this long ({DURATION_HELP})"
    )
    parser.add_argument("--shape", default=None, help="override the game day's shape (steady, ramp, spike, ...)")
    parser.add_argument("--shape-args", default=None, help="override the shape's arguments, e.g. 'step_s=15'")
    parser.add_argument("--no-chaos", action="store_true", help="the load alone, without the chaos schedule")
    add_platform_options(parser)
    parser.add_argument("--port", type=int, default=None, help="storefront port of the embedded shop (default any)")
    parser.add_argument("--products", type=int, default=None, help="catalog size of the embedded shop")
    parser.add_argument("--slo", default=None, help="SLO file (default fixtures/slo.yaml)")
    parser.add_argument("--baseline", default=None, help="an earlier run folder to compare against")
    parser.add_argument("--run-dir", default=None, help="the run folder (default runs/<run-id>)")
    # Old names, kept for one release.
    parser.add_argument("--target", dest="host", help=argparse.SUPPRESS)
    parser.add_argument("--duration", dest="run_time", type=duration_arg("--duration"), help=argparse.SUPPRESS)
    parser.set_defaults(func=_run)
