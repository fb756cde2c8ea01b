"""`doorbuster report RUN_DIR [--slo FILE] [--baseline RUN_DIR]`: the verdict as an exit code."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from doorbuster import runfolder as rf

__all__ = ["register"]


def _run(args: argparse.Namespace) -> int:
    # Imported here so that `doorbuster --help` does not pay for pandas and matplotlib.
    from doorbuster.reports.build import build_report

    ev = build_report(args.run_dir, args.slo, args.baseline)
    print(ev.banner.headline)
    for reason in ev.reasons:
        print(f"  - {reason}")
    print(f"report: {Path(args.run_dir) / rf.REPORT_HTML}")
    return ev.exit_code


def register(subparsers: Any) -> None:
    """Add the `report` sub-command."""
    parser = subparsers.add_parser(
        "report",
        help="evaluate a run folder against the SLOs: report.html, summary.json, junit.xml",
        description=(
            "Evaluate a run folder against an SLO file and write report.html, summary.json, junit.xml "
            "and charts/ into it. Exit code: 0 GO, 1 NO-GO (an SLO breached on enough requests, a fault "
            "budget blown, an invariant broken or a chaos experiment's hypothesis failed, whatever the load), "
            "2 could not evaluate, 3 INCONCLUSIVE "
            "(nothing failed, but the run cannot vouch for a GO: load not reached, generator overloaded, "
            "data missing). Example: doorbuster report runs/20261127-120000-abc123 --slo fixtures/slo.yaml"
        ),
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="the run folder (runs/<run-id>/)")
    parser.add_argument("--slo", metavar="FILE", default=None, help="SLO file (default: fixtures/slo.yaml)")
    parser.add_argument("--baseline", metavar="RUN_DIR", default=None, help="an earlier run to compare against")
    parser.set_defaults(func=_run)
