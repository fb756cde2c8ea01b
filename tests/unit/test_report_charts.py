"""Charts that do not mislead: buckets drawn over their own span, widths that follow the run's
length, fault windows shaded where the chaos journals put them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.patches import Polygon, Rectangle

from doorbuster.reports import plot
from doorbuster.reports.evaluate import Evaluation, evaluate
from doorbuster.reports.load import load_run
from doorbuster.reports.slo import load_slo_file
from doorbuster.reports.synthetic import FaultSpec, SyntheticRun
from doorbuster.reports.transform import chart_bucket_s


def _evaluate(tmp_path: Path, run: SyntheticRun) -> Evaluation:
    return evaluate(load_run(run.write(tmp_path / "run")), load_slo_file())


@pytest.mark.parametrize(
    ("duration_s", "bucket_s"), [(20, 0.5), (60, 1), (180, 5), (600, 10), (3600, 60), (86_400, 1800), (604_800, 14400)]
)
def test_the_bucket_width_follows_the_runs_length(duration_s: float, bucket_s: float) -> None:
    assert chart_bucket_s(duration_s) == bucket_s
    assert 30 <= duration_s / bucket_s <= 60


def test_a_one_minute_run_gets_at_least_30_points(tmp_path: Path) -> None:
    ev = _evaluate(tmp_path, SyntheticRun(stages=((1.0, 60.0, "steady"),)))
    assert ev.timeline is not None
    assert len(ev.timeline) >= 30
    assert set(ev.timeline["span_s"]) == {1.0}
    assert ev.timeline["rps"].isna().sum() == 0
    assert ev.timeline["requests"].sum() == ev.total_requests  # every request in exactly one bucket


def test_each_bucket_is_drawn_over_its_own_span_so_achieved_follows_the_plan_in_step(tmp_path: Path) -> None:
    run = SyntheticRun(stages=((1.0, 30.0, "steady"), (5.0, 30.0, "steady")), one_x_rps=50.0)
    ev = _evaluate(tmp_path, run)
    ax = Figure().add_subplot()
    plot.plot_throughput(ax, ev.timeline, ev.segments, [], ev.t0)
    achieved, planned = (line for line in ax.get_lines() if line.get_label() in ("achieved req/s", "planned req/s"))
    # A step line: each value held from its bucket's left edge to its right edge.
    xs, ys = achieved.get_xdata(), achieved.get_ydata()
    edges, values = np.append(xs[0::2], xs[-1]), ys[0::2]
    assert np.allclose(xs[1::2], edges[1:]) and np.allclose(ys[1::2], values)
    assert np.allclose(np.diff(edges), 1.0)
    # The achieved rate steps up over the same second the plan does, not half a bucket before it.
    assert planned.get_xdata()[1] == pytest.approx(30.0)
    midway = (50.0 + 250.0) / 2
    first_high = edges[int(np.argmax(values > midway))]
    assert first_high == pytest.approx(30.0)
    assert values[: int(np.argmax(values > midway))].max() < midway


def test_fault_windows_are_shaded_on_every_timeline_chart(tmp_path: Path) -> None:
    run = SyntheticRun(stages=((1.0, 120.0, "steady"),), faults=[FaultSpec(40, 55)])
    ev = _evaluate(tmp_path, run)
    assert [(f.start - ev.t0, f.end - ev.t0) for f in ev.run.faults] == [pytest.approx((40.0, 55.0))]
    for draw in (
        lambda ax: plot.plot_latency(ax, ev.timeline, ev.run.faults, ev.t0, 3000.0),
        lambda ax: plot.plot_throughput(ax, ev.timeline, ev.segments, ev.run.faults, ev.t0),
        lambda ax: plot.plot_errors(ax, ev.timeline, ev.minutes, ev.run.faults, ev.t0),
    ):
        ax = Figure().add_subplot()
        draw(ax)
        spans = [p for p in ax.patches if isinstance(p, Polygon | Rectangle)]
        assert len(spans) == 1
        span = spans[0]
        if isinstance(span, Rectangle):
            xs = [span.get_x(), span.get_x() + span.get_width()]
        else:
            xs = list(span.get_xy()[:, 0])
        assert (min(xs), max(xs)) == pytest.approx((40.0, 55.0))
        assert "fault window" in ax.get_legend_handles_labels()[1]
