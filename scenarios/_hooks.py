"""Locust wiring: our command-line options, the shape, the schedule, safety and recording.

Imported by every journey module, so `locust -f locustfile.py` and `locust -f scenarios/`
both get it. Roles: a local runner does everything itself; with `--processes N` or
master/workers, workers generate load and send their rows to the master in batches
(Locust messages), and the master alone writes the run folder.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import math
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn

import gevent
import locust
import psutil
from locust import events
from locust.runners import MasterRunner, WorkerRunner

import doorbuster
from doorbuster.durations import DURATION_HELP, DurationError, parse_duration
from doorbuster.errors import EXIT_UNREACHABLE
from doorbuster.runfolder import RUN_DIR_ENV, new_run_dir
from scenarios._cli import PARENT_ENV
from scenarios._errors import LoadError
from scenarios._pacing import Schedule
from scenarios._plan import PLANS, Demand, JourneyDemand, RatePlan, make_plan, parse_shape_args
from scenarios._profile import Profile, load_profile
from scenarios._recording import Outbox, RunRecorder
from scenarios._safety import check_target
from scenarios._shapes import PlannedShape

__all__ = ["STATE", "LoadState"]

log = logging.getLogger("doorbuster.load")

MSG_ROWS = "doorbuster_rows"  # worker -> master: a batch of rows
MSG_FINAL = "doorbuster_final"  # worker -> master: the last batch of a test
MSG_STOP = "doorbuster_stop"  # master -> workers: stop now and send your last batch
ALLOW_ENV = "DOORBUSTER_ALLOW_HOSTS"
_FLUSH_S = 1.0
_FINAL_WAIT_S = 30.0
_GRACE_S = 30.0


class LoadState:
    """What this generator process knows about the run (one per process)."""

    def __init__(self) -> None:
        self.role = "local"
        self.worker = "?"
        self.environment: Any = None
        self.profile: Profile | None = None
        self.shape: RatePlan | None = None
        self.demand: Demand | None = None
        self.schedules: dict[str, Schedule] = {}
        self.outbox = Outbox()
        self.recorder: RunRecorder | None = None
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.final_sent = False
        self.finals: set[str] = set()
        self.expected_workers: set[str] = set()
        self.processes = 1
        self.ok = 0  # requests that passed their checks, and those that did not
        self.failed = 0
        self.last_error = ""
        self.abort_reason = ""
        self.fail_grace = 10.0


STATE = LoadState()


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
        help="shape arguments, e.g. hold=30,ramp=5,steps=1/5/10",
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
        default=os.environ.get("DOORBUSTER_FAIL_GRACE", "10s"),
        help="abort (exit 4) when no request has succeeded this long after the start (default: 10s)",
        include_in_web_ui=False,
    )


def _demand(environment: Any, profile: Profile, min_users: int) -> Demand:
    """Each journey's iteration cost, from its class attributes and the profile's think times."""
    classes = {getattr(c, "journey", ""): c for c in environment.user_classes if getattr(c, "journey", "")}
    unknown = sorted(set(profile.mix) - set(classes))
    if not set(profile.mix) & set(classes):
        raise LoadError(
            f"profile {profile.source}: mix names {', '.join(sorted(profile.mix))} but the loaded "
            f"journeys are {', '.join(sorted(classes)) or 'none'}"
        )
    if unknown:
        log.warning("profile %s: no journey class for %s; their share is dropped", profile.source, unknown)
    mix = {j: s for j, s in profile.mix.items() if j in classes}
    total = sum(mix.values()) or 1.0
    journeys = []
    for journey, cls in sorted(classes.items()):
        share = mix.get(journey, 0.0) / total
        requests = float(cls.requests_per_iteration)
        duration = cls.think_pauses * profile.mean_think_s + requests * profile.expected_latency_ms / 1000
        journeys.append(JourneyDemand(journey, share, requests, max(duration, 0.05)))
    return Demand(tuple(journeys), headroom=profile.headroom, min_users=min_users)


def _set_weights(environment: Any, demand: Demand) -> None:
    # Locust splits users by weight: make the split follow each journey's share of the pool.
    pools = demand.users(1000.0)
    for cls in environment.user_classes:
        cls.weight = max(1, pools.get(getattr(cls, "journey", ""), 1))


def _options(environment: Any) -> Any:
    return environment.parsed_options


def _open_model(opts: Any) -> bool:
    """--shape (or --shape-args) plans the rate; without, users come from -u or the web UI form."""
    return bool(getattr(opts, "shape", None) or getattr(opts, "shape_args", ""))


def _build_plan(environment: Any, min_users: int) -> tuple[Profile, Demand, RatePlan | None]:
    opts = _options(environment)
    profile = load_profile(getattr(opts, "traffic_profile", None))
    demand = _demand(environment, profile, min_users)
    run_time = getattr(opts, "run_time", None)
    if run_time is not None and run_time <= 0:
        raise LoadError(f"--run-time {run_time!r}: must be more than zero ({DURATION_HELP}); every run is bounded")
    if not _open_model(opts):
        return profile, demand, None
    shape = make_plan(
        getattr(opts, "shape", None) or "steady",
        parse_shape_args(getattr(opts, "shape_args", "")),
        one_x_rps=profile.one_x_rps,
        demand=demand,
        time_limit=float(run_time) if run_time else None,
    )
    return profile, demand, shape


def _fail(exc: LoadError) -> NoReturn:
    """A user error during startup: one sentence and the error's exit code, no traceback."""
    log.error("%s", exc)
    sys.stderr.write(f"doorbuster: error: {exc}\n")
    sys.stderr.flush()
    # With --processes the workers are already forked and ignore SIGINT until they have a
    # master (Locust's atexit would wait 60 s for them): end them, by PID, before exiting.
    for child in psutil.Process().children():
        with contextlib.suppress(psutil.Error):
            child.kill()
    # SystemExit passes through Locust's event hooks (they catch Exception only).
    sys.exit(exc.exit_code)


