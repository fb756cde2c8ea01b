"""Our command-line options on Locust's parser (they travel to workers with each spawn)."""

from __future__ import annotations

import os
from typing import Any

from locust import events

from doorbuster.load.plans import PLANS
from doorbuster.runfolder import RUN_DIR_ENV

__all__ = ["ALLOW_ENV", "FAIL_GRACE_ENV", "allowed_hosts", "open_model"]

ALLOW_ENV = "DOORBUSTER_ALLOW_HOSTS"
FAIL_GRACE_ENV = "DOORBUSTER_FAIL_GRACE"


@events.init_command_line_parser.add_listener
def _add_arguments(parser: Any) -> None:
    parser.add_argument(
        "--shape",
        default=os.environ.get("DOORBUSTER_SHAPE") or None,
        choices=sorted(PLANS),
        help="traffic shape planning the request rate (open model); without it, users and spawn rate "
        "come from -u/-r or the web UI form (closed model, latency not corrected)",
        include_in_web_ui=False,
    )
    parser.add_argument(
        "--shape-args",
        default="",
        help="shape arguments, e.g. hold=30,ramp=5,steps=1/5/10 (`doorbuster load --help` lists them)",
        include_in_web_ui=False,
    )
    parser.add_argument(
        "--traffic-profile",
        default=os.environ.get("DOORBUSTER_PROFILE", "default"),
        help="traffic profile: a name in fixtures/profiles/ or a YAML path (default: default)",
        include_in_web_ui=False,
    )
    parser.add_argument(
        "--run-dir",
        default=os.environ.get(RUN_DIR_ENV, ""),
        help=f"run folder to record into (default: ${RUN_DIR_ENV} or a new runs/<run-id>/)",
        include_in_web_ui=False,
    )
    parser.add_argument(
        "--allow-host",
        default=os.environ.get(ALLOW_ENV, ""),
        help="comma-separated non-loopback hosts load may be sent to (default: loopback only)",
        include_in_web_ui=False,
    )
    parser.add_argument(
        "--fail-grace",
        default=os.environ.get(FAIL_GRACE_ENV, "10s"),
        help="abort (exit 4) when no request has succeeded this long after the start (default: 10s)",
        include_in_web_ui=False,
    )


def open_model(opts: Any) -> bool:
    """--shape (or --shape-args) plans the rate; without, users come from -u or the web UI form."""
    return bool(getattr(opts, "shape", None) or getattr(opts, "shape_args", ""))


def allowed_hosts(opts: Any) -> list[str]:
    return [h for h in str(getattr(opts, "allow_host", "") or "").split(",") if h.strip()]
