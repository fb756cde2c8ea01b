"""`doorbuster chaos run EXPERIMENT` and `doorbuster chaos list`."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from doorbuster.durations import duration_arg
from doorbuster.errors import (
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    EXIT_NOGO,
    EXIT_OK,
    EXIT_UNREACHABLE,
    DoorbusterError,
)
from doorbuster.runfolder import RUN_DIR_ENV, new_run_dir

__all__ = ["register"]

EXIT_BY_VERDICT = {"passed": EXIT_OK, "skipped": EXIT_OK, "failed": EXIT_NOGO, "interrupted": EXIT_INTERRUPTED}


def register(subparsers: Any) -> None:
    chaos = subparsers.add_parser(
        "chaos",
        help="run a chaos experiment against the shop and judge it from its journal",
        description="Chaos Toolkit experiments (chaos/experiments/) against the shop under test.",
    )
    commands = chaos.add_subparsers(dest="chaos_command", metavar="COMMAND")
    run = commands.add_parser(
        "run",
        help="run one experiment and judge it from its journal",
        description="Run one experiment with Chaos Toolkit, write RUN/chaos/<name>.journal.json and "
        "<name>.verdict.json, and judge it from the journal: exit 0 passed (or skipped: the experiment does "
        "not apply to this shop), 1 failed (a missed check, a failed action or rollback), 2 bad input, "
        "4 shop unreachable, 130 interrupted (every fault healed first).",
    )
    run.add_argument(
        "experiment", help="a file, or the name of one in chaos/experiments/ (see `doorbuster chaos list`)"
    )
    run.add_argument(
        "--data-dir", default=None, help="the local shop's folder (default: $DOORBUSTER_DATA_DIR or ./.doorbuster)"
    )
    run.add_argument(
        "--run-dir", default=None, help=f"the run folder to write into (default: ${RUN_DIR_ENV} or a new runs/<id>)"
    )
    run.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a configuration key of the experiment, repeatable (e.g. fault_s=5, platform=kubernetes)",
    )
    run.add_argument(
        "--run-time", type=duration_arg("--run-time"), default=None, help="interrupt the run after this long (e.g. 5m)"
    )
    run.set_defaults(func=cmd_run)
    listing = commands.add_parser("list", help="list the experiments in chaos/experiments/")
    listing.set_defaults(func=cmd_list)
    chaos.set_defaults(func=lambda args: (chaos.print_help(), EXIT_BAD_INPUT)[1])


def cmd_list(args: argparse.Namespace) -> int:
    from chaos.runner import ExperimentError, list_experiments, read_experiment

    for path in list_experiments():
        try:
            title = read_experiment(path).get("title", "")
        except ExperimentError as exc:
            title = f"(unreadable: {exc})"
        print(f"{path.stem:32} {title}")
    return EXIT_OK


def _base_key(key: str) -> str:
    return key.partition(":")[0]


def _platform_configuration(experiment: dict[str, Any], variables: dict[str, str], data_dir: Path) -> dict[str, Any]:
    """The keys the platform needs, as the experiment and `--var` set them."""
    # Chaos Toolkit's dynamic values ({"type": "env", ...}) are chaoslib's to resolve; any other
    # mapping (a `selectors` table, say) is the platform's own setting and must reach the heal.
    config: dict[str, Any] = {
        k: v
        for k, v in (experiment.get("configuration") or {}).items()
        if not (isinstance(v, dict) and v.get("type") in {"env", "probe"})
    }
    config.update({_base_key(k): v for k, v in variables.items()})
    config["data_dir"] = str(data_dir)
    return config


def cmd_run(args: argparse.Namespace) -> int:
    """Run one experiment and judge it from its journal."""
    from chaos.platforms import platform_for
    from chaos.runner import ExperimentError, RunRequest, find_experiment, parse_vars, read_experiment, run_experiment

    try:
        path = find_experiment(args.experiment)
        experiment = read_experiment(path)
        variables = parse_vars(args.var)
    except ExperimentError as exc:
        raise DoorbusterError(str(exc), exit_code=EXIT_BAD_INPUT) from None
    data_dir = Path(args.data_dir or os.environ.get("DOORBUSTER_DATA_DIR") or ".doorbuster").resolve()
    run_dir = Path(args.run_dir or os.environ.get(RUN_DIR_ENV) or new_run_dir())
    run_dir.mkdir(parents=True, exist_ok=True)
    config = _platform_configuration(experiment, variables, data_dir)
    _check_reachable(config)
    variables = {"data_dir": str(data_dir), "run_dir": str(run_dir.resolve()), **variables}

    def heal() -> list[str]:
        try:
            return platform_for(config).heal_everything()
        except Exception as exc:  # the report says so; the runtime's expiry still heals
            return [f"could not heal every fault: {exc}"]

    request = RunRequest(path, run_dir, variables, timeout_s=args.run_time)
    print(f"doorbuster: chaos {path.stem} → {request.journal}", flush=True)
    verdict = run_experiment(request, heal)
    print(f"doorbuster: chaos {path.stem}: {verdict.verdict.upper()}")
    for reason in verdict.reasons:
        print(f"  - {reason}")
    for line in verdict.healed_after:
        print(f"  healed: {line}")
    return EXIT_BY_VERDICT.get(verdict.verdict, EXIT_NOGO)


def _check_reachable(config: dict[str, Any]) -> None:
    if str(config.get("platform") or "local") != "local":
        return
    from retailflow.runtime.client import RuntimeClient
    from retailflow.runtime.errors import PodRuntimeError

    target = str(config.get("control_url") or "") or str(config["data_dir"])
    try:
        RuntimeClient(target, timeout_s=5).status()
    except PodRuntimeError as exc:
        raise DoorbusterError(f"the shop is unreachable: {exc}", exit_code=EXIT_UNREACHABLE) from None