@events.init.add_listener
def _on_init(environment: Any, runner: Any, **_: Any) -> None:
    STATE.environment = environment
    _normalise_host(environment)
    STATE.worker = f"{socket.gethostname()}:{os.getpid()}"
    STATE.outbox = Outbox()
    events.request.add_listener(_on_request)
    gevent.spawn(_sample_generator)
    if os.environ.get(PARENT_ENV):
        gevent.spawn(_quit_when_orphaned, runner, os.getppid())
    if isinstance(runner, WorkerRunner):
        STATE.role = "worker"
        runner.register_message(MSG_STOP, _on_stop_message)
        gevent.spawn(_worker_sender, runner)
        return
    STATE.role = "master" if isinstance(runner, MasterRunner) else "local"
    opts = _options(environment)
    try:
        if environment.host or getattr(opts, "headless", False):
            check_target(environment.host, _allowed(opts))
        min_users = max(1, int(getattr(opts, "expect_workers", 1) or 1)) if STATE.role == "master" else 1
        profile, demand, plan = _build_plan(environment, min_users)
        STATE.fail_grace = parse_duration(getattr(opts, "fail_grace", "10s"), what="--fail-grace")
        if plan is None and getattr(opts, "headless", False) and not getattr(opts, "run_time", None):
            raise LoadError("without --shape a headless run needs --run-time (every run is bounded), e.g. -t 60s")
        run_dir = Path(opts.run_dir) if getattr(opts, "run_dir", "") else new_run_dir()
        recorder = RunRecorder(run_dir)
    except (LoadError, DurationError) as exc:
        _fail(exc if isinstance(exc, LoadError) else LoadError(str(exc)))
    STATE.profile, STATE.demand, STATE.shape, STATE.recorder = profile, demand, plan, recorder
    _set_weights(environment, demand)
    if plan is not None:
        shape = PlannedShape(plan)
        shape.runner = runner
        environment.shape_class = shape
    opts.run_dir = str(recorder.run_dir)
    if not getattr(opts, "csv_prefix", None):
        log.warning("no --csv: Locust's own CSVs are not recorded (use --csv %s/locust --csv-full-history)", run_dir)
    if STATE.role == "master":
        runner.register_message(MSG_ROWS, _on_rows_message)
        runner.register_message(MSG_FINAL, _on_final_message)
    gevent.spawn(_writer_loop)
    if getattr(opts, "headless", False):
        # Every headless run is bounded, whatever happens to the shape greenlet.
        bound = (plan.bound if plan is not None else float(opts.run_time)) + _GRACE_S
        gevent.spawn_later(bound, _watchdog, runner, bound)
    if plan is None:
        log.info("doorbuster: no --shape: users from -u/-r or the web UI (closed model), recording into %s", run_dir)
        return
    log.info(
        "doorbuster: shape %s %s, profile %s (1x = %g req/s), recording into %s",
        plan.name,
        plan.args(),
        profile.name,
        profile.one_x_rps,
        recorder.run_dir,
    )


