"""Live progress: the figures a performance engineer watches, on a terminal and in a CI log."""

from __future__ import annotations

import io

from rich.console import Console

from doorbuster.cli import build_parser
from doorbuster.gameday.feed import Snapshot
from doorbuster.gameday.progress import PlainProgress, ProgressView, RichProgress, make_progress, plain_line
from doorbuster.gameday.stops import Margin

T0 = 1_764_000_000.0


def _view() -> ProgressView:
    snapshot = Snapshot(
        t0=T0,
        now=T0 + 75,
        planned_rps=50.0,
        stage="5x steady",
        achieved_rps=48.7,
        p95_ms=23.0,
        error_rate=0.0123,
        requests=3000,
        failures=37,
    )
    return ProgressView(
        snapshot,
        load_s=150,
        active=["partition-inventory-legacy#0 (9s)"],
        next_fault="kill-orders-pod#1 at +112s (in 37s)",
        margins=[Margin("error-rate", "1.23% of 480", "≤ 10% over 15 s", "ok")],
    )


def test_a_plain_line_carries_every_figure() -> None:
    line = plain_line(_view())
    for part in (
        "+1:15",
        "left 1:15",
        "step 5x steady",
        "req/s 48.7/50.0 planned",
        "p95 23 ms",
        "errors 1.23%",
        "fault partition-inventory-legacy#0 (9s)",
        "next kill-orders-pod#1 at +112s (in 37s)",
        "stop[error-rate] 1.23% of 480 (≤ 10% over 15 s, ok)",
    ):
        assert part in line, (part, line)


def test_plain_lines_come_every_few_seconds_not_every_tick() -> None:
    out = io.StringIO()
    progress = PlainProgress(out, every_s=3600)
    for _ in range(5):
        progress.update(_view())
    progress.update(_view(), force=True)
    assert len(out.getvalue().splitlines()) == 2


def test_the_terminal_panel_shows_the_same_figures() -> None:
    console = Console(file=io.StringIO(), width=140, force_terminal=False)
    console.print(RichProgress(console).render(_view()))
    text = console.file.getvalue()
    for part in (
        "48.7",
        "50.0",
        "23 ms",
        "1.23%",
        "37 of 3,000 failed",
        "partition-inventory-legacy#0 (9s)",
        "kill-orders-pod#1 at +112s",
        "stop: error-rate",
        "1:15 left of 2:30",
    ):
        assert part in text, (part, text)


def test_no_terminal_means_plain_lines() -> None:
    assert isinstance(make_progress(io.StringIO()), PlainProgress)


def test_the_old_option_names_still_work_hidden() -> None:
    args = build_parser().parse_args(["gameday", "--target", "http://127.0.0.1:8080", "--duration", "90"])
    assert (args.host, args.run_time) == ("http://127.0.0.1:8080", 90.0)
    assert "--target" not in build_parser()._subparsers._group_actions[0].choices["gameday"].format_help()
