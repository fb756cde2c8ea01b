"""Achieved load is counted by when the plan intended it: each request at its iteration's intended start."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from doorbuster import runfolder as rf
from doorbuster.reports import columns as c
from doorbuster.reports.attribution import IterationStarts, Offsets, achieved_by_segment, iteration_keys
from doorbuster.reports.evaluate import GO, INCONCLUSIVE, NO_GO, Evaluation, evaluate
from doorbuster.reports.load import load_run, run_ended_ts
from doorbuster.reports.slo import load_slo_file
from doorbuster.reports.synthetic import SyntheticRun
from doorbuster.reports.transform import plan_segments

# A short game day that climbs to 40x and ends there, as `bench capacity` does.
RAMP = ((1.0, 10.0, "ramp"), (10.0, 10.0, "ramp"), (20.0, 10.0, "ramp"), (40.0, 20.0, "steady"))


def _evaluate(run_dir: Path, chunk_rows: int | None = None) -> Evaluation:
    run = load_run(run_dir)
    if chunk_rows is not None:
        assert run.requests is not None
        run.requests.chunk_rows = chunk_rows
    return evaluate(run, load_slo_file())


def _achieved(ev: Evaluation) -> tuple[float, bool | None, str]:
    check = next(x for x in ev.load_checks if x.key == "achieved")
    assert check.measured is not None
    return check.measured, check.ok, check.blame


def _send_time_ratio(run_dir: Path) -> float:
    """The old accounting: requests by their own send time over the plan until the last request."""
    ts = pq.read_table(run_dir / rf.REQUESTS_PARQUET, columns=[c.TS]).column(c.TS).to_numpy()
    segments = plan_segments(pd.read_csv(run_dir / rf.PLANNED_RATE), run_end=float(ts.max()))
    inside = np.searchsorted(segments[c.TS].to_numpy(), ts, side="right") >= 1
    return float(inside.sum() / segments["planned_requests"].sum())


def test_a_run_ending_at_its_peak_with_every_iteration_served_achieves_the_plan(tmp_path: Path) -> None:
    run_dir = SyntheticRun(stages=RAMP).write_paced(tmp_path / "run", spread_s=4.0)
    # Counted by send time the same run reads short: the defect this accounting removes.
    assert _send_time_ratio(run_dir) < 0.9
    ev = _evaluate(run_dir)
    ratio, ok, _ = _achieved(ev)
    assert ratio == pytest.approx(1.0, abs=0.005)
    assert ok is True and ev.verdict == GO, ev.banner.headline
    sustained = next(r for r in ev.results if r.metric == "sustained_multiplier")
    assert "40x held" in sustained.note


def test_iterations_the_end_cut_short_are_not_a_shortfall(tmp_path: Path) -> None:
    # Journeys longer than the end's grace: the last seconds' iterations never send their tails.
    stages = ((1.0, 70.0, "steady"), *RAMP[1:])
    run_dir = SyntheticRun(stages=stages).write_paced(tmp_path / "run", spread_s=8.0, grace_s=1.0)
    ratio, ok, _ = _achieved(_evaluate(run_dir))
    assert ratio == pytest.approx(1.0, abs=0.006) and ok is True


def test_missed_iterations_count_as_not_achieved(tmp_path: Path) -> None:
    run_dir = SyntheticRun(stages=RAMP, missed_share=0.2).write_paced(tmp_path / "run")
    ev = _evaluate(run_dir)
    ratio, ok, blame = _achieved(ev)
    assert ratio == pytest.approx(0.8, abs=0.015)
    # The generator never started them: the run cannot vouch for the shop either way.
    assert (ok, blame, ev.verdict) == (False, "generator", INCONCLUSIVE), ev.banner.headline


def test_journeys_an_erroring_shop_cut_short_still_read_short(tmp_path: Path) -> None:
    # 30% of the iterations fail their first request and send none of their other 3.
    run_dir = SyntheticRun(stages=RAMP).write_paced(tmp_path / "run", cut_share=0.3)
    ev = _evaluate(run_dir)
    ratio, ok, blame = _achieved(ev)
    assert ratio == pytest.approx(1 - 0.3 * 3 / 4, abs=0.015)
    assert (ok, blame, ev.verdict) == (False, "shop", NO_GO), ev.banner.headline


def test_requests_without_an_iteration_keep_the_send_time_accounting(tmp_path: Path) -> None:
    # A plain closed-model locustfile: no iteration id, no intended start, no iteration rows.
    run_dir = SyntheticRun(stages=RAMP).write_paced(tmp_path / "run")
    table = pq.read_table(run_dir / rf.REQUESTS_PARQUET).to_pandas()
    table = table.assign(**{c.ITERATION: "", c.INTENDED_TS: np.nan})
    table.to_parquet(run_dir / rf.REQUESTS_PARQUET, index=False)
    (run_dir / rf.ITERATIONS).unlink()
    ratio, _, _ = _achieved(_evaluate(run_dir))
    assert ratio == pytest.approx(_send_time_ratio(run_dir), abs=1e-9)


def test_the_count_is_the_same_read_in_small_chunks(tmp_path: Path) -> None:
    run_dir = SyntheticRun(stages=RAMP, missed_share=0.1).write_paced(tmp_path / "run", spread_s=6.0, grace_s=2.0)
    whole, chunked = _evaluate(run_dir), _evaluate(run_dir, chunk_rows=3_000)
    assert whole.segments is not None and chunked.segments is not None
    pd.testing.assert_frame_equal(whole.segments, chunked.segments)


@pytest.mark.parametrize("missed_share", [0.0, 0.1])
def test_the_count_from_frames_in_memory_is_the_reports(tmp_path: Path, missed_share: float) -> None:
    # The benchmarks hold the run's frames in memory; their count must be the report's, not a likeness.
    run_dir = SyntheticRun(stages=RAMP, missed_share=missed_share).write_paced(tmp_path / "run", grace_s=2.0)
    ev = _evaluate(run_dir)
    assert ev.segments is not None
    requests = pq.read_table(run_dir / rf.REQUESTS_PARQUET).to_pandas()
    segments = plan_segments(pd.read_csv(run_dir / rf.PLANNED_RATE), run_end=float(requests[c.TS].max()))
    counted = achieved_by_segment(
        segments, requests, pd.read_csv(run_dir / rf.ITERATIONS), ended=run_ended_ts(ev.run.meta)
    )
    np.testing.assert_array_equal(counted["achieved_requests"], ev.segments["achieved_requests"])
    np.testing.assert_allclose(counted["planned_requests"], ev.segments["planned_requests"], rtol=1e-12)
    # ...and it is the count by intended start, not the plan over the run's span.
    assert not np.allclose(counted["planned_requests"], segments["planned_requests"])


def _starts(rows: list[tuple[str, str, float]]) -> IterationStarts:
    frame = pd.DataFrame(rows, columns=[c.ITERATION, c.WORKER, c.INTENDED_TS]).assign(**{c.STARTED_TS: 0.0})
    starts = IterationStarts.collect([frame])
    assert starts is not None
    return starts


def test_iteration_ids_are_told_apart_by_worker_and_an_ambiguous_id_counts_by_send_time() -> None:
    # Distributed runs: each worker numbers its own iterations.
    starts = _starts([("browse/1", "w1", 10.0), ("browse/1", "w2", 20.0), ("browse/2", "w1", 30.0),
                      ("browse/2", "w1", 31.0)])  # fmt: skip
    ids = pd.Series(["browse/1", "browse/1", "browse/2", "browse/9"], dtype="category")
    workers = pd.Series(["w1", "w2", "w1", "w1"], dtype="category")
    intended, _ = starts.find(iteration_keys(ids, workers))
    np.testing.assert_array_equal(intended, [10.0, 20.0, np.nan, np.nan])


def test_the_closed_model_has_no_iteration_starts() -> None:
    frame = pd.DataFrame({c.ITERATION: ["w/browse/c1"], c.WORKER: ["w"], c.INTENDED_TS: [np.nan], c.STARTED_TS: [1.0]})
    assert IterationStarts.collect([frame]) is None


def test_an_iteration_can_send_only_what_comes_before_the_end() -> None:
    offsets = Offsets()
    # Every iteration sends one request at its start and one 2 s later.
    offsets.add(np.array([0.0, 2.0] * 500 + [0.0, 2.0] * 500), np.zeros(2000), last_sent=100.0)
    sendable = offsets.sendable_time(np.array([-1.0, 0.0, 1.0, 2.0, 3.0, 10.0]))
    # Half the requests within 2 s of the start, all of them after: 0.5 s of requests per second before.
    np.testing.assert_allclose(sendable, [0.0, 0.0, 0.5, 1.0, 2.0, 9.0], atol=0.051)


def test_a_generator_that_stopped_starting_iterations_early_still_reads_short(tmp_path: Path) -> None:
    run_dir = SyntheticRun(stages=RAMP).write_paced(tmp_path / "run")
    # planned_rate.csv as the load part writes it: a row per second of the plan.
    plan = pd.read_csv(run_dir / rf.PLANNED_RATE)
    seconds = plan[c.TS].iloc[0] + np.arange(50.0)
    plan = plan.iloc[np.searchsorted(plan[c.TS].to_numpy(), seconds, side="right") - 1].assign(**{c.TS: seconds})
    plan.to_csv(run_dir / rf.PLANNED_RATE, index=False)
    # It neither started nor recorded anything the plan wanted in its last 10 s (at 40x).
    iterations = pd.read_csv(run_dir / rf.ITERATIONS)
    gone = iterations[c.INTENDED_TS] >= seconds[0] + 40.0
    iterations[~gone].to_csv(run_dir / rf.ITERATIONS, index=False)
    requests = pq.read_table(run_dir / rf.REQUESTS_PARQUET).to_pandas()
    requests = requests[~requests[c.ITERATION].isin(iterations.loc[gone, c.ITERATION])]
    requests.to_parquet(run_dir / rf.REQUESTS_PARQUET, index=False)
    ratio, ok, _ = _achieved(_evaluate(run_dir))
    planned = 40 * (10 + 100 + 200 + 800)
    assert ratio == pytest.approx((planned - 1600 * 10) / (planned - 1600 * 1), abs=0.01)
    assert ok is False
