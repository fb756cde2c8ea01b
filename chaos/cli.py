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
    add_platform_options(run)
    run.set_defaults(func=cmd_run)
    listing = commands.add_parser("list", help="list the experiments in chaos/experiments/")
    listing.set_defaults(func=cmd_list)
    chaos.set_defaults(func=lambda args: (chaos.print_help(), EXIT_BAD_INPUT)[1])


def add_platform_options(parser: argparse.ArgumentParser) -> None:
    """--platform, --namespace and --selectors: where the faults go (also `doorbuster gameday`'s)."""
    parser.add_argument(
        "--platform",
        choices=("local", "kubernetes"),
        default=None,
        help="the platform the faults act on (default: the experiment's, local: the embedded shop)",
    )
    parser.add_argument(
        "--namespace", default=None, help="kubernetes: the shop's namespace (labelled doorbuster.io/chaos=allowed)"
    )
    parser.add_argument("--selectors", default=None, metavar="FILE",
                        help="kubernetes: a YAML mapping of service: label selector, for a shop whose pods do not "
                        "carry RetailFlow's labels; every service the experiment acts on must be in it")  # fmt: skip


def check_kubernetes_options(args: argparse.Namespace, platform: str | None) -> None:
    """--namespace and --selectors only go with the Kubernetes platform."""
    if (args.namespace or args.selectors) and platform != "kubernetes":
        option = "--namespace" if args.namespace else "--selectors"
        raise DoorbusterError(f"{option} is a Kubernetes setting: add --platform kubernetes", exit_code=EXIT_BAD_INPUT)


def platform_vars(
    args: argparse.Namespace, experiments: dict[str, dict[str, Any]], given: dict[str, str] | None = None
) -> dict[str, str]:
    """--platform/--namespace/--selectors as `--var`s over `given` (the --var ones), the selector
    mapping checked against every experiment (`name -> document`) before anything starts; a
    DoorbusterError (exit 2) naming what is wrong otherwise."""
    import json

    from doorbuster.chaos.selectors import SelectorError, check_selectors, read_selectors

    variables = dict(given or {})
    if args.platform:
        variables["platform"] = args.platform
    check_kubernetes_options(args, variables.get("platform"))
    if args.namespace:
        variables["namespace"] = args.namespace
    source = args.selectors or "--var selectors"
    try:
        if args.selectors:
            variables["selectors"] = json.dumps(read_selectors(args.selectors))
        if variables.get("platform") == "kubernetes" and variables.get("selectors"):
            selectors = json.loads(variables["selectors"])
            if not isinstance(selectors, dict):
                raise SelectorError(f"{source}: expected a JSON object of service: label selector")
            for name, experiment in experiments.items():
                check_selectors(experiment, selectors, name, source)
    except json.JSONDecodeError as exc:
        raise DoorbusterError(f"{source}: not a JSON object ({exc.msg})", exit_code=EXIT_BAD_INPUT) from None
    except SelectorError as exc:
        raise DoorbusterError(str(exc), exit_code=EXIT_BAD_INPUT) from None
    return variables


def cmd_list(args: argparse.Namespace) -> int:
    from doorbuster.chaos.runner import ExperimentError, list_experiments, read_experiment

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
    from doorbuster.chaos.platforms import platform_for
    from doorbuster.chaos.runner import (
        ExperimentError,
        RunRequest,
        find_experiment,
        parse_vars,
        read_experiment,
        run_experiment,
    )

    try:
        path = find_experiment(args.experiment)
        experiment = read_experiment(path)
        variables = parse_vars(args.var)
    except ExperimentError as exc:
        raise DoorbusterError(str(exc), exit_code=EXIT_BAD_INPUT) from None
    variables = platform_vars(args, {path.stem: experiment}, variables)
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

    request = RunRequest(_declaring(path, experiment, variables, run_dir), run_dir, variables, timeout_s=args.run_time)
    print(f"doorbuster: chaos {path.stem} → {request.journal}", flush=True)
    verdict = run_experiment(request, heal)
    print(f"doorbuster: chaos {path.stem}: {verdict.verdict.upper()}")
    for reason in verdict.reasons:
        print(f"  - {reason}")
    for line in verdict.healed_after:
        print(f"  healed: {line}")
    return EXIT_BY_VERDICT.get(verdict.verdict, EXIT_NOGO)


def _declaring(path: Path, experiment: dict[str, Any], variables: dict[str, str], run_dir: Path) -> Path:
    """The experiment file Chaos Toolkit runs. Its `--var` only overrides a key the experiment's
    configuration declares and drops any other without a word, so a setting the file does not
    declare (`selectors` for another shop, say) is declared in a copy in the run folder's chaos/
    (same name: the journal's name is the file's)."""
    import json

    from doorbuster.runfolder import CHAOS_DIR

    declared = experiment.get("configuration") or {}
    undeclared = [_base_key(key) for key in variables if _base_key(key) not in declared]
    if not undeclared:
        return path
    copy = {**experiment, "configuration": {**declared, **dict.fromkeys(undeclared, "")}}
    target = run_dir / CHAOS_DIR / path.name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(copy, indent=2) + "\n", encoding="utf-8")  # JSON is YAML too
    return target


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
