"""Locust's events, wired to the load engine: set-up, start, stop and quit of a run.

Imported by doorbuster.load.user, so every locustfile with a journey gets it. Roles: a local
runner does everything itself; with `--processes N` or master/workers, workers generate load
and send their rows to the master (doorbuster.load.messages), which alone writes the run folder.
State lives on the environment (doorbuster.load.state), never in a module global.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

import gevent
import psutil
from locust import events
from locust.runners import MasterRunner, WorkerRunner

from doorbuster.durations import DurationError, parse_duration
from doorbuster.load import options
from doorbuster.load.closed_users import plain_user_classes
from doorbuster.load.dispatch import journey_dispatcher
from doorbuster.load.errors import LoadError
from doorbuster.load.guards import PARENT_ENV, abort_if_nothing_succeeds, quit_when_orphaned, watchdog
from doorbuster.load.locust_shape import PlannedShape
from doorbuster.load.messages import FLUSH_S, MSG_FINAL, collect_finals, register_master, register_worker
from doorbuster.load.meta import run_meta
from doorbuster.load.planning import build_plan, set_weights, start_pacing, stop_pacing
from doorbuster.load.pool import JourneyPools
from doorbuster.load.recording import Outbox, RunRecorder
from doorbuster.load.request_rows import request_listener
from doorbuster.load.safety import check_target
from doorbuster.load.sampling import sample_generator
from doorbuster.load.spawning import tolerate_busy_workers
from doorbuster.load.state import LoadState, load_state
from doorbuster.runfolder import new_run_dir

__all__ = ["END_GRACE_S", "normalise_host"]

log = logging.getLogger("doorbuster.load")

_GRACE_S = 30.0  # a headless run is quit this long after its bound, whatever happens
# At the run's end, iterations under way get this long to finish (k6's gracefulStop) unless
# --stop-timeout says otherwise; then Locust kills them and the unanswered request is recorded.
END_GRACE_S = 5.0


def normalise_host(environment: Any) -> None:
    if environment.host:
        # "http://host:port/" + "/p/1" would ask for "//p/1", which FastHttpUser refuses outright.
        environment.host = environment.host.rstrip("/")


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
    state = load_state(environment)
    normalise_host(environment)
    state.worker = f"{socket.gethostname()}:{os.getpid()}"
    state.outbox = Outbox()
    environment.events.request.add_listener(request_listener(state))
    gevent.spawn(sample_generator, environment, state)
    if os.environ.get(PARENT_ENV):
        gevent.spawn(quit_when_orphaned, runner, os.getppid())
    if isinstance(runner, WorkerRunner):
        state.role = "worker"
        register_worker(runner, state)
        return
    state.role = "master" if isinstance(runner, MasterRunner) else "local"
    if state.role == "master":
        tolerate_busy_workers()
    opts = environment.parsed_options
    try:
        if environment.host or getattr(opts, "headless", False):
            check_target(environment.host, options.allowed_hosts(opts))
        min_users = max(1, int(getattr(opts, "expect_workers", 1) or 1)) if state.role == "master" else 1
        profile, demand, plan = build_plan(environment, min_users)
        state.fail_grace = parse_duration(getattr(opts, "fail_grace", "10s"), what="--fail-grace")
        if plan is None and getattr(opts, "headless", False) and not getattr(opts, "run_time", None):
            raise LoadError("without --shape a headless run needs --run-time (every run is bounded), e.g. -t 60s")
        run_dir = Path(opts.run_dir) if getattr(opts, "run_dir", "") else new_run_dir()
        recorder = RunRecorder(run_dir)
    except DurationError as exc:
        _fail(LoadError(str(exc)))
    except LoadError as exc:
        _fail(exc)
    state.profile, state.demand, state.shape, state.recorder = profile, demand, plan, recorder
    state.plain_users = bool(plain_user_classes(environment.user_classes))
    if not state.plain_users:
        set_weights(environment.user_classes, demand)  # plain users keep the weights they were given
    if plan is not None:
        state.pool = JourneyPools(profile.max_users)
        if not state.plain_users:
            environment.dispatcher_class = journey_dispatcher(state.pool)
        shape = PlannedShape(plan, state.pool, state.journey_pressure)
        shape.runner = runner
        environment.shape_class = shape
    opts.run_dir = str(recorder.run_dir)
    if not getattr(opts, "csv_prefix", None):
        log.warning("no --csv: Locust's own CSVs are not recorded (use --csv %s/locust --csv-full-history)", run_dir)
    if state.role == "master":
        register_master(runner)
    gevent.spawn(_write_loop, state)
    if getattr(opts, "headless", False):
        # Every headless run is bounded, whatever happens to the shape greenlet.
        bound = (plan.bound if plan is not None else float(opts.run_time)) + _GRACE_S
        gevent.spawn_later(bound, watchdog, runner, bound)
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


@events.test_start.add_listener
def _on_test_start(environment: Any, **_: Any) -> None:
    # Everything imported so far lives until the end: keep the collector from rescanning it.
    gc.collect()
    gc.freeze()
    state = load_state(environment)
    now = time.time()
    state.started_at, state.stopping_at, state.ended_at = now, None, None
    state.final_sent = False
    state.finals = set()
    state.ok = state.failed = 0
    normalise_host(environment)  # the web UI form sets the host after init
    opts = environment.parsed_options
    runner = environment.runner
    if state.role != "worker":
        try:
            check_target(environment.host, options.allowed_hosts(opts))
        except LoadError as exc:
            log.error("%s", exc)
            gevent.spawn(runner.quit)
            return
        gevent.spawn_later(state.fail_grace, abort_if_nothing_succeeds, environment, state)
    if state.role == "master":
        # Custom options travel to the workers with each spawn message: the plan's origin too.
        opts.doorbuster_t0 = now
        opts.doorbuster_workers = max(1, runner.worker_count)
        state.processes = opts.doorbuster_workers
        state.worker_pressure = {}
        state.expected_workers = {c.id for c in runner.clients.all}
        return
    if state.role == "local":
        if state.open_model:
            start_pacing(state, now, share=1.0, phase=0.5)
        return
    # worker: the custom options have just arrived from the master
    try:
        state.profile, state.demand, state.shape = build_plan(environment, 1)
    except LoadError as exc:
        log.error("%s", exc)
        return
    state.plain_users = bool(plain_user_classes(environment.user_classes))
    if not state.open_model:
        return  # closed model: no schedule
    t0 = float(getattr(opts, "doorbuster_t0", now) or now)
    workers = max(1, int(getattr(opts, "doorbuster_workers", 1) or 1))
    index = max(0, int(getattr(runner, "worker_index", 0) or 0)) % workers
    start_pacing(state, t0, share=1.0 / workers, phase=(index + 0.5) / workers)


@events.test_stopping.add_listener
def _on_test_stopping(environment: Any, **_: Any) -> None:
    """The run ends: no start after now; iterations under way get a grace before Locust kills them."""
    state = load_state(environment)
    if state.started_at is None or state.stopping_at is not None:
        return
    state.stopping_at = time.time()
    if state.pacer is not None:
        state.pacer.halt(state.stopping_at)
    state.stop_timeout, environment.stop_timeout = environment.stop_timeout, environment.stop_timeout or END_GRACE_S


@events.test_stop.add_listener
def _on_test_stop(environment: Any, **_: Any) -> None:
    state = load_state(environment)
    end = time.time()
    state.ended_at = end
    if state.stop_timeout is not None:
        # as asked: a worker waits this long again before it reports ready
        environment.stop_timeout, state.stop_timeout = state.stop_timeout, None
    end = state.stopping_at or end  # starts due after the run was asked to end were never wanted
    if state.role == "worker":
        if not state.final_sent:
            stop_pacing(state, end)
            state.final_sent = True
            environment.runner.send_message(MSG_FINAL, state.outbox.drain())
        return
    if state.role == "local":
        stop_pacing(state, end)
    else:
        collect_finals(environment.runner, state)
    _drain_into_recorder(state)


@events.quitting.add_listener
def _on_quitting(environment: Any, **_: Any) -> None:
    state = load_state(environment)
    if state.recorder is None:
        return
    if state.started_at is not None and state.ended_at is None and state.role != "worker":
        # Interrupted (Ctrl-C, SIGTERM): Locust quits before it stops, so stop the test first;
        # test_stop closes the schedules and collects the workers' last rows.
        environment.runner.stop()
    _drain_into_recorder(state)
    recorder, state.recorder = state.recorder, None
    recorder.close(run_meta(environment, state, recorder))
    log.info("doorbuster: run recorded in %s (%s requests)", recorder.run_dir, recorder.counts["requests"])


def _drain_into_recorder(state: LoadState) -> None:
    recorder = state.recorder
    if recorder is None:
        return
    recorder.add_batch(state.outbox.drain())
    if state.shape is not None and state.shape.timeline:
        timeline, state.shape.timeline = state.shape.timeline, []
        recorder.add("planned", timeline)
    recorder.flush()


def _write_loop(state: LoadState) -> None:
    while state.recorder is not None:
        gevent.sleep(FLUSH_S)
        _drain_into_recorder(state)
