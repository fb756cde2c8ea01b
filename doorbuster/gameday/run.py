"""One game day, shop up to verdict, bounded in time:

    shop up (unless --host/--data-dir) → load ∥ chaos schedule ∥ stop conditions → audit → shop down → report

The audit is RetailFlow's (`doorbuster audit`) or, with --audit-cmd, the shop's own command run
as `doorbuster integrity`; the parts not run are in not_measured.json for the report (ownshop.py).

Locust and every experiment are separate processes (gevent and chaoslib do not share one),
each in its own process group, stopped by PID; they meet only in the run folder. Whatever
happens (a stop condition, Ctrl-C, SIGTERM, a stage that dies) the experiments in flight are
stopped with SIGTERM, which makes `doorbuster chaos run` roll their faults back, the shop is
taken down, and the report is written from what was measured.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

from doorbuster.errors import EXIT_INTERRUPTED, EXIT_UNREACHABLE
from doorbuster.experiment_verdict import outcome, read_verdict
from doorbuster.gameday.feed import LiveFeed
from doorbuster.gameday.ownshop import write_not_measured
from doorbuster.gameday.preflight import Target
from doorbuster.gameday.profile import GamedayProfile, IntegrityStop
from doorbuster.gameday.progress import PlainProgress, ProgressView, RichProgress
from doorbuster.gameday.schedule import LoadTimeline, ScheduledExperiment
from doorbuster.gameday.stops import (
    IntegrityProbe,
    StopRecord,
    StopWatch,
    interrupted_record,
    write_stop_record,
)
from doorbuster.processes import stop_group
from doorbuster.runfolder import AUDIT, CHAOS_DIR, CHAOS_VERDICT, LEDGER, LOGS_DIR, SHOP_DIR

__all__ = ["GamedayRun", "run_gameday"]

TICK_S = 0.5
LOAD_STARTUP_S = 90.0  # Locust's start and, at the end, writing its files
HEAL_GRACE_S = 60.0  # an experiment's rollbacks after SIGTERM
UP_TIMEOUT_S = 300.0
AUDIT_TIMEOUT_S = 300.0
REPORT_TIMEOUT_S = 600.0


class Interrupted(Exception):
    def __init__(self, signal_name: str) -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name


@dataclass
class GamedayRun:
    """Everything the run needs, validated before the shop starts."""

    profile: GamedayProfile
    timeline: LoadTimeline
    run_dir: Path
    target: Target | None  # None: start the embedded shop
    traffic_profile: str
    allow_host: list[str] = field(default_factory=list)
    port: int = 0
    products: int = 10_000
    slo: str | None = None
    baseline: str | None = None
    chaos: bool = True
    locustfile: str | None = None  # the user's journeys; None: RetailFlow's
    audit_cmd: str | None = None  # the shop's own audit command; None: RetailFlow's audit, given --data-dir
    chaos_argv: list[str] = field(default_factory=list)  # --var platform=... for every experiment
    not_measured: dict[str, str] = field(default_factory=dict)  # result kind -> why it is not measured
    progress: PlainProgress | RichProgress | None = None


@dataclass
class Running:
    scheduled: ScheduledExperiment
    proc: subprocess.Popen[bytes]
    started: float


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "doorbuster.cli", *args]


def _spawn(argv: list[str], log: Path) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        return subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _tail(path: Path, lines: int = 12) -> str:
    try:
        text = path.read_text(errors="replace").splitlines()[-lines:]
    except OSError:
        return "    (no output)"
    return "\n".join(f"    {line}" for line in text) or "    (no output)"


@contextmanager
def _signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise Interrupted once; later ones only say the clean-up is under way
    (a second Ctrl-C must not abandon a partition half-healed)."""
    fired: list[str] = []

    def handler(signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if fired:
            print(f"doorbuster: {name} again: still healing faults and taking the shop down", file=sys.stderr)
            return
        fired.append(name)
        raise Interrupted(name)

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


class _Game:
    def __init__(self, run: GamedayRun) -> None:
        self.run = run
        self.run_dir = run.run_dir
        self.logs = run.run_dir / LOGS_DIR
        self.progress = run.progress or PlainProgress()
        self.shop_dir = run.target.data_dir if run.target else run.run_dir / SHOP_DIR
        self.own_shop = run.target is None
        self.url = run.target.url if run.target else ""
        self.pending = list(run.timeline.experiments) if run.chaos else []
        self.running: dict[str, Running] = {}
        self.finished: list[str] = []
        self.probes: dict[str, IntegrityProbe] = {}
        self.stop: StopRecord | None = None
        self.t0: float | None = None
        self.load: subprocess.Popen[bytes] | None = None
        self._load_reported = False
        self.stopped: set[str] = set()  # ended by a stop condition or a signal (rolled back)
        self.timed_out: set[str] = set()  # ended because they ran past their own timeout
        self.cancelled: list[str] = []

    def say(self, text: str) -> None:
        self.progress.event(text)

    # -- stages run to completion ---------------------------------------------------------------

    def stage(self, name: str, argv: list[str], timeout: float, *, show_failure: bool = True) -> int:
        log = self.logs / f"{name.replace(' ', '-')}.log"
        self.say(f"{name}: {' '.join(argv[3:])}")
        proc = _spawn(argv, log)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.say(f"{name} ran past its bound of {timeout:.0f}s; stopping it")
            stop_group(proc, grace=15)
            return EXIT_INTERRUPTED
        except BaseException:
            stop_group(proc, grace=15)
            raise
        if rc != 0 and show_failure:
            self.say(f"{name} exited {rc}; last lines of {log}:\n{_tail(log)}")
        return rc

    def shop_up(self) -> bool:
        ttl = self.run.timeline.duration_s + 1800  # the shop stops by itself even if everything above dies
        rc = self.stage(
            "shop up",
            _cli(
                "up",
                "--data-dir",
                str(self.shop_dir),
                "--port",
                str(self.run.port),
                "--ttl",
                f"{ttl:.0f}s",
                "--products",
                str(self.run.products),
                "--timeout",
                f"{UP_TIMEOUT_S:.0f}",
            ),
            timeout=UP_TIMEOUT_S + 30,
        )
        if rc != 0:
            return False
        state = json.loads((self.shop_dir / "runtime.json").read_text())
        self.url = str(state["storefront_url"]).rstrip("/")
        self.say(f"shop up at {self.url}; watch it with `doorbuster status --data-dir {self.shop_dir}`")
        return True

    # -- the load with its schedule -------------------------------------------------------------

    def load_argv(self) -> list[str]:
        profile = self.run.profile
        argv = [
            "load",
            "--host",
            self.url,
            "--run-dir",
            str(self.run_dir),
            "--profile",
            self.run.traffic_profile,
            "--shape",
            profile.shape,
            "--run-time",
            f"{self.run.timeline.duration_s:g}s",
        ]
        if profile.shape_args:
            argv += ["--shape-args", profile.shape_args_text]
        if self.run.locustfile:
            argv += ["--locustfile", self.run.locustfile]
        for host in self.run.allow_host:
            argv += ["--allow-host", host]
        return _cli(*argv)

    def launch(self, s: ScheduledExperiment) -> None:
        argv = ["chaos", "run", s.entry.experiment, "--run-dir", str(self.run_dir), *self.run.chaos_argv]
        if self.shop_dir is not None:
            argv += ["--data-dir", str(self.shop_dir)]
        elif self.url:
            argv += ["--var", f"storefront_url={self.url}"]  # a platform's default is the in-cluster name
        for key, value in s.entry.vars.items():
            argv += ["--var", f"{key}={str(value).lower() if isinstance(value, bool) else value}"]
        # chaos/<stem>.log is Chaos Toolkit's own log; the runner's output goes beside the stages'.
        log = self.logs / f"chaos-{Path(s.entry.experiment).stem}.log"
        self.running[s.label] = Running(s, _spawn(_cli(*argv), log), time.time())
        self.say(f"fault {s.label} started at +{self.elapsed():.0f}s (scheduled {s.entry.when})")

    def elapsed(self) -> float:
        return 0.0 if self.t0 is None else time.time() - self.t0

    def reap(self) -> None:
        for label, r in list(self.running.items()):
            rc = r.proc.poll()
            if rc is None:
                if time.time() - r.started > r.scheduled.entry.timeout:
                    self.say(f"fault {label} ran past its timeout of {r.scheduled.entry.timeout:g}s; stopping it")
                    self.timed_out.add(label)
                    self.end_experiments([r])  # it has exited when this returns
                    rc = r.proc.poll()
                if rc is None:
                    continue
            del self.running[label]
            self.finished.append(label)
            # What the experiment's verdict.json says, never its exit code (a skip exits 0 too).
            stem = Path(r.scheduled.entry.experiment).stem
            try:
                judged = read_verdict(self.run_dir / CHAOS_DIR / CHAOS_VERDICT.format(name=stem))
                said = outcome(judged) if judged else f"exit {rc}, no verdict: see {self.run_dir / CHAOS_DIR}"
            except ValueError as exc:
                said = str(exc)
            self.say(f"fault {label} ended at +{self.elapsed():.0f}s ({said})")

    def end_experiments(self, runs: list[Running]) -> None:
        """SIGTERM to every one at once (the chaos runner rolls its fault back before it exits, and
        their rollbacks run side by side), then wait for each."""
        for r in runs:
            with contextlib.suppress(ProcessLookupError):
                if r.proc.poll() is None:
                    os.killpg(r.proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + HEAL_GRACE_S
        for r in runs:
            try:
                r.proc.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                # Past the grace, SIGKILL; the runtime's dead-man switch then heals the fault by itself.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(r.proc.pid, signal.SIGKILL)
                r.proc.wait()

    def view(self, snapshot: Any, margins: list[Any], note: str = "") -> ProgressView:
        active = [f"{label} ({time.time() - r.started:.0f}s)" for label, r in self.running.items()]
        nxt = ""
        if self.pending:
            s = self.pending[0]
            nxt = f"{s.label} at +{s.offset_s:.0f}s"
            if self.t0 is not None:
                nxt += f" (in {max(0.0, s.offset_s - self.elapsed()):.0f}s)"
        return ProgressView(snapshot, self.run.timeline.duration_s, active, nxt, margins, note)

    def start_probes(self) -> None:
        from retailflow.runtime.client import RuntimeClient

        for condition in self.run.profile.stop_conditions:
            if isinstance(condition, IntegrityStop) and self.shop_dir is not None:
                client = RuntimeClient(str(self.shop_dir), timeout_s=60)
                probe = IntegrityProbe(condition, lambda client=client: client.audit([], timeout_s=60))
                probe.start()
                self.probes[condition.name] = probe

    def drive_load(self) -> None:
        """Locust, the schedule and the stop conditions until the load ends or a condition fires."""
        feed = LiveFeed(self.run_dir)
        watch = StopWatch(self.run.profile.stop_conditions, feed, self.probes)
        load = _spawn(self.load_argv(), self.logs / "load.log")
        self.say(
            f"load: {self.run.profile.shape} {self.run.profile.shape_args_text} "
            f"for {self.run.timeline.duration_s:g}s on {self.url} (log: {self.logs / 'load.log'})"
        )
        deadline = time.monotonic() + self.run.timeline.duration_s + LOAD_STARTUP_S
        self.load = load
        try:
            while True:
                now = time.time()
                snapshot = feed.poll(now)
                if self.t0 is None and snapshot.t0 is not None:
                    self.t0 = snapshot.t0
                    self.start_probes()
                while self.t0 is not None and self.pending and now - self.t0 >= self.pending[0].offset_s:
                    self.launch(self.pending.pop(0))
                self.reap()
                margins, fired = watch.check(now) if self.t0 is not None else ([], None)
                if fired is not None:
                    self.stop = fired
                    self.progress.update(self.view(snapshot, margins, f"STOP: {fired.condition}"), force=True)
                    self.say(f"stop condition {fired.condition!r} fired at +{fired.offset_s}s: {fired.detail}")
                    break
                if load.poll() is not None:
                    self.progress.update(
                        self.view(snapshot, margins, f"load ended (exit {load.returncode})"), force=True
                    )
                    break
                if time.monotonic() > deadline:
                    self.say("the load ran past its bound; stopping it")
                    break
                self.progress.update(self.view(snapshot, margins))
                time.sleep(TICK_S)
        except BaseException:
            self.abort()
            raise
        if self.stop is not None:
            self.abort()
        else:
            self.stop_load()
            self.settle_experiments(feed)

    def stop_load(self) -> None:
        if self.load is None:
            return
        stop_group(self.load, grace=30)
        rc = self.load.returncode
        if rc not in (0, 1, EXIT_INTERRUPTED, -signal.SIGINT) and not self._load_reported:
            self._load_reported = True
            self.say(f"the load stage ended with exit {rc}; last lines:\n{_tail(self.logs / 'load.log')}")

    def abort(self) -> None:
        """Faults first (rolled back), then the load; safe to call more than once."""
        self.roll_back()
        self.stop_load()

    def roll_back(self) -> None:
        """Stop the experiments in flight (they heal) and start no more."""
        running = list(self.running.values())
        for r in running:
            self.say(f"rolling back {r.scheduled.label}")
            self.stopped.add(r.scheduled.label)
        self.end_experiments(running)
        self.reap()
        if self.pending and not self.cancelled:
            self.cancelled = [s.label for s in self.pending]
            self.say(f"not starting: {', '.join(self.cancelled)}")

    def settle_experiments(self, feed: LiveFeed) -> None:
        """The load ended on time: let experiments still in flight finish (within their timeout)."""
        while self.running:
            self.reap()
            if self.running:
                self.progress.update(self.view(feed.poll(time.time()), [], "load done; faults finishing"))
                time.sleep(TICK_S)

    def stop_probes(self) -> None:
        for probe in self.probes.values():
            probe.stop()

    def record_stop(self, record: StopRecord) -> None:
        record.rolled_back = sorted(self.stopped)  # a timed-out one was reaped before any rollback
        record.timed_out = sorted(self.timed_out)
        record.not_started = [s.label for s in self.pending]
        write_stop_record(self.run_dir, record)

    # -- after the load -------------------------------------------------------------------------

    def audit(self) -> None:
        if self.run.audit_cmd:
            self.audit_command(self.run.audit_cmd)
            return
        if self.shop_dir is None or not (self.shop_dir / "runtime.json").exists():
            self.say("audit: skipped (no shop folder: pass --data-dir to audit a running shop)")
            return
        # The audit's verdict is the report's business: its output stays in logs/audit.log.
        self.stage(
            "audit",
            _cli(
                "audit",
                "--data-dir",
                str(self.shop_dir),
                "--ledger",
                str(self.run_dir / LEDGER),
                "--out",
                str(self.run_dir / AUDIT),
            ),
            timeout=AUDIT_TIMEOUT_S,
            show_failure=False,
        )

    def audit_command(self, command: str) -> None:
        """The shop's own audit, by the code `doorbuster integrity RUN --host URL --audit-cmd` runs."""
        argv = _cli("integrity", str(self.run_dir), "--host", self.url, "--audit-cmd", command,
                    "--audit-timeout", f"{AUDIT_TIMEOUT_S:.0f}s")  # fmt: skip
        rc = self.stage("audit", argv, timeout=AUDIT_TIMEOUT_S + 30, show_failure=False)
        if rc not in (0, 1):  # 0 clean, 1 an invariant broken: both are the audit's verdict
            log = self.logs / "audit.log"
            self.say(f"the audit command failed (exit {rc}); last lines of {log}:\n{_tail(log)}")
            self.run.not_measured["integrity"] = f"the audit command failed (exit {rc}): see {LOGS_DIR}/audit.log"
            write_not_measured(self.run_dir, self.run.not_measured)

    def shop_down(self) -> None:
        if self.own_shop and self.shop_dir is not None and (self.shop_dir / "runtime.json").exists():
            self.stage("shop down", _cli("down", "--data-dir", str(self.shop_dir)), timeout=120)

    def report(self) -> int:
        argv = ["report", str(self.run_dir)]
        if self.run.slo:
            argv += ["--slo", self.run.slo]
        if self.run.baseline:
            argv += ["--baseline", self.run.baseline]
        log = self.logs / "report.log"
        rc = self.stage("report", _cli(*argv), timeout=REPORT_TIMEOUT_S, show_failure=False)
        print(_tail(log, 40), flush=True)  # the verdict and its reasons, whatever it is
        return rc


def run_gameday(run: GamedayRun) -> int:
    """Run the game day; the exit code is the report's (0 GO, 1 NO-GO, 2, 3), 4 when the shop did
    not come up, 130 when interrupted."""
    game = _Game(run)
    run.run_dir.mkdir(parents=True, exist_ok=True)
    (run.run_dir / LOGS_DIR).mkdir(exist_ok=True)
    write_not_measured(run.run_dir, run.not_measured)
    print(f"doorbuster: game day {run.profile.name} → {run.run_dir}", flush=True)
    interrupted: Interrupted | None = None
    up_failed = False
    with _signals():
        try:
            with game.progress:
                if game.own_shop and not game.shop_up():
                    up_failed = True
                else:
                    game.drive_load()
        except Interrupted as exc:
            interrupted = exc
            print(
                f"doorbuster: interrupted ({exc.signal_name}); healing faults, taking the shop down, "
                "reporting what was measured",
                file=sys.stderr,
                flush=True,
            )
        finally:
            game.abort()
            game.stop_probes()
            record = game.stop or (interrupted_record(interrupted.signal_name, game.t0) if interrupted else None)
            if record is not None:
                game.record_stop(record)
            try:
                if not up_failed and game.t0 is not None:  # no load, no ledger: nothing to audit
                    game.audit()
            finally:
                game.shop_down()
        if up_failed:
            print(f"doorbuster: the shop did not come up; logs in {game.shop_dir / 'logs'}", file=sys.stderr)
            return EXIT_UNREACHABLE
        rc = game.report()
    report = run.run_dir / "report.html"
    if report.is_file():
        print(f"doorbuster: report → {report} (exit {rc})", flush=True)
    else:
        print(f"doorbuster: no report was written (exit {rc}); see {run.run_dir / LOGS_DIR / 'report.log'}", flush=True)
    return EXIT_INTERRUPTED if interrupted else rc
