"""What `--help` shows after the options: an example for every command and its exit codes.

The exit codes come from doorbuster/errors.py, their one home. A command module may set its
own `epilog` (more examples, a note); the example and exit codes are added after it.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from doorbuster.errors import COMMAND_EXITS, command_exit_codes, exit_codes_table

__all__ = ["EXAMPLES", "CommandParser", "add_epilogs", "commands"]

# One command line a user can copy for each command (a test parses every one of them).
EXAMPLES: dict[str, str] = {
    "gameday": "doorbuster gameday --quick",
    "up": "doorbuster up --data-dir .doorbuster --replicas gateway=2 --ttl 2h",
    "down": "doorbuster down --data-dir .doorbuster",
    "status": "doorbuster status --data-dir .doorbuster --json",
    "audit": "doorbuster audit --data-dir .doorbuster --ledger runs/RUN_ID/ledger.csv --out runs/RUN_ID/audit.json",
    "integrity": 'doorbuster integrity runs/RUN_ID --host http://127.0.0.1:8090 --audit-cmd "python my_audit.py"',
    "load": "doorbuster load --host http://127.0.0.1:8080 --shape ramp --shape-args step_s=30 --run-time 2m",
    "report": "doorbuster report runs/RUN_ID --slo fixtures/slo.yaml --baseline runs/EARLIER_RUN_ID",
    "chaos run": "doorbuster chaos run kill-catalog-pod --data-dir .doorbuster --run-dir runs/RUN_ID",
    "chaos list": "doorbuster chaos list",
    "deploy render": "doorbuster deploy render --overlay managed-stores",
}


class CommandParser(argparse.ArgumentParser):
    """Prints its epilog as written, so examples and tables keep their lines; the description
    and the options wrap as usual."""

    def format_help(self) -> str:
        epilog, self.epilog = self.epilog, None
        try:
            text = super().format_help()
        finally:
            self.epilog = epilog
        return text + (f"\n{epilog.strip()}\n" if epilog else "")


def commands(parser: argparse.ArgumentParser, prefix: str = "") -> Iterator[tuple[str, argparse.ArgumentParser]]:
    """(name, parser) of every runnable command under `parser`, a group's as "group command";
    an alias is listed once, under its first name."""
    seen: set[int] = set()
    for action in parser._actions:
        if not isinstance(action, argparse._SubParsersAction):
            continue
        for name, sub in action.choices.items():
            if id(sub) in seen:
                continue
            seen.add(id(sub))
            full = f"{prefix} {name}".strip()
            nested = list(commands(sub, full))
            yield from nested or [(full, sub)]


def add_epilogs(parser: argparse.ArgumentParser) -> None:
    """Give every command its example and exit codes, and the top level the exit-code table."""
    names = []
    for name, sub in commands(parser):
        parts = [sub.epilog or ""]
        if name in EXAMPLES:
            parts.append(f"example:\n  {EXAMPLES[name]}")
        if name in COMMAND_EXITS:
            parts.append(command_exit_codes(name))
            names.append(name)
        sub.epilog = "\n\n".join(p.strip() for p in parts if p.strip())
    parser.epilog = exit_codes_table(names)
