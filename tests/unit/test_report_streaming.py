"""The report at any run length: the request table read in chunks, figures unchanged and exact."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from doorbuster.reports import columns as c
from doorbuster.reports.evaluate import Evaluation, evaluate
from doorbuster.reports.load import load_run
from doorbuster.reports.quantiles import GroupQuantiles
from doorbuster.reports.slo import load_slo_file
from doorbuster.reports.synthetic import Burst, FaultSpec, Slowdown, SyntheticRun

RUN = SyntheticRun(
    stages=((1.0, 60.0, "steady"), (5.0, 60.0, "steady"), (10.0, 60.0, "steady")),
    faults=[FaultSpec(90, 100)],
    bursts=[Burst(90, 100, 0.03), Burst(150, 152, 0.5)],
    slowdowns=[Slowdown(20, 40, 300.0, "GET /search")],
    lag_ms=7.0,
)


@pytest.mark.parametrize("dense", [False, True])
def test_group_quantiles_over_chunks_equal_numpys_on_all_values(dense: bool) -> None:
    rng = np.random.default_rng(3)
    n = 50_000
    groups = rng.integers(0, 6, n)
    groups[groups == 4] = 5  # a group without values in the middle
    values = np.concatenate([rng.lognormal(3, 1.5, n - 10), [-2.5, -0.0, 0.0, 7.0, 7.0, 7.0, 1e-9, 1e9, 3.0, 3.0]])
    qs = (0.0, 0.5, 0.95, 0.99, 0.999, 1.0)
    exact = GroupQuantiles(qs, dense=dense)
    chunks = np.array_split(np.arange(n), 9)
    for chunk in chunks:
        exact.count(groups[chunk], values[chunk])
    exact.prepare()
    for chunk in reversed(chunks):  # the second pass may see the chunks in another order
        exact.collect(groups[chunk], values[chunk])
    result = exact.result()
    for g in range(6):
        expected = np.quantile(values[groups == g], qs) if (groups == g).any() else np.full(len(qs), np.nan)
        np.testing.assert_array_equal(result[g], expected)


def _evaluate(run_dir: Path, chunk_rows: int) -> Evaluation:
    run = load_run(run_dir)
    assert run.requests is not None
    run.requests.chunk_rows = chunk_rows
    return evaluate(run, load_slo_file())


def _figures(ev: Evaluation) -> dict[str, object]:
    return {
        "verdict": ev.verdict,
        "reasons": ev.reasons,
        "results": [asdict(r) for r in ev.results],
        "windows": ev.windows.to_dict("list") if ev.windows is not None else None,
        "timeline": ev.timeline.to_dict("list") if ev.timeline is not None else None,
        "endpoints": ev.endpoints.to_dict("list") if ev.endpoints is not None else None,
        "minutes": ev.minutes.to_dict("list") if ev.minutes is not None else None,
        "errors": ev.errors.to_dict("list") if ev.errors is not None else None,
        "budgets": [asdict(b) for b in ev.budgets],
        "headroom": asdict(ev.headroom) if ev.headroom else None,
        "total": ev.total_requests,
        "t_end": ev.t_end,
    }


@pytest.mark.parametrize(
    ("parquet", "written_in", "read_in"),
    [(True, None, 997), (False, None, 997), (True, 4_000, 9_000), (True, 4_000, 1_500)],
)
def test_the_same_figures_whether_the_table_is_read_whole_or_in_small_chunks(
    tmp_path: Path, parquet: bool, written_in: int | None, read_in: int
) -> None:
    # Row groups smaller than a chunk are read several at a time; larger ones in batches.
    run_dir = RUN.write(tmp_path / "run", parquet=parquet, chunk_rows=written_in)
    whole = _figures(_evaluate(run_dir, 10_000_000))
    chunked = _figures(_evaluate(run_dir, read_in))  # windows and endpoints split across chunks
    # Counts and percentiles are equal to the bit; sums (means, rates) up to their addition order.
    assert _rounded(chunked) == _rounded(whole)


def _rounded(value: object) -> object:
    if isinstance(value, float):
        return float(f"{value:.12g}") if np.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_rounded(v) for v in value]
    return value


def test_chunked_figures_equal_an_independent_computation_on_every_request(tmp_path: Path) -> None:
    run_dir = RUN.write(tmp_path / "run")
    ev = _evaluate(run_dir, 1_000)
    raw = pd.read_parquet(run_dir / "requests.parquet")
    corrected = raw[c.LATENCY_MS].to_numpy() + (raw[c.TS] - raw[c.INTENDED_TS]).clip(lower=0).to_numpy() * 1000.0
    bad = ~raw[c.OK].to_numpy()
    ts = raw[c.TS].to_numpy()
    results = {r.name: r for r in ev.results}
    search = (raw[c.NAME] == "GET /search").to_numpy()
    orders = (raw[c.NAME] == "POST /api/orders").to_numpy()
    assert results["search-p95"].measured == np.quantile(corrected[search], 0.95)
    assert results["checkout-p95"].measured == np.quantile(corrected[orders], 0.95)
    assert results["page-time-average"].measured == pytest.approx(corrected.mean(), rel=1e-12)
    fault = ev.run.faults[0]
    outside = ~((ts >= fault.start) & (ts <= fault.end))
    assert results["error-rate"].measured == pytest.approx(bad[outside].mean(), rel=1e-12)
    assert results["error-rate"].requests == int(outside.sum())
    window = np.floor((ts - ev.t0) / 10.0).astype(int)
    assert ev.windows is not None
    for i, row in ev.windows.iterrows():
        inside = window == i
        assert row["requests"] == inside.sum()
        assert row["p99"] == np.quantile(corrected[inside], 0.99)
        assert row["bad"] == bad[inside].sum()
    assert ev.endpoints is not None
    for _, row in ev.endpoints.iterrows():
        mine = ((raw[c.JOURNEY] == row[c.JOURNEY]) & (raw[c.NAME] == row[c.NAME])).to_numpy()
        assert (row["requests"], row["max_ms"]) == (mine.sum(), corrected[mine].max())
        assert row["p50"] == np.quantile(corrected[mine], 0.5)
    assert ev.total_requests == len(raw)
    assert ev.t_end == pytest.approx((ts + raw[c.LATENCY_MS].to_numpy() / 1000.0).max())


@pytest.mark.parametrize("chunk_rows", [10_000_000, 333])
def test_schedule_lag_p95_is_exact_over_the_iterations_that_started_in_any_chunking(
    tmp_path: Path, chunk_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_dir = SyntheticRun(stages=((1.0, 60.0, "steady"),), missed_share=0.02).write(tmp_path / "run")
    iterations = pd.read_csv(run_dir / "iterations.csv")
    rng = np.random.default_rng(5)
    iterations["lag_ms"] = rng.lognormal(2, 1, len(iterations))
    iterations.to_csv(run_dir / "iterations.csv", index=False)
    monkeypatch.setattr("doorbuster.reports.load.CHUNK_ROWS", chunk_rows)
    schedule = load_run(run_dir).schedule
    assert schedule is not None
    started = iterations.loc[~iterations["missed"], "lag_ms"].to_numpy()
    assert schedule.lag_p95_ms == np.quantile(started, 0.95)
    assert (schedule.iterations, schedule.missed) == (len(iterations), int(iterations["missed"].sum()))


def test_a_spike_of_equal_values_is_kept_as_one_entry_and_stays_exact() -> None:
    # A lag on the pacing's tick grid, a timeout: most values equal, the percentile inside them.
    rng = np.random.default_rng(9)
    values = np.where(rng.random(300_000) < 0.9, 4.0, rng.lognormal(1, 1, 300_000))
    groups = np.zeros(len(values), dtype=np.int64)
    exact = GroupQuantiles((0.5, 0.95, 0.99), dense=True)
    chunks = np.array_split(np.arange(len(values)), 5)
    for chunk in chunks:
        exact.count(groups[chunk], values[chunk])
    exact.prepare()
    for chunk in chunks:
        exact.collect(groups[chunk], values[chunk])
    kept = sum(len(found[0]) for found in exact._found)
    assert kept < 30_000  # 270,000 fours are a handful of entries, not 270,000 rows
    np.testing.assert_array_equal(exact.result()[0], np.quantile(values, (0.5, 0.95, 0.99)))
