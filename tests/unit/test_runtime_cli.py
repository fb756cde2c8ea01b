"""`doorbuster up|down|status` refuse bad input before starting anything, with exit 2 and a sentence."""

from __future__ import annotations

from pathlib import Path

import pytest

from doorbuster.cli import main


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--replicas", "legacy=0"], "--replicas 'legacy=0': the count must be between 1 and 8"),
        (["--replicas", "gateway=2", "--services", "legacy"], "'gateway', which is not among the services to run"),
        (["--services", "legacy,billing"], "unknown service 'billing' in --services"),
        (["--port", "70000"], "--port 70000 is not a TCP port"),
        (["--ttl", "soon"], "--ttl 'soon': expected a duration"),
        (["--ttl", "0"], "--ttl '0': must be more than zero"),
        (["--products", "0"], "--products 0 must be at least 1"),
    ],
)
def test_up_refuses_bad_input_with_exit_2_and_starts_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(["up", "--data-dir", str(tmp_path / "shop"), *args]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "shop").exists()


def test_up_and_down_refuse_a_timeout_outside_the_duration_grammar_as_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for command, value in (("up", "0"), ("down", "soon")):
        with pytest.raises(SystemExit) as exc:
            main([command, "--data-dir", str(tmp_path / "shop"), "--timeout", value])
        assert exc.value.code == 2
        assert f"--timeout {value!r}:" in capsys.readouterr().err
    assert not (tmp_path / "shop").exists()


def test_status_without_a_running_shop_exits_4_naming_the_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "--data-dir", str(tmp_path), "--json"]) == 4
    err = capsys.readouterr().err
    assert f"no shop is running from {tmp_path.resolve()}" in err


def test_down_without_a_running_shop_is_a_no_op(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["down", "--data-dir", str(tmp_path)]) == 0
    assert "no shop is running from" in capsys.readouterr().err


def test_the_data_folder_defaults_to_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DOORBUSTER_DATA_DIR", str(tmp_path / "from-env"))
    assert main(["status"]) == 4
    assert str(tmp_path / "from-env") in capsys.readouterr().err
