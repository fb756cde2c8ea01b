"""Exit codes and the error base every part of the suite raises to reach the user.

The exit codes are a contract with CI scripts, so their meanings live here once, per command
too; `doorbuster --help` and each command's help print them from this table.
"""

from __future__ import annotations

__all__ = [
    "COMMAND_EXITS",
    "EXIT_BAD_INPUT",
    "EXIT_CODES",
    "EXIT_INCONCLUSIVE",
    "EXIT_INTERRUPTED",
    "EXIT_NOGO",
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_UNREACHABLE",
    "DoorbusterError",
    "command_exit_codes",
    "exit_codes_table",
]

EXIT_OK = 0
EXIT_NOGO = 1  # an SLO or an invariant was breached
EXIT_BAD_INPUT = 2  # missing or malformed input: could not evaluate
EXIT_INCONCLUSIVE = 3  # the planned load was not reached
EXIT_UNREACHABLE = 4  # the shop (or the runtime) did not answer
EXIT_REFUSED = 5  # a target the safety rules refuse (non-loopback without --allow-host)
EXIT_INTERRUPTED = 130

EXIT_CODES: dict[int, str] = {
    EXIT_OK: "GO, or the command did what it was asked",
    EXIT_NOGO: "NO-GO: an SLO or an invariant breached, or an experiment failed",
    EXIT_BAD_INPUT: "bad input (a sentence names the file, key or value), or could not evaluate",
    EXIT_INCONCLUSIVE: "INCONCLUSIVE: the planned load was not reached",
    EXIT_UNREACHABLE: "unreachable: the shop, its runtime or a store did not answer",
    EXIT_REFUSED: "refused target: a host that is not loopback and not named by --allow-host",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C or SIGTERM); faults healed, processes stopped",
}

# What each sub-command's codes mean, besides 2 and 130, which every command can end with.
# A sub-command of a group is named with its group ("chaos run"). A test fails when a
# registered command is missing here.
COMMAND_EXITS: dict[str, dict[int, str]] = {
    "gameday": {
        EXIT_OK: "GO",
        EXIT_NOGO: "NO-GO: an SLO or an invariant breached, or an experiment's hypothesis failed",
        EXIT_INCONCLUSIVE: "INCONCLUSIVE: the planned load was not reached",
        EXIT_UNREACHABLE: "the shop did not come up or does not answer",
        EXIT_REFUSED: "a --host that is not loopback and not named by --allow-host",
    },
    "up": {EXIT_OK: "the shop is up and every pod ready", EXIT_UNREACHABLE: "the shop was not ready in time"},
    "down": {EXIT_OK: "the shop is stopped (or none was running)"},
    "status": {EXIT_OK: "the status was printed", EXIT_UNREACHABLE: "no shop answers for the data folder"},
    "audit": {
        EXIT_OK: "every invariant holds",
        EXIT_NOGO: "an invariant is broken",
        EXIT_UNREACHABLE: "a store the audit must read is missing or does not answer",
    },
    "integrity": {
        EXIT_OK: "the audit command found every invariant holding",
        EXIT_NOGO: "it found an invariant broken",
    },
    "load": {
        EXIT_OK: "the run completed (failed requests are data for the report, not an error)",
        EXIT_REFUSED: "a --host that is not loopback and not named by --allow-host",
    },
    "report": {
        EXIT_OK: "GO",
        EXIT_NOGO: "NO-GO: an SLO breached, or an experiment's hypothesis failed",
        EXIT_INCONCLUSIVE: "INCONCLUSIVE: the planned load was not reached or the generator was overloaded",
    },
    "chaos run": {
        EXIT_OK: "the experiment passed, or was skipped (it does not apply to this shop)",
        EXIT_NOGO: "it failed: hypothesis missed, or an action or rollback failed",
        EXIT_UNREACHABLE: "the shop does not answer",
    },
    "chaos list": {EXIT_OK: "the experiments were listed"},
    "deploy render": {EXIT_OK: "the manifests were printed"},
}
ALWAYS = (EXIT_BAD_INPUT, EXIT_INTERRUPTED)


def command_exit_codes(command: str) -> str:
    """The exit-code section of one command's help."""
    codes = {**COMMAND_EXITS[command], **{code: EXIT_CODES[code] for code in ALWAYS}}
    return "exit codes:\n" + "\n".join(f"  {code:<4} {codes[code]}" for code in sorted(codes))


def exit_codes_table(commands: list[str]) -> str:
    """The exit-code section of `doorbuster --help`: what each code means, and which of them
    each of `commands` can end with."""
    width = max(map(len, commands), default=0)
    rows = [f"  {code:<4} {meaning}" for code, meaning in EXIT_CODES.items()]
    rows += ["", f"by command (each can also end {' or '.join(map(str, ALWAYS))}):"]
    rows += [f"  {name:<{width}}  {' '.join(map(str, sorted(COMMAND_EXITS[name])))}" for name in commands]
    return "exit codes:\n" + "\n".join(rows)


class DoorbusterError(Exception):
    """An error a user can act on: its message names the file, key or value at fault."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, *, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code
