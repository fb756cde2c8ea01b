"""`doorbuster up`, `doorbuster down`, `doorbuster status`: the shop on the local pod runtime.

The runtime (retailflow/runtime/launch.py) does the work; this module is the command line:
the options, the messages and the exit codes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from doorbuster.durations import DurationError, duration_arg, parse_duration
from doorbuster.errors import EXIT_BAD_INPUT, EXIT_UNREACHABLE, DoorbusterError
from retailflow.runtime import launch
from retailflow.runtime.errors import NotReady, NotRunning, PodRuntimeError
from retailflow.runtime.options import add_arguments, add_data_dir_argument

__all__ = ["register"]


def _user_error(exc: PodRuntimeError) -> DoorbusterError:
    unreachable = isinstance(exc, NotReady | NotRunning)
    return DoorbusterError(str(exc), exit_code=EXIT_UNREACHABLE if unreachable else EXIT_BAD_INPUT)


def register(subparsers: Any) -> None:
    up = subparsers.add_parser(
        "up",
        help="start the RetailFlow shop on the local pod runtime",
        description="Start every RetailFlow service as replica processes on loopback, wait until all are "
        "ready and print the storefront URL.",
    )
    add_arguments(up, data_dir_required=False)
    up.add_argument(
        "--timeout", type=duration_arg("--timeout"), default=120.0,
        help="how long to wait for every pod to be ready (default 120s)",
    )  # fmt: skip
    up.add_argument("--foreground", action="store_true", help="run the supervisor in this process until Ctrl-C")
    up.set_defaults(func=cmd_up)

    down = subparsers.add_parser("down", help="stop the shop and wait until its processes are gone")
    add_data_dir_argument(down, required=False)
    down.add_argument(
        "--timeout", type=duration_arg("--timeout"), default=30.0,
        help="how long to wait for the processes to exit (default 30s)",
    )  # fmt: skip
    down.set_defaults(func=cmd_down)

    status = subparsers.add_parser("status", help="services, pods and links of the running shop")
    add_data_dir_argument(status, required=False)
    status.add_argument("--json", action="store_true", help="print the control API's /status as JSON")
    status.set_defaults(func=cmd_status)


def cmd_up(args: argparse.Namespace) -> int:
    """Start the shop (detached unless --foreground) and print its storefront URL once ready."""
    try:
        # The suite's one duration grammar; the runtime is handed plain seconds.
        args.ttl = str(parse_duration(args.ttl, what="--ttl"))
    except DurationError as exc:
        raise DoorbusterError(str(exc), exit_code=EXIT_BAD_INPUT) from None
    try:
        options = launch.checked_options(args)
        if args.foreground:
            return launch.up_foreground(options)
        started = time.time()
        state = launch.up(args, options, args.timeout)
    except PodRuntimeError as exc:
        raise _user_error(exc) from exc
    print(
        f"RetailFlow is up: {len(state.get('pods', []))} pods ready in {time.time() - started:.1f} s; "
        f"data in {options.data_dir}; stop it with `doorbuster down --data-dir {options.data_dir}`",
        file=sys.stderr,
    )
    print(state.get("storefront_url") or state["control_url"])
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    """Stop the shop of the data folder and wait until its processes are gone."""
    print(launch.down(launch.data_dir_of(args.data_dir), args.timeout), file=sys.stderr)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    """Print the running shop's services, pods and links (`--json`: the control API's /status)."""
    from retailflow.runtime.client import RuntimeClient

    try:
        status = RuntimeClient(launch.data_dir_of(args.data_dir)).status()
    except PodRuntimeError as exc:
        raise _user_error(exc) from exc
    print(json.dumps(status, indent=2) if args.json else launch.format_status(status))
    return 0
