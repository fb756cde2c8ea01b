"""Bad input to `doorbuster gameday` costs one sentence and an exit code, before any shop starts."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
import yaml


def _gameday(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "doorbuster.cli", "gameday", *args, "--run-dir", str(tmp_path / "run")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def _ours(tmp_path: Path) -> list[psutil.Process]:
    """Processes whose command line names this test's folder: a shop, a load, an experiment."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        try:
            if proc.info["status"] != psutil.STATUS_ZOMBIE and str(tmp_path) in " ".join(proc.info["cmdline"] or []):
                found.append(proc)
        except psutil.Error:
            continue
    return found


def _profile(tmp_path: Path, **change: object) -> str:
    data = {
        "name": "t",
        "traffic_profile": "ci",
        "shape": "ramp",
        "shape_args": {"steps": [1, 5], "step_s": 20},
        **change,
    }
    path = tmp_path / "day.yaml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def _refused(tmp_path: Path, result: subprocess.CompletedProcess[str], code: int, message: str) -> None:
    assert result.returncode == code, result.stdout + result.stderr
    assert result.stderr.startswith("doorbuster: error: "), result.stderr
    assert message in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr  # one sentence, no traceback
    assert not (tmp_path / "run").exists(), "a run was started"
    assert not _ours(tmp_path)


def test_an_unknown_game_day_is_refused(tmp_path: Path) -> None:
    _refused(tmp_path, _gameday(tmp_path, "tuesday"), 2, "game day 'tuesday': unknown (known: black-friday, ci")


def test_an_unknown_shape_is_refused_before_the_shop_starts(tmp_path: Path) -> None:
    _refused(tmp_path, _gameday(tmp_path, "smoke", "--shape", "wave"), 2, "shape 'wave': unknown")


def test_an_unknown_experiment_is_refused(tmp_path: Path) -> None:
    day = _profile(tmp_path, chaos=[{"experiment": "unplug-the-datacentre", "at": "5s"}])
    _refused(tmp_path, _gameday(tmp_path, day), 2, "chaos[0].experiment: unknown experiment 'unplug-the-datacentre'")


def test_a_schedule_past_the_end_of_the_load_is_refused(tmp_path: Path) -> None:
    day = _profile(tmp_path, chaos=[{"experiment": "unplug-the-datacentre", "at": "2m"}])
    _refused(tmp_path, _gameday(tmp_path, day), 2, "starts past the end of the load (40s")


def test_a_port_in_use_is_refused(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        result = _gameday(tmp_path, "smoke", "--no-chaos", "--port", str(port))
    _refused(tmp_path, result, 2, f"--port {port}: 127.0.0.1:{port} is in use")


def test_a_missing_store_of_the_services_profile_is_refused(tmp_path: Path) -> None:
    result = _gameday(tmp_path, "smoke", "--no-chaos", env={"RF_DB_URL": "postgresql://doorbuster@127.0.0.1:1/shop"})
    _refused(tmp_path, result, 2, "missing dependency: RF_DB_URL names 127.0.0.1:1, which does not answer")


def test_a_shop_that_does_not_answer_is_exit_4(tmp_path: Path) -> None:
    result = _gameday(tmp_path, "smoke", "--no-chaos", "--host", "http://127.0.0.1:1")
    _refused(tmp_path, result, 4, "--host http://127.0.0.1:1: the shop does not answer")


def test_a_data_dir_without_a_running_shop_is_exit_4(tmp_path: Path) -> None:
    result = _gameday(tmp_path, "smoke", "--no-chaos", "--data-dir", str(tmp_path / "nothing"))
    _refused(tmp_path, result, 4, "no shop is running from")


def test_a_remote_host_is_refused_unless_allowed(tmp_path: Path) -> None:
    _refused(
        tmp_path,
        _gameday(tmp_path, "smoke", "--no-chaos", "--host", "http://shop.example.com"),
        5,
        "refusing to send load to 'shop.example.com'",
    )


def test_chaos_against_a_bare_host_needs_the_control_api(tmp_path: Path) -> None:
    day = _profile(tmp_path, stop_conditions=[{"kind": "integrity"}])
    result = _gameday(tmp_path, day, "--host", "http://127.0.0.1:1")
    _refused(tmp_path, result, 2, "the integrity stop condition cannot run without the shop's control API")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--quick", "ci"), "--quick is the game day 'smoke'; it cannot be combined with 'ci'"),
        (("smoke", "--run-time", "0s"), "--run-time '0s': must be more than zero"),
    ],
)
def test_conflicting_or_bad_options_are_refused(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    result = _gameday(tmp_path, *args)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert not (tmp_path / "run").exists()