def _normalise_host(environment: Any) -> None:
    if environment.host:
        # "http://host:port/" + "/p/1" would ask for "//p/1", which FastHttpUser refuses outright.
        environment.host = environment.host.rstrip("/")


def _quit_when_orphaned(runner: Any, parent: int) -> None:
    """`doorbuster load` started us: if it is gone (even SIGKILLed), no load may outlive it."""
    while os.getppid() == parent:
        gevent.sleep(0.5)
    log.error("doorbuster: the command that started this load is gone; quitting")
    runner.quit()


def _abort_if_nothing_succeeds(environment: Any) -> None:
    """A target where every request fails is unreachable or broken: abort early (exit 4)."""
    if STATE.ok or not STATE.failed or STATE.ended_at is not None:
        return
    reason = (
        f"every request to {environment.host} failed in the first {STATE.fail_grace:g} s "
        f"({STATE.failed} failed, e.g. {STATE.last_error!r}): the shop is unreachable or broken"
    )
    log.error("doorbuster: %s; aborting", reason)
    sys.stderr.write(f"doorbuster: error: {reason}; aborting\n")
    STATE.abort_reason = reason
    environment.process_exit_code = EXIT_UNREACHABLE
    gevent.spawn(environment.runner.quit)


def _allowed(opts: Any) -> list[str]:
    return [h for h in str(getattr(opts, "allow_host", "") or "").split(",") if h.strip()]


def _watchdog(runner: Any, bound: float) -> None:
    log.error("doorbuster: the run outlived its time bound (%.0f s); quitting", bound)
    runner.quit()


@events.test_start.add_listener
def _on_test_start(environment: Any, **_: Any) -> None:
    # Everything imported so far lives until the end: keep the collector from rescanning it.
    gc.collect()
    gc.freeze()
    now = time.time()
    STATE.started_at, STATE.ended_at = now, None
    STATE.final_sent = False
    STATE.finals = set()
    STATE.ok = STATE.failed = 0
    _normalise_host(environment)  # the web UI form sets the host after init
    opts = _options(environment)
    runner = environment.runner
    if STATE.role != "worker":
        try:
            check_target(environment.host, _allowed(opts))
        except LoadError as exc:
            log.error("%s", exc)
            gevent.spawn(runner.quit)
            return
        gevent.spawn_later(STATE.fail_grace, _abort_if_nothing_succeeds, environment)
    if STATE.role == "master":
        # Custom options travel to the workers with each spawn message: the plan's origin too.
        opts.doorbuster_t0 = now
        opts.doorbuster_workers = max(1, runner.worker_count)
        STATE.processes = opts.doorbuster_workers
        STATE.expected_workers = {c.id for c in runner.clients.all}
        return
    if STATE.role == "local":
        if STATE.shape is not None:
            _make_schedules(now, share=1.0, phase=0.5)
        return
    # worker: the custom options have just arrived from the master
    try:
        STATE.profile, STATE.demand, STATE.shape = _build_plan(environment, 1)
    except LoadError as exc:
        log.error("%s", exc)
        return
    if STATE.shape is None:
        return  # closed model: no schedule
    t0 = float(getattr(opts, "doorbuster_t0", now) or now)
    workers = max(1, int(getattr(opts, "doorbuster_workers", 1) or 1))
    index = max(0, int(getattr(runner, "worker_index", 0) or 0)) % workers
    _make_schedules(t0, share=1.0 / workers, phase=(index + 0.5) / workers)


