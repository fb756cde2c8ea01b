"""Charts: each function draws on an Axes it is given (no pyplot state); `png` renders a figure."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

import matplotlib

matplotlib.use("Agg")  # headless, and never a GUI backend inside CI

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from doorbuster.reports import columns as c
from doorbuster.reports.load import Fault
from doorbuster.reports.results import Headroom
from doorbuster.reports.transform import SPAN

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


def _edges(timeline: pd.DataFrame, t0: float) -> np.ndarray:
    # Bucket i covers [start_i, start_i + span_i): drawn over that span, never at a single point,
    # so an achieved rate cannot appear to lead or lag the plan by half a bucket.
    starts = timeline[c.WINDOW].to_numpy(dtype=float) - t0
    return np.append(starts, starts[-1] + float(timeline[SPAN].iloc[-1]))


def _step_xy(values: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Each value held flat from its left edge to its right edge; a NaN (an empty bucket) breaks
    # the line instead of dropping it to zero.
    return np.repeat(edges, 2)[1:-1], np.repeat(values, 2)


def _stairs(ax: Axes, timeline: pd.DataFrame, values: pd.Series, t0: float, **style: object) -> None:
    xs, ys = _step_xy(values.to_numpy(dtype=float), _edges(timeline, t0))
    ax.plot(xs, ys, **style)  # type: ignore[arg-type]


def _finish(ax: Axes, title: str, ylabel: str, timeline: pd.DataFrame, faults: Sequence[Fault], t0: float) -> None:
    """What every chart over the run has: the fault windows shaded, a zero floor, a title, the time
    axis in buckets, a grid and a legend."""
    shade_faults(ax, faults, t0)
    ax.set_ylim(bottom=0)
    ax.set_title(title)
    if timeline is not None and len(timeline):
        ax.set_xlim(0, float(_edges(timeline, t0)[-1]))
    bucket = float(timeline[SPAN].iloc[0]) if timeline is not None and len(timeline) else None
    ax.set_xlabel("seconds since start" + (f" (buckets of {bucket:g} s)" if bucket else ""))
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", fontsize="small", ncols=4)


def plot_latency(ax: Axes, timeline: pd.DataFrame, faults: Sequence[Fault], t0: float, target_ms: float | None) -> None:
    """Latency percentiles per bucket (exact, from raw requests where they exist)."""
    for column, style in (("p50", "-"), ("p95", "-"), ("p99", ":")):
        if column in timeline and timeline[column].notna().any():
            _stairs(ax, timeline, timeline[column], t0, linestyle=style, label=column, linewidth=1.4)
    if target_ms is not None:
        ax.axhline(target_ms, color="black", linestyle="--", linewidth=1, label=f"p95 target {target_ms:g} ms")
    _finish(ax, "Latency percentiles", "ms", timeline, faults, t0)


def plot_throughput(
    ax: Axes, timeline: pd.DataFrame, segments: pd.DataFrame | None, faults: Sequence[Fault], t0: float
) -> None:
    """Requests per second achieved per bucket against the plan's step function."""
    _stairs(ax, timeline, timeline["rps"], t0, label="achieved req/s", linewidth=1.4)
    if segments is not None and len(segments):
        edges = np.append(segments[c.TS].to_numpy(dtype=float), float(segments["end"].iloc[-1])) - t0
        xs, ys = _step_xy(segments[c.PLANNED_RPS].to_numpy(dtype=float), edges)
        ax.plot(xs, ys, color="black", linestyle="--", linewidth=1, label="planned req/s")
    _finish(ax, "Throughput: planned vs achieved", "requests / s", timeline, faults, t0)


def plot_errors(
    ax: Axes, timeline: pd.DataFrame, minutes: pd.DataFrame | None, faults: Sequence[Fault], t0: float
) -> None:
    """Error rate per bucket and, where raw requests exist, availability per minute."""
    _stairs(ax, timeline, timeline["error_rate"] * 100, t0, color=FAULT_COLOUR, label="error rate %", linewidth=1.4)
    if minutes is not None and len(minutes):
        twin = ax.twinx()
        edges = np.append(minutes["minute"].to_numpy(dtype=float), float(minutes["minute"].iloc[-1]) + 60) - t0
        xs, ys = _step_xy((minutes["ok_ratio"] * 100).to_numpy(dtype=float), edges)
        twin.plot(xs, ys, color="#2ca02c", linewidth=1.2, label="success % per minute")
        twin.set_ylabel("success % per minute")
        twin.set_ylim(min(90.0, float(minutes["ok_ratio"].min()) * 100 - 1), 100.5)
        twin.legend(loc="upper right", fontsize="small")
    _finish(ax, "Errors and availability", "error rate %", timeline, faults, t0)


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
