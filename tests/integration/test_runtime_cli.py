"""`doorbuster up`, `status` and `down` as a user runs them: real subprocesses, a temp data folder.

Every test tears its shop down (`down`, then SIGKILL by PID of anything runtime.json named).
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
from pathlib import Path

import psutil
import pytest

from retailflow.runtime.state import is_alive, read_state
from tests.support.processes import wait_until
from tests.support.shop import _reap, _started_processes, doorbuster, shop_env

pytestmark = pytest.mark.slow


def processes_of(data_dir: Path) -> list[psutil.Process]:
    """Live processes whose command line names this data folder (the supervisor), and their children."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        with contextlib.suppress(psutil.Error):
            if str(data_dir) in " ".join(proc.info["cmdline"] or []):
                found += [proc, *proc.children(recursive=True)]
    return [p for p in found if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "shop"
    try:
        yield folder
    finally:
        seen = _started_processes(folder) + processes_of(folder)
        with contextlib.suppress(subprocess.TimeoutExpired):
            doorbuster("down", "--data-dir", str(folder), timeout=60)
        _reap(seen + _started_processes(folder))


def test_up_prints_the_url_status_reports_and_down_leaves_no_process(data_dir: Path) -> None:
    up = doorbuster("up", "--data-dir", str(data_dir), "--port", "0", "--services", "legacy")
    assert up.returncode == 0, up.stderr
    state = read_state(data_dir)
    assert state is not None
    # Without a gateway the URL to print is the control API's.
    assert up.stdout.strip() == state["control_url"]

    status = doorbuster("status", "--data-dir", str(data_dir), "--json")
    assert status.returncode == 0, status.stderr
    body = json.loads(status.stdout)
    assert [(p["service"], p["ready"]) for p in body["pods"]] == [("legacy", True)]
    human = doorbuster("status", "--data-dir", str(data_dir))
    assert "legacy/0" in human.stdout and "1/1" in human.stdout

    again = doorbuster("up", "--data-dir", str(data_dir), "--port", "0", "--services", "legacy")
    assert again.returncode == 2
    assert f"a shop is already running from {data_dir}" in again.stderr

    pids = [(state["pid"], state["create_time"])] + [(p["pid"], p["create_time"]) for p in body["pods"]]
    down = doorbuster("down", "--data-dir", str(data_dir), timeout=60)
    assert down.returncode == 0, down.stderr
    assert "stopped the shop" in down.stderr
    assert not [pid for pid, created in pids if is_alive(pid, created)], "down returned before its processes died"
    after = read_state(data_dir)
    assert after is not None and after["state"] == "stopped"

    gone = doorbuster("status", "--data-dir", str(data_dir))
    assert gone.returncode == 4
    assert "no shop is running from" in gone.stderr
    nothing = doorbuster("down", "--data-dir", str(data_dir))
    assert nothing.returncode == 0 and "no shop is running" in nothing.stderr


def test_the_data_folder_comes_from_the_environment_when_not_given(data_dir: Path) -> None:
    env = shop_env(DOORBUSTER_DATA_DIR=str(data_dir))
    up = doorbuster("up", "--port", "0", "--services", "legacy", env=env)
    assert up.returncode == 0, up.stderr
    assert (data_dir / "runtime.json").is_file()
    assert (data_dir / "logs" / "legacy-0.log").is_file()
    assert doorbuster("down", env=env, timeout=60).returncode == 0
    assert not processes_of(data_dir)


def test_a_failing_init_job_fails_up_fast_with_its_log_and_leaves_no_process(data_dir: Path) -> None:
    up = doorbuster(
        "up", "--data-dir", str(data_dir), "--port", "0", "--services", "legacy", env=shop_env(RF_PRODUCTS="many")
    )
    assert up.returncode == 4
    assert "the init job (schema and fixtures) of legacy failed" in up.stderr
    assert "RF_PRODUCTS='many' is not a whole number" in up.stderr  # the tail of legacy-init.log
    wait_until(lambda: not processes_of(data_dir), timeout=30, what="the failed shop's processes to exit")


def test_up_that_is_not_ready_in_time_exits_4_naming_the_pods(data_dir: Path) -> None:
    up = doorbuster("up", "--data-dir", str(data_dir), "--port", "0", "--services", "legacy", "--timeout", "0.2")
    assert up.returncode == 4
    assert "the shop was not ready within 0.2 s" in up.stderr
    assert "legacy/0" in up.stderr or "the supervisor never wrote" in up.stderr
    wait_until(lambda: not processes_of(data_dir), timeout=30, what="the unready shop's processes to exit")


def test_the_supervisor_stops_by_itself_when_its_time_to_live_is_over(data_dir: Path) -> None:
    # The supervisor alone (what `up` detaches): its TTL runs whether or not the pods got ready.
    argv = [sys.executable, "-m", "retailflow.runtime.supervisor", "--data-dir", str(data_dir), "--port", "0",
            "--services", "legacy", "--ttl", "12s"]  # fmt: skip
    proc = subprocess.Popen(
        argv, env=shop_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )
    seen: set[tuple[int, float]] = set()
    try:
        deadline = time.monotonic() + 90
        while proc.poll() is None:
            assert time.monotonic() < deadline, "the supervisor outlived its TTL by more than a minute"
            state = read_state(data_dir) or {}
            seen |= {(p["pid"], p["create_time"]) for p in state.get("pods", []) if p.get("pid")}
            time.sleep(0.1)
        assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
        final = read_state(data_dir) or {}
        assert final["state"] == "stopped"
        assert "time to live of 12 s is over" in final["stop_reason"]
        assert seen, "no replica started within the TTL, so the test proves nothing"
        assert not [pod for pod in seen if is_alive(*pod)], "a replica outlived the supervisor's TTL"
        assert not processes_of(data_dir)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def test_a_port_in_use_is_refused_with_the_cause_first_and_exit_2(data_dir: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        up = doorbuster("up", "--data-dir", str(data_dir), "--port", str(port), "--services", "gateway,legacy")
    assert up.returncode == 2, up.stderr  # bad input: the user picks another port
    first = up.stderr.splitlines()[0]
    assert first.startswith(f"doorbuster: error: port {port} on 127.0.0.1 is already in use"), up.stderr
    assert "supervisor.log" in up.stderr  # the log is still named, after the cause


def test_a_supervisor_killed_with_sigkill_takes_its_replicas_with_it(data_dir: Path) -> None:
    up = doorbuster("up", "--data-dir", str(data_dir), "--port", "0", "--services", "legacy", "--replicas", "legacy=2")
    assert up.returncode == 0, up.stderr
    state = read_state(data_dir) or {}
    pods = [(p["pid"], p["create_time"]) for p in state["pods"]]
    assert len(pods) == 2 and all(is_alive(*pod) for pod in pods)
    os.kill(state["pid"], signal.SIGKILL)  # no chance to clean up: the kernel must (PR_SET_PDEATHSIG)
    wait_until(
        lambda: not any(is_alive(*pod) for pod in pods), timeout=30, what="the replicas to die with their supervisor"
    )
    down = doorbuster("down", "--data-dir", str(data_dir))
    assert down.returncode == 0 and "no shop is running" in down.stderr


def test_up_in_the_foreground_prints_the_url_and_stops_everything_on_sigterm(data_dir: Path) -> None:
    argv = [sys.executable, "-m", "doorbuster.cli", "up", "--foreground", "--data-dir", str(data_dir), "--port", "0",
            "--services", "legacy"]  # fmt: skip
    proc = subprocess.Popen(
        argv,
        env=shop_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()  # printed once every pod is ready
        assert url, f"up --foreground printed no URL:\n{proc.stderr.read() if proc.poll() is not None else ''}"
        # runtime.json follows the announcement within its write interval.
        state = wait_until(
            lambda: (s := read_state(data_dir)) and s.get("all_ready") and s,
            timeout=10,
            what="runtime.json to show every pod ready",
        )
        assert url == state["control_url"]
        assert state["pid"] == proc.pid
        pod = state["pods"][0]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        assert not is_alive(pod["pid"], pod["create_time"])
        assert (read_state(data_dir) or {}).get("stop_reason") == "signal SIGTERM"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