def _make_schedules(t0: float, *, share: float, phase: float) -> None:
    shape, demand = STATE.shape, STATE.demand
    assert shape is not None and demand is not None

    def rate_for(journey: str) -> Any:
        def rate_at(elapsed: float) -> float | None:
            point = shape.plan_at(elapsed)
            return None if point is None else demand.iteration_rate(point.planned_rps, journey)

        return rate_at

    STATE.schedules = {
        j.journey: Schedule(rate_for(j.journey), t0, share=share, phase=phase) for j in demand.journeys if j.share > 0
    }


def _close_schedules(end: float) -> None:
    rows = STATE.outbox.rows["iterations"]
    for journey, schedule in STATE.schedules.items():
        for slot in schedule.unserved(end):
            iteration = f"{STATE.worker}/{journey}/{slot.seq}"
            waited_ms = (end - slot.intended) * 1000  # how long it had waited when the run ended
            rows.append((iteration, journey, STATE.worker, slot.intended, None, None, waited_ms, True))
    STATE.schedules = {}


@events.test_stop.add_listener
def _on_test_stop(environment: Any, **_: Any) -> None:
    end = time.time()
    STATE.ended_at = end
    if STATE.role == "worker":
        if not STATE.final_sent:
            _close_schedules(end)
            STATE.final_sent = True
            environment.runner.send_message(MSG_FINAL, STATE.outbox.drain())
        return
    if STATE.role == "local":
        _close_schedules(end)
    else:
        _collect_finals(environment.runner)
    _drain_into_recorder()


def _collect_finals(runner: Any) -> None:
    """Ask every worker to stop and wait for its last batch, so the files are complete."""
    waiting = STATE.expected_workers - STATE.finals
    if not waiting:
        return
    runner.send_message(MSG_STOP, None)
    deadline = time.monotonic() + _FINAL_WAIT_S
    while STATE.expected_workers - STATE.finals and time.monotonic() < deadline:
        gevent.sleep(0.1)
    missing = STATE.expected_workers - STATE.finals
    if missing:
        log.error("doorbuster: no final batch from worker(s) %s; their last rows are missing", sorted(missing))


def _on_stop_message(environment: Any, msg: Any, **_: Any) -> None:
    if STATE.final_sent:
        environment.runner.send_message(MSG_FINAL, STATE.outbox.drain())
        return
    environment.runner.stop()  # fires test_stop, which sends the final batch


def _on_rows_message(environment: Any, msg: Any, **_: Any) -> None:
    for row in (msg.data or {}).get("requests", ()):
        _count(row[8], row[9])
    if STATE.recorder is not None:
        STATE.recorder.add_batch(msg.data or {})


def _on_final_message(environment: Any, msg: Any, **_: Any) -> None:
    _on_rows_message(environment, msg)
    STATE.finals.add(msg.node_id)


@events.quitting.add_listener
def _on_quitting(environment: Any, **_: Any) -> None:
    if STATE.recorder is None:
        return
    if STATE.started_at is not None and STATE.ended_at is None and STATE.role != "worker":
        # Interrupted (Ctrl-C, SIGTERM): Locust quits before it stops, so stop the test first;
        # test_stop closes the schedules and collects the workers' last rows.
        environment.runner.stop()
    _drain_into_recorder()
    recorder, STATE.recorder = STATE.recorder, None
    recorder.close(_meta(environment, recorder))
    log.info("doorbuster: run recorded in %s (%s requests)", recorder.run_dir, recorder.counts["requests"])


