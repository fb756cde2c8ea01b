"""A game day for a shop that is not RetailFlow: how it is told apart, what it may run, and what
it says it did not measure.

A shop of your own is one named with --host that brings its own journeys (--locustfile) or its
own audit (--audit-cmd), without --data-dir (the folder of a RetailFlow shop, whose control API
the local chaos platform and `doorbuster audit` need). For such a shop:

- the chaos schedule needs a platform that reaches it (--platform kubernetes --namespace NS
  [--selectors FILE]); without one the game day is refused before anything starts, unless
  --no-chaos asks for the load alone;
- integrity is its audit command's verdict; without --audit-cmd it is "not measured", never a pass;
- the parts not run are written to not_measured.json with the reason, which the report shows in
  report.html, summary.json and junit.xml.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from doorbuster.errors import DoorbusterError
from doorbuster.gameday.errors import GamedayError
from doorbuster.gameday.preflight import experiment_path
from doorbuster.gameday.profile import GamedayProfile, IntegrityStop
from doorbuster.gameday.schedule import LoadTimeline
from doorbuster.runfolder import NOT_MEASURED

__all__ = ["NO_PLATFORM", "check_chaos_platform", "is_own_shop", "not_measured", "write_not_measured"]

NO_PLATFORM = "no chaos platform (--platform) for a shop that is not the embedded one"


def is_own_shop(args: argparse.Namespace) -> bool:
    """--host with --locustfile or --audit-cmd and no --data-dir: a shop that is not RetailFlow."""
    return bool(args.host and not args.data_dir and (args.locustfile or args.audit_cmd))


def _experiments(profile: GamedayProfile) -> str:
    return ", ".join(Path(e.experiment).stem for e in profile.chaos)


def check_chaos_platform(args: argparse.Namespace, profile: GamedayProfile, timeline: LoadTimeline) -> list[str]:
    """The chaos options checked against the shop and the schedule; the `doorbuster chaos run`
    arguments every experiment of the schedule gets. GamedayError (exit 2) when a part that was
    asked for cannot run."""
    from doorbuster.chaos.cli import check_kubernetes_options, platform_vars
    from doorbuster.chaos.runner import ExperimentError, read_experiment

    own = is_own_shop(args)
    try:
        check_kubernetes_options(args, args.platform)
    except DoorbusterError as exc:
        raise GamedayError(str(exc)) from None
    if args.platform == "kubernetes" and not args.host:
        raise GamedayError(
            "--platform kubernetes acts on a shop already up on your cluster: name it with --host URL "
            "(without --host the game day starts the embedded shop, whose platform is local)"
        )
    if args.platform == "kubernetes" and not args.namespace:
        raise GamedayError("--platform kubernetes needs --namespace NS (the namespace your shop runs in, labelled "
                           "doorbuster.io/chaos=allowed)")  # fmt: skip
    if own and args.platform == "local":
        raise GamedayError("--platform local is the embedded RetailFlow shop's; a shop of your own takes "
                           "--platform kubernetes --namespace NS")  # fmt: skip
    if own and timeline.experiments and not args.platform:
        raise GamedayError(
            f"{profile.source}: its chaos schedule ({_experiments(profile)}) needs a chaos platform, and --host "
            f"{args.host} is a shop of your own: pass --platform kubernetes --namespace NS, or --no-chaos to run "
            "the load alone"
        )
    if own and any(isinstance(c, IntegrityStop) for c in profile.stop_conditions):
        raise GamedayError(f"{profile.source}: the integrity stop condition probes RetailFlow's stores, which a shop "
                           "of your own does not have: run a game day without it")  # fmt: skip
    if not (timeline.experiments or args.platform or args.namespace or args.selectors):
        return []
    documents = {}
    for s in timeline.experiments:
        path = experiment_path(s.entry.experiment)
        try:
            documents[Path(s.entry.experiment).stem] = read_experiment(path) if path else {}
        except ExperimentError as exc:
            raise GamedayError(str(exc)) from None
    try:
        variables = platform_vars(args, documents)
    except DoorbusterError as exc:
        raise GamedayError(str(exc)) from None
    argv = []
    for key, value in variables.items():
        argv += ["--var", f"{key}={value}"]
    return argv


def not_measured(args: argparse.Namespace, profile: GamedayProfile) -> dict[str, str]:
    """The parts this game day will not measure, by result kind, with the reason the report gives."""
    reasons: dict[str, str] = {}
    if not args.audit_cmd and args.host and not args.data_dir:
        reasons["integrity"] = "no --audit-cmd given" if is_own_shop(args) else "no --data-dir or --audit-cmd given"
    if args.no_chaos and profile.chaos:
        why = NO_PLATFORM if is_own_shop(args) and not args.platform else "--no-chaos given"
        reasons["fault"] = f"the game day's chaos schedule ({_experiments(profile)}) was not run: {why}"
    return reasons


def write_not_measured(run_dir: Path, reasons: dict[str, str]) -> None:
    path = run_dir / NOT_MEASURED
    if reasons:
        path.write_text(json.dumps(reasons, indent=2) + "\n", encoding="utf-8")
    else:
        path.unlink(missing_ok=True)
