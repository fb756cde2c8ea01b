"""Load goes to loopback, or to hosts named explicitly; a refusal is one sentence and exit 5."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from doorbuster.errors import EXIT_BAD_INPUT, EXIT_REFUSED
from doorbuster.load.errors import UnsafeTargetError
from doorbuster.load.safety import check_target

ROOT = Path(__file__).resolve().parents[2]
REFUSAL = "refusing to send load to 'shop.example.com' (http://shop.example.com:8080)"


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8080", "http://127.9.9.9", "http://localhost:80/", "http://[::1]:8080"]
)
def test_loopback_targets_are_allowed(url: str) -> None:
    assert check_target(url)


def test_a_non_loopback_host_is_refused_unless_named_explicitly() -> None:
    with pytest.raises(UnsafeTargetError) as exc:
        check_target("http://10.0.0.5:8080")
    assert "--allow-host 10.0.0.5" in str(exc.value)
    assert exc.value.exit_code == EXIT_REFUSED
    assert check_target("http://10.0.0.5:8080", ["10.0.0.5"]) == "10.0.0.5"
    with pytest.raises(UnsafeTargetError):
        check_target("http://10.0.0.5:8080", ["10.0.0.6"])


def test_a_target_that_is_not_an_http_url_is_refused() -> None:
    with pytest.raises(UnsafeTargetError, match="is not an http"):
        check_target("ftp://127.0.0.1/")
    with pytest.raises(UnsafeTargetError, match="no target host"):
        check_target("")


def _processes_2() -> list[str]:
    """--processes 2 on a free loopback port: Locust's default 5557 is shared by every run on the machine.
    Called by the test itself: a port picked at collection is minutes old when the master binds it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = str(sock.getsockname()[1])
    return ["--processes", "2", "--master-bind-host", "127.0.0.1", "--master-bind-port", port, "--master-port", port]


@pytest.mark.parametrize("processes", [1, 2], ids=["local", "processes-2"])
def test_plain_locust_refuses_a_non_loopback_host_without_the_allow_flag(tmp_path: Path, processes: int) -> None:
    extra = _processes_2() if processes == 2 else []
    cmd = [
        sys.executable, "-m", "locust", "-f", str(ROOT / "locustfile.py"), "--headless",
        "--host", "http://shop.example.com:8080", "--run-dir", str(tmp_path / "run"), *extra,
    ]  # fmt: skip
    started = time.monotonic()
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    # forked workers are ended at once: Locust alone would wait 60 s for their heartbeat, so any
    # run under 55 s shows that, however slow start-up is on a loaded machine
    assert time.monotonic() - started < 55
    assert result.returncode == EXIT_REFUSED
    assert REFUSAL in result.stderr
    assert "--allow-host shop.example.com" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run" / "requests.parquet").exists()


def test_doorbuster_load_refuses_before_starting_locust(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "doorbuster.cli", "load", "--host", "http://shop.example.com:8080"]
    result = subprocess.run([*cmd, "--run-dir", str(tmp_path / "run")], capture_output=True, text=True, timeout=60)
    assert result.returncode == EXIT_REFUSED
    assert result.stderr.startswith(f"doorbuster: error: {REFUSAL}")
    assert not (tmp_path / "run").exists()


def test_doorbuster_load_names_a_bad_shape_argument(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "doorbuster.cli", "load", "--host", "http://127.0.0.1:9"]
    cmd += ["--shape", "ramp", "--shape-args", "hold=soon", "--run-dir", str(tmp_path / "run")]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == EXIT_BAD_INPUT
    assert "shape ramp: hold='soon': expected a duration such as 90, 90s" in result.stderr