def _drain_into_recorder() -> None:
    recorder = STATE.recorder
    if recorder is None:
        return
    recorder.add_batch(STATE.outbox.drain())
    if STATE.shape is not None and STATE.shape.timeline:
        timeline, STATE.shape.timeline = STATE.shape.timeline, []
        recorder.add("planned", timeline)
    recorder.flush()


def _writer_loop() -> None:
    while STATE.recorder is not None:
        gevent.sleep(_FLUSH_S)
        _drain_into_recorder()


def _worker_sender(runner: Any) -> None:
    while True:
        gevent.sleep(_FLUSH_S)
        if not STATE.final_sent or STATE.outbox.rows["generator"]:
            batch = STATE.outbox.drain()
            if batch:
                runner.send_message(MSG_ROWS, batch)


def _sample_generator() -> None:
    """The generator's own CPU and memory every second (Locust's CPU warning comes too late)."""
    process = psutil.Process()
    process.cpu_percent(None)
    while True:
        gevent.sleep(1.0)
        if STATE.started_at is None or STATE.ended_at is not None:
            continue
        rss_mb = process.memory_info().rss / 1e6
        STATE.outbox.rows["generator"].append((time.time(), STATE.worker, process.cpu_percent(None), rss_mb))


def _error_text(exception: Any) -> str:
    text = str(exception) or type(exception).__name__
    return text if len(text) <= 300 else text[:297] + "..."


def _on_request(
    request_type: str,
    name: str,
    response_time: float | None,
    response_length: int | None,
    response: Any = None,
    context: dict[str, Any] | None = None,
    exception: Any = None,
    start_time: float | None = None,
    **_: Any,
) -> None:
    ctx = context or {}
    ts = start_time or time.time()
    _count(exception is None, exception)
    lag = ctx.get("lag_s")
    STATE.outbox.rows["requests"].append(
        (
            ts,
            ts - lag if lag is not None else math.nan,
            ctx.get("journey", ""),
            name,
            request_type,
            float(response_time or 0.0),
            int(getattr(response, "status_code", 0) or 0),
            int(response_length or 0),
            exception is None,
            "" if exception is None else _error_text(exception),
            ctx.get("order_id", ""),
            ctx.get("iteration", ""),
            STATE.worker,
        )
    )


def _count(ok: bool, error: Any) -> None:
    if ok:
        STATE.ok += 1
    else:
        STATE.failed += 1
        STATE.last_error = _error_text(error) if error else STATE.last_error


def _git_sha() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            cwd=Path(__file__).resolve().parent,
            check=False,
        )
    except OSError:
        return None
    return out.stdout.strip() or None


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, UTC).isoformat()


def _meta(environment: Any, recorder: RunRecorder) -> dict[str, Any]:
    shape, profile = STATE.shape, STATE.profile
    ran = (STATE.ended_at or time.time()) - STATE.started_at if STATE.started_at else 0.0
    opts = _options(environment)
    if shape is not None:
        completed = shape.completed or ran >= shape.bound - 1
    elif getattr(opts, "headless", False):
        completed = ran >= float(getattr(opts, "run_time", 0) or 0) - 1
    else:
        completed = STATE.ended_at is not None  # the web UI's user stopped the test
    status = "completed" if completed else "interrupted"
    if STATE.abort_reason or not STATE.started_at:
        status = "failed"
    return {
        "run_id": recorder.run_dir.name,
        "started_at": _iso(STATE.started_at),
        "ended_at": _iso(STATE.ended_at or time.time()),
        "target": environment.host,
        "profile": profile.as_dict() if profile else None,
        "shape": {"name": shape.name, "args": shape.args()} if shape else None,
        "one_x_rps": profile.one_x_rps if profile else None,
        "processes": STATE.processes,
        "versions": {
            "doorbuster": doorbuster.__version__,
            "locust": locust.__version__,
            "python": sys.version.split()[0],
        },
        "git_sha": _git_sha(),
        "model": "open" if shape is not None else "closed",
        "status": status,
        "reason": STATE.abort_reason or None,
        "rows": dict(recorder.counts),
    }
