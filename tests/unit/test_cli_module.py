import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_module(*args: str) -> subprocess.CompletedProcess[str]:
    # From the checkout's root, so `-m` finds this checkout's package first.
    return subprocess.run(
        [sys.executable, "-m", "doorbuster", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


def test_python_m_doorbuster_help_prints_the_commands_and_exits_0() -> None:
    result = run_module("--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: doorbuster")
    assert "gameday" in result.stdout


def test_python_m_doorbuster_passes_the_exit_code_through() -> None:
    # Without a command, `doorbuster` prints its help and exits 2; `-m` must not turn that into 0.
    result = run_module()
    assert result.returncode == 2, result.stderr
    assert "usage: doorbuster" in result.stdout
