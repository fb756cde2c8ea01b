"""stop.json tells a stop's rollback from an experiment that had already overrun its timeout."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from pathlib import Path

import yaml

from doorbuster.gameday.profile import load_gameday
from doorbuster.gameday.progress import PlainProgress
from doorbuster.gameday.run import GamedayRun, Running, _Game
from doorbuster.gameday.schedule import build_timeline
from doorbuster.gameday.stops import interrupted_record

DAY = {
    "name": "t", "traffic_profile": "ci", "shape": "ramp", "shape_args": {"steps": [1, 5], "step_s": 20},
    "chaos": [{"experiment": "overruns", "at": "1s", "timeout": "5s"},
              {"experiment": "in-flight", "at": "2s", "timeout": "60s"}],
}  # fmt: skip


def _game(tmp_path: Path) -> _Game:
    path = tmp_path / "day.yaml"
    path.write_text(yaml.safe_dump(DAY), encoding="utf-8")
    profile = load_gameday(str(path))
    run_dir = tmp_path / "run"
    (run_dir / "logs").mkdir(parents=True)
    run = GamedayRun(
        profile=profile,
        timeline=build_timeline(profile),
        run_dir=run_dir,
        target=None,
        traffic_profile="ci",
        progress=PlainProgress(out=io.StringIO()),
    )
    return _Game(run)


def _start(game: _Game, index: int, started: float) -> Running:
    """A stand-in for `doorbuster chaos run`: a process in its own group that a SIGTERM ends."""
    scheduled = game.pending.pop(0)
    assert scheduled.index == index
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    game.running[scheduled.label] = Running(scheduled, proc, started)
    return game.running[scheduled.label]


def test_an_experiment_ended_past_its_timeout_is_not_counted_as_rolled_back_by_the_stop(tmp_path: Path) -> None:
    game = _game(tmp_path)
    overran = _start(game, 0, started=time.time() - 6)  # past its 5 s timeout
    in_flight = _start(game, 1, started=time.time())
    try:
        game.reap()  # the game day's tick: the overrun one is ended, the other goes on
        assert overran.proc.poll() is not None and in_flight.proc.poll() is None
        game.roll_back()  # then a stop condition (here a signal) rolls back what is in flight
        game.record_stop(interrupted_record("SIGINT", time.time() - 10))
    finally:
        for r in (overran, in_flight):
            if r.proc.poll() is None:
                r.proc.kill()
            r.proc.wait()
    stop = json.loads((game.run_dir / "stop.json").read_text())
    assert stop["rolled_back"] == ["in-flight#1"]
    assert stop["timed_out"] == ["overruns#0"]
    assert stop["not_started"] == []
