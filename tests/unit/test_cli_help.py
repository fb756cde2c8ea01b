"""`doorbuster --help` lists every command's exit codes from their one table, each command's
help shows an example that really parses, and the codes the help promises are the ones the
commands end with."""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path

import pytest

from doorbuster.cli import build_parser, main
from doorbuster.errors import COMMAND_EXITS, EXIT_CODES, EXIT_REFUSED, EXIT_UNREACHABLE
from doorbuster.helptext import EXAMPLES, add_epilogs, commands

REGISTERED = [name for name, _ in commands(build_parser())]


def help_of(*argv: str, capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--help"])
    assert exc.value.code == 0
    return capsys.readouterr().out


def test_every_registered_command_has_exit_codes_and_an_example() -> None:
    assert {"gameday", "up", "down", "status", "audit", "load", "report"} <= set(REGISTERED)
    assert [name for name in REGISTERED if name not in COMMAND_EXITS] == []
    assert [name for name in REGISTERED if name not in EXAMPLES] == []


@pytest.mark.parametrize("name", REGISTERED)
def test_each_example_parses_as_its_own_command(name: str) -> None:
    argv = shlex.split(EXAMPLES[name])
    assert argv[0] == "doorbuster"
    parser = build_parser()
    args = parser.parse_args(argv[1:])
    chosen = next(sub for command, sub in commands(parser) if command == name)
    assert args.func is chosen.get_default("func")


def test_top_level_help_lists_every_code_and_each_commands_codes(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_of(capsys=capsys)
    for code, meaning in EXIT_CODES.items():
        assert f"  {code:<4} {meaning}" in text
    assert re.search(r"^  load +0 5$", text, re.MULTILINE)
    assert re.search(r"^  status +0 4$", text, re.MULTILINE)
    assert re.search(r"^  audit +0 1 4$", text, re.MULTILINE)


def test_a_commands_help_shows_its_example_and_its_codes_in_their_lines(capsys: pytest.CaptureFixture[str]) -> None:
    text = help_of("status", capsys=capsys)
    assert f"example:\n  {EXAMPLES['status']}\n" in text
    assert f"  4    {COMMAND_EXITS['status'][4]}\n" in text
    assert "  130  interrupted" in text


def test_a_command_missing_from_the_table_gets_no_invented_codes() -> None:
    parser = argparse.ArgumentParser(prog="doorbuster")
    sub = parser.add_subparsers()
    sub.add_parser("up")
    sub.add_parser("frobnicate", epilog="a note of its own")
    add_epilogs(parser)
    assert [name for name, _ in commands(parser)] == ["up", "frobnicate"]
    assert "frobnicate" not in (parser.epilog or "")
    assert sub.choices["frobnicate"].epilog == "a note of its own"
    assert "exit codes:" in (sub.choices["up"].epilog or "")


def test_status_ends_with_the_code_its_help_promises_when_no_shop_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert EXIT_UNREACHABLE in COMMAND_EXITS["status"]
    assert main(["status", "--data-dir", str(tmp_path)]) == EXIT_UNREACHABLE


def test_load_ends_with_the_code_its_help_promises_for_a_refused_host(capsys: pytest.CaptureFixture[str]) -> None:
    assert EXIT_REFUSED in COMMAND_EXITS["load"]
    assert main(["load", "--host", "http://shop.example.com", "--run-time", "10s"]) == EXIT_REFUSED
    assert "shop.example.com" in capsys.readouterr().err
