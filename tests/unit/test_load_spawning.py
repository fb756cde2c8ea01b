"""The spawn budget, the master's heartbeat tolerance and each --processes run's own master port."""

import argparse
import subprocess
import sys
import textwrap
from pathlib import Path

from doorbuster.load.cli import build_locust_command

# Locust must be imported before ssl (gevent patches it): its side is checked in a fresh interpreter.
LOCUST_SIDE = textwrap.dedent(
    """
    from locust import runners
    from locust.env import Environment

    from doorbuster.load.spawning import HEARTBEAT_LIVENESS_S, SPAWN_PER_PROCESS_S, spawn_budget, tolerate_busy_workers

    runner = Environment().create_local_runner()
    assert spawn_budget(runner) is None, "a local runner has no heartbeat to miss"
    assert SPAWN_PER_PROCESS_S == 100
    assert runners.HEARTBEAT_LIVENESS == 3, "Locust's own liveness changed: revisit HEARTBEAT_LIVENESS_S"
    tolerate_busy_workers()
    assert runners.HEARTBEAT_LIVENESS == HEARTBEAT_LIVENESS_S > 3
    print("ok")
    """
)


def test_users_are_added_within_budget_and_the_master_tolerates_a_busy_worker() -> None:
    result = subprocess.run([sys.executable, "-c", LOCUST_SIDE], capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "ok", result.stderr[-1500:]


def _args(processes: int | None) -> argparse.Namespace:
    return argparse.Namespace(
        locustfile=None, host="http://127.0.0.1:1", shape="steady", shape_args="", profile="default",
        allow_host=[], run_time=None, processes=processes, loglevel="WARNING",
    )  # fmt: skip


def _option(cmd: list[str], name: str) -> str:
    return cmd[cmd.index(name) + 1]


def test_each_processes_run_gets_its_own_loopback_master_port(tmp_path: Path) -> None:
    first, second = (build_locust_command(_args(2), tmp_path) for _ in range(2))
    for cmd in (first, second):
        assert _option(cmd, "--master-bind-host") == _option(cmd, "--master-host") == "127.0.0.1"
        assert _option(cmd, "--master-bind-port") == _option(cmd, "--master-port") != "5557"
    assert _option(first, "--master-port") != _option(second, "--master-port")


def test_a_single_process_run_has_no_master() -> None:
    cmd = build_locust_command(_args(None), Path("run"))
    assert "--processes" not in cmd and "--master-bind-port" not in cmd
