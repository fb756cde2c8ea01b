"""The `doorbuster` command: one entry point, one sub-command per stage.

Each stage owns its sub-commands in a module exposing `register(subparsers)`; a sub-command
sets `func(args) -> int` (the exit code). Modules are imported lazily so that `doorbuster
report` never pays for the shop, and a missing optional part does not break the rest.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from doorbuster import __version__
from doorbuster.errors import EXIT_INTERRUPTED, DoorbusterError
from doorbuster.helptext import CommandParser, add_epilogs

__all__ = ["main"]

# Modules that contribute sub-commands, in the order `--help` lists them.
COMMAND_MODULES = (
    "doorbuster.gameday",
    "doorbuster.shop",
    "doorbuster.audit",
    "doorbuster.integrity",
    "doorbuster.chaos.cli",
    "doorbuster.load.cli",
    "doorbuster.reports.cli",
    "doorbuster.deploy",
)


def build_parser() -> argparse.ArgumentParser:
    parser = CommandParser(
        prog="doorbuster",
        description="Will the shop survive Black Friday? Load, chaos, audit and an SLO verdict.",
    )
    parser.add_argument("--version", action="version", version=f"doorbuster {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=CommandParser)
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and (name == exc.name or name.startswith(exc.name + ".")):
                continue  # that part is not built yet
            raise
        module.register(subparsers)
    add_epilogs(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args))
    except DoorbusterError as exc:
        print(f"doorbuster: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("doorbuster: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
