"""Live progress of a game day: a rich panel on a terminal, plain lines every few seconds elsewhere."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from doorbuster.gameday.feed import Snapshot
from doorbuster.gameday.stops import Margin

__all__ = ["PlainProgress", "ProgressView", "RichProgress", "make_progress"]

PLAIN_EVERY_S = 5.0


@dataclass
class ProgressView:
    snapshot: Snapshot
    load_s: float  # the planned length of the load
    active: list[str] = field(default_factory=list)  # experiments running, with their age
    next_fault: str = ""  # the next scheduled experiment and when
    margins: list[Margin] = field(default_factory=list)
    note: str = ""

    @property
    def time_left(self) -> float | None:
        elapsed = self.snapshot.elapsed
        return None if elapsed is None else max(0.0, self.load_s - elapsed)


def _rps(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.2f}%"


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f} ms"


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}:{secs:02d}"


def plain_line(view: ProgressView) -> str:
    s = view.snapshot
    parts = [
        f"+{_clock(s.elapsed)}" if s.elapsed is not None else "waiting for the load",
        f"left {_clock(view.time_left)}",
        f"step {s.stage or '—'}",
        f"req/s {_rps(s.achieved_rps)}/{_rps(s.planned_rps)} planned",
        f"p95 {_ms(s.p95_ms)}",
        f"errors {_pct(s.error_rate)}",
        f"fault {', '.join(view.active) or 'none'}",
        f"next {view.next_fault or 'none'}",
    ]
    parts += [f"stop[{m.name}] {m.measured} ({m.limit}, {m.state})" for m in view.margins]
    if view.note:
        parts.append(view.note)
    return "gameday: " + " | ".join(parts)


class PlainProgress:
    """For CI logs: one line every few seconds, and at once whenever something notable happens."""

    def __init__(self, out: TextIO = sys.stdout, every_s: float = PLAIN_EVERY_S) -> None:
        self.out = out
        self.every_s = every_s
        self._last: float | None = None  # the first update always prints

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *_: Any) -> None:
        pass

    def update(self, view: ProgressView, *, force: bool = False) -> None:
        now = time.monotonic()
        if force or self._last is None or now - self._last >= self.every_s:
            self._last = now
            print(plain_line(view), file=self.out, flush=True)

    def event(self, text: str) -> None:
        print(f"gameday: {text}", file=self.out, flush=True)


class RichProgress:
    """A terminal panel refreshed in place (rich.live), instead of Locust's stats table."""

    def __init__(self, console: Any = None) -> None:
        from rich.console import Console
        from rich.live import Live

        self.console = console or Console()
        self._live = Live(console=self.console, refresh_per_second=2, transient=False)

    def __enter__(self) -> RichProgress:
        self._live.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._live.__exit__(*exc)

    def update(self, view: ProgressView, *, force: bool = False) -> None:
        self._live.update(self.render(view))

    def event(self, text: str) -> None:
        self.console.print(f"[bold]gameday:[/bold] {text}")

    def render(self, view: ProgressView) -> Any:
        """The panel for `view` (a rich Table)."""
        from rich.table import Table

        s = view.snapshot
        table = Table(title="Doorbuster game day", show_header=True, expand=False)
        table.add_column("")
        table.add_column("now", justify="right")
        table.add_column("target / limit", justify="right")
        elapsed = "waiting for the load" if s.elapsed is None else f"+{_clock(s.elapsed)}"
        table.add_row("time", elapsed, f"{_clock(view.time_left)} left of {_clock(view.load_s)}")
        table.add_row("load step", s.stage or "—", "")
        table.add_row("req/s (achieved / planned)", _rps(s.achieved_rps), _rps(s.planned_rps))
        table.add_row("p95", _ms(s.p95_ms), "")
        table.add_row("error rate (10 s)", _pct(s.error_rate), f"{s.failures:,} of {s.requests:,} failed")
        table.add_row("active fault", ", ".join(view.active) or "none", "")
        table.add_row("next fault", view.next_fault or "none", "")
        colours = {"ok": "green", "watch": "yellow", "fired": "bold red", "waiting": "dim"}
        for m in view.margins:
            table.add_row(f"stop: {m.name}", f"[{colours.get(m.state, '')}]{m.measured}[/]", m.limit)
        if view.note:
            table.add_row("note", view.note, "")
        return table


def make_progress(stream: TextIO = sys.stdout) -> PlainProgress | RichProgress:
    return RichProgress() if stream.isatty() else PlainProgress(stream)
