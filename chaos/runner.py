"""Run one experiment with Chaos Toolkit in a process of its own, heal on interrupt, judge the journal.

Chaos Toolkit runs as `chaos run` in a child process (its own process group): chaoslib and
gevent (Locust) cannot share a process, and a child can be interrupted and, if it will not
stop, killed without taking this process along. Whatever happens to the child, faults end
healed: the experiment's rollbacks (strategy `always`), then this runner's
`heal_everything` after an interrupt or a child that died, then the runtime's dead-man switch.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

import yaml

from doorbuster.experiment_verdict import INTERRUPTED, Verdict, judge
from doorbuster.runfolder import CHAOS_DIR, CHAOS_JOURNAL, CHAOS_LOG, CHAOS_VERDICT

__all__ = ["EXPERIMENTS_DIR", "ExperimentError", "RunRequest", "find_experiment", "list_experiments", "run_experiment"]

EXPERIMENTS_DIR = Path(__file__).parent / "experiments"
SUFFIXES = (".yaml", ".yml", ".json")
STOP_GRACE_S = 60.0  # rollbacks run after the interrupt; a background activity may hold the exit


class ExperimentError(Exception):
    """An experiment that cannot be found or read; the message names it."""


@dataclass
class RunRequest:
    experiment: Path
    run_dir: Path
    variables: dict[str, str] = field(default_factory=dict)
    timeout_s: float | None = None  # the whole run; then it is interrupted like a Ctrl-C

    @property
    def stem(self) -> str:
        return self.experiment.stem

    @property
    def journal(self) -> Path:
        return self.run_dir / CHAOS_DIR / CHAOS_JOURNAL.format(name=self.stem)

    @property
    def log(self) -> Path:
        return self.run_dir / CHAOS_DIR / CHAOS_LOG.format(name=self.stem)

    @property
    def verdict_file(self) -> Path:
        return self.run_dir / CHAOS_DIR / CHAOS_VERDICT.format(name=self.stem)


def list_experiments() -> list[Path]:
    return sorted(p for p in EXPERIMENTS_DIR.iterdir() if p.suffix in SUFFIXES)


def find_experiment(name: str) -> Path:
    """A path to an experiment file, or the stem of one in chaos/experiments/."""
    path = Path(name)
    if path.is_file():
        return path.resolve()
    for suffix in SUFFIXES:
        candidate = EXPERIMENTS_DIR / f"{name}{suffix}"
        if candidate.is_file():
            return candidate
    known = ", ".join(p.stem for p in list_experiments())
    raise ExperimentError(f"unknown experiment {name!r}: not a file, nor one of {known}")


def read_experiment(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
        doc = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise ExperimentError(f"{path}: not a readable experiment: {exc}") from None
    if not isinstance(doc, dict) or "method" not in doc:
        raise ExperimentError(f"{path}: not a Chaos Toolkit experiment (no 'method')")
    return doc


def _chaos_argv(request: RunRequest) -> list[str]:
    # --no-version-check: Chaos Toolkit otherwise asks a server on the internet for its latest
    # release before every run (up to 2 s to connect); a game day sends nothing off the machine.
    argv = [sys.executable, "-m", "chaostoolkit", "--no-version-check", "--log-file", str(request.log), "run"]
    argv += ["--journal-path", str(request.journal)]
    for key, value in request.variables.items():
        argv += ["--var", f"{key}={value}"]
    return [*argv, str(request.experiment)]


class _Interrupts:
    """SIGINT/SIGTERM to this process: forwarded once to the child as SIGTERM, remembered."""

    def __init__(self, child: subprocess.Popen[bytes]) -> None:
        self.child = child
        self.received: str | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> _Interrupts:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.received is None:
            self.received = signal.Signals(signum).name
            self.stop_child()

    def stop_child(self) -> None:
        # SIGTERM: chaoslib interrupts the run and plays the rollbacks (our activities make sure
        # a SIGTERM inside a Python activity stops the run instead of failing one activity).
        if self.child.poll() is None:
            try:
                os.killpg(self.child.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass


def _wait(child: subprocess.Popen[bytes], interrupts: _Interrupts, timeout_s: float | None) -> None:
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    stop_by: float | None = None
    while child.poll() is None:
        now = time.monotonic()
        if interrupts.received is None and deadline is not None and now >= deadline:
            interrupts.received = f"the run time of {timeout_s:g} s"
            interrupts.stop_child()
        if interrupts.received is not None and stop_by is None:
            stop_by = now + STOP_GRACE_S
        if stop_by is not None and now >= stop_by:
            try:
                os.killpg(child.pid, signal.SIGKILL)  # would not stop: the heal below and the expiry cover it
            except ProcessLookupError:
                pass
        try:
            child.wait(timeout=0.2)
        except subprocess.TimeoutExpired:
            pass


def run_experiment(request: RunRequest, heal: Any) -> Verdict:
    """Run the experiment; `heal()` -> list[str] undoes every fault after an interrupt or a crash."""
    request.journal.parent.mkdir(parents=True, exist_ok=True)
    request.journal.unlink(missing_ok=True)
    child = subprocess.Popen(_chaos_argv(request), stdin=subprocess.DEVNULL, start_new_session=True)
    with _Interrupts(child) as interrupts:
        _wait(child, interrupts, request.timeout_s)
        journal = _read_journal(request.journal)
        crashed = child.returncode is not None and child.returncode < 0  # killed by a signal
        healed: list[str] = []
        if interrupts.received or crashed or journal is None or journal.get("status") == "interrupted":
            healed = heal()
    if journal is None:
        verdict = Verdict(request.stem, request.stem, "failed" if not interrupts.received else INTERRUPTED)
        verdict.reasons.append(f"Chaos Toolkit wrote no journal (exit {child.returncode}); see {request.log}")
    else:
        verdict = judge(journal, request.stem)
    if interrupts.received:
        verdict.verdict = INTERRUPTED
        verdict.reasons.insert(0, f"interrupted by {interrupts.received}")
    elif crashed and verdict.verdict == "passed":
        verdict.verdict = "failed"
        verdict.reasons.append(f"Chaos Toolkit was killed by signal {-child.returncode}")
    verdict.healed_after = healed
    request.verdict_file.write_text(json.dumps(verdict.as_dict(), indent=2) + "\n", encoding="utf-8")
    return verdict


def _read_journal(path: Path) -> dict[str, Any] | None:
    try:
        journal = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return journal if isinstance(journal, dict) else None


def parse_vars(items: Sequence[str]) -> dict[str, str]:
    """`key=value` (or Chaos Toolkit's `key:type=value`) into a mapping; the order kept."""
    variables: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ExperimentError(f"--var {item!r} must look like key=value, e.g. fault_s=5")
        variables[key.strip()] = value
    return variables
