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
