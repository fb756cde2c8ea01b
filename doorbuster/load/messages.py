"""Worker → master rows, as Locust messages: the master alone writes the run folder."""

from __future__ import annotations

import logging
import time
from typing import Any

import gevent

from doorbuster.load.pacing import Pressure
from doorbuster.load.request_rows import count_result
from doorbuster.load.state import LoadState, load_state

__all__ = ["MSG_FINAL", "MSG_ROWS", "MSG_STOP", "collect_finals", "register_master", "register_worker"]

log = logging.getLogger("doorbuster.load")

MSG_ROWS = "doorbuster_rows"  # worker -> master: a batch of rows
MSG_FINAL = "doorbuster_final"  # worker -> master: the last batch of a test
MSG_STOP = "doorbuster_stop"  # master -> workers: stop now and send your last batch
FLUSH_S = 1.0
_FINAL_WAIT_S = 30.0
_OK_COLUMN, _ERROR_COLUMN = 8, 9  # of a request row (doorbuster.runfolder.REQUEST_COLUMNS)
_PRESSURE = "pressure"  # in a worker's batch: {journey: (idle users, late starts)}, not a row kind


def register_worker(runner: Any, state: LoadState) -> None:
    runner.register_message(MSG_STOP, _on_stop_message)
    gevent.spawn(_send_rows, runner, state)


def register_master(runner: Any) -> None:
    runner.register_message(MSG_ROWS, _on_rows_message)
    runner.register_message(MSG_FINAL, _on_final_message)


def _send_rows(runner: Any, state: LoadState) -> None:
    while True:
        gevent.sleep(FLUSH_S)
        if not state.final_sent or state.outbox.rows["generator"]:
            batch: dict[str, Any] = state.outbox.drain()
            if state.pacer is not None:
                # the master sizes each journey's pool from how this worker's users keep up
                pressure = state.journey_pressure()
                batch[_PRESSURE] = {journey: (part.idle, part.late) for journey, part in pressure.items()}
            if batch:
                runner.send_message(MSG_ROWS, batch)


def collect_finals(runner: Any, state: LoadState) -> None:
    """Ask every worker to stop and wait for its last batch, so the files are complete."""
    if not state.expected_workers - state.finals:
        return
    runner.send_message(MSG_STOP, None)
    deadline = time.monotonic() + _FINAL_WAIT_S
    while state.expected_workers - state.finals and time.monotonic() < deadline:
        gevent.sleep(0.1)
    missing = state.expected_workers - state.finals
    if missing:
        log.error("doorbuster: no final batch from worker(s) %s; their last rows are missing", sorted(missing))


def _on_stop_message(environment: Any, msg: Any, **_: Any) -> None:
    state = load_state(environment)
    if state.final_sent:
        environment.runner.send_message(MSG_FINAL, state.outbox.drain())
        return
    environment.runner.stop()  # fires test_stop, which sends the final batch


def _on_rows_message(environment: Any, msg: Any, **_: Any) -> None:
    state = load_state(environment)
    batch = dict(msg.data or {})
    pressure = batch.pop(_PRESSURE, None)
    if pressure is not None:
        # each journey's pool is sized on the master, from how each worker's users kept up
        state.worker_pressure[msg.node_id] = {j: Pressure(idle, late) for j, (idle, late) in pressure.items()}
    for row in batch.get("requests", ()):
        count_result(state, row[_OK_COLUMN], row[_ERROR_COLUMN])
    if state.recorder is not None:
        state.recorder.add_batch(batch)


def _on_final_message(environment: Any, msg: Any, **_: Any) -> None:
    _on_rows_message(environment, msg)
    load_state(environment).finals.add(msg.node_id)
