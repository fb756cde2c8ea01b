import pytest

from doorbuster.cli import main
from doorbuster.runfolder import new_run_dir


def test_cli_without_a_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage: doorbuster" in capsys.readouterr().out


def test_unknown_command_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as exc:
        main(["no-such-command"])
    assert exc.value.code == 2


def test_new_run_dir_makes_a_fresh_folder_each_time(tmp_path) -> None:
    first = new_run_dir(tmp_path)
    second = new_run_dir(tmp_path)
    assert first.is_dir() and second.is_dir() and first != second


def test_load_help_lists_every_shape_with_its_arguments_and_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["load", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "  ramp        steps=1/5/10, hold=60, ramp=10, step_s=-" in out
    assert "  steady      multiplier=1, duration=300" in out
    for shape in ("spike", "blackfriday", "soak"):
        assert f"  {shape} " in out
    assert "doorbuster load --host http://127.0.0.1:8080 --shape ramp --shape-args" in out
    assert "4 the shop is unreachable or every request failed" in out


@pytest.mark.parametrize("run_time", ["0", "0s", "nan", "soon"])
def test_load_refuses_a_run_time_that_is_not_a_positive_duration(
    run_time: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["load", "--host", "http://127.0.0.1:9", "--run-time", run_time])
    assert exc.value.code == 2
    assert f"--run-time {run_time!r}" in capsys.readouterr().err
