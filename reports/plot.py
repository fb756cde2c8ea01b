"""Charts: each function draws on an Axes it is given (no pyplot state); `png` renders a figure."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

import matplotlib

matplotlib.use("Agg")  # headless, and never a GUI backend inside CI

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from reports import columns as c
from reports.load import Fault
from reports.results import Headroom

__all__ = ["plot_errors", "plot_headroom", "plot_latency", "plot_throughput", "png", "shade_faults"]

FAULT_COLOUR = "#d62728"


def png(draw: Callable[[Axes], None], *, width: float = 9.0, height: float = 3.2, dpi: int = 90) -> bytes:
    """Render one chart to PNG bytes."""
    # Fixed margins: constrained layout measures every tick label and costs more than the drawing.
    fig = Figure(figsize=(width, height), dpi=dpi)
    fig.subplots_adjust(left=0.08, right=0.92, bottom=0.16, top=0.9)
    FigureCanvasAgg(fig)
    draw(fig.add_subplot())
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def shade_faults(ax: Axes, faults: Sequence[Fault], t0: float) -> None:
    """Shade each fault window, labelled once in the legend."""
    for i, fault in enumerate(faults):
        label = "fault window" if i == 0 else None
        ax.axvspan(
            fault.start - t0,
            max(fault.end, fault.start + 0.5) - t0,
            color=FAULT_COLOUR,
            alpha=0.15,
            label=label,
            linewidth=0,
        )


def _finish(ax: Axes, ylabel: str, windows: pd.DataFrame | None = None, t0: float = 0.0) -> None:
    if windows is not None and len(windows) > 1:
        step = float(windows[c.WINDOW].diff().min())
        ax.set_xlim(0, float(windows[c.WINDOW].max()) + step - t0)  # the run, not the last minute's step
    ax.set_xlabel("seconds since start")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", fontsize="small", ncols=4)


def plot_latency(ax: Axes, windows: pd.DataFrame, faults: Sequence[Fault], t0: float, target_ms: float | None) -> None:
    """Latency percentiles per window (exact, from raw requests where they exist)."""
    x = windows[c.WINDOW] - t0
    for column, style in (("p50", "-"), ("p95", "-"), ("p99", ":")):
        if column in windows and windows[column].notna().any():
            ax.plot(x, windows[column], style, label=column, linewidth=1.4)
    if target_ms is not None:
        ax.axhline(target_ms, color="black", linestyle="--", linewidth=1, label=f"p95 target {target_ms:g} ms")
    shade_faults(ax, faults, t0)
    ax.set_ylim(bottom=0)
    ax.set_title("Latency percentiles")
    _finish(ax, "ms", windows, t0)


def plot_throughput(
    ax: Axes, windows: pd.DataFrame, segments: pd.DataFrame | None, faults: Sequence[Fault], t0: float
) -> None:
    """Requests per second achieved per window against the plan's step function."""
    ax.plot(windows[c.WINDOW] - t0, windows["rps"], label="achieved req/s", linewidth=1.4)
    if segments is not None and len(segments):
        xs = [*(segments[c.TS] - t0), float(segments["end"].iloc[-1]) - t0]
        ys = [*(segments[c.PLANNED_RPS].astype(float)), float(segments[c.PLANNED_RPS].iloc[-1])]
        ax.step(xs, ys, where="post", color="black", linestyle="--", linewidth=1, label="planned req/s")
    shade_faults(ax, faults, t0)
    ax.set_ylim(bottom=0)
    ax.set_title("Throughput: planned vs achieved")
    _finish(ax, "requests / s", windows, t0)


def plot_errors(
    ax: Axes, windows: pd.DataFrame, minutes: pd.DataFrame | None, faults: Sequence[Fault], t0: float
) -> None:
    """Error rate per window and, where raw requests exist, availability per minute."""
    ax.plot(
        windows[c.WINDOW] - t0, windows["error_rate"] * 100, color=FAULT_COLOUR, label="error rate %", linewidth=1.4
    )
    shade_faults(ax, faults, t0)
    ax.set_ylim(bottom=0)
    ax.set_title("Errors and availability")
    if minutes is not None and len(minutes):
        twin = ax.twinx()
        xs = [*(minutes["minute"] - t0), float(minutes["minute"].iloc[-1]) - t0 + 60]
        ys = [*(minutes["ok_ratio"] * 100), float(minutes["ok_ratio"].iloc[-1]) * 100]
        twin.step(xs, ys, where="post", color="#2ca02c", linewidth=1.2, label="success % per minute")
        twin.set_ylabel("success % per minute")
        twin.set_ylim(min(90.0, float(minutes["ok_ratio"].min()) * 100 - 1), 100.5)
        twin.legend(loc="upper right", fontsize="small")
    _finish(ax, "error rate %", windows, t0)


def plot_headroom(ax: Axes, head: Headroom) -> None:
    """Latency at each load step (multiple of 1x peak), marking where it starts to climb."""
    xs = [m for m, _, _ in head.steps]
    ys = [lat for _, lat, _ in head.steps]
    ax.plot(xs, ys, "o-", linewidth=1.4, label=f"p{head.percentile:g} per load step")
    if head.climb_at is not None:
        ax.axvline(
            head.climb_at,
            color=FAULT_COLOUR,
            linestyle="--",
            linewidth=1,
            label=f"latency climbs at {head.climb_at:g}x",
        )
    ax.set_ylim(bottom=0)
    ax.set_title("Headroom")
    ax.set_xlabel("load (multiple of 1x peak)")
    ax.set_ylabel("ms")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", fontsize="small")
