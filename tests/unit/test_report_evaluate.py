"""SLO evaluation on synthetic run folders with exactly known trouble injected (numpy-drawn)."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from doorbuster.reports import columns as c
from doorbuster.reports.baseline import compare
from doorbuster.reports.evaluate import GO, INCONCLUSIVE, NO_GO, Evaluation, evaluate
from doorbuster.reports.load import load_run
from doorbuster.reports.metrics import short_of_plan
from doorbuster.reports.results import FAIL, NO_DATA, PASS, UNOFFERED
from doorbuster.reports.slo import SLOFile, load_slo_file, parse_slo
from doorbuster.reports.synthetic import Burst, FaultSpec, Slowdown, SyntheticRun

THREE_STEPS = ((1.0, 60.0, "steady"), (5.0, 60.0, "steady"), (10.0, 60.0, "steady"))


def _evaluate(tmp_path: Path, run: SyntheticRun, slo: SLOFile | None = None, name: str = "run") -> Evaluation:
    return evaluate(load_run(run.write(tmp_path / name)), slo or load_slo_file())


def _by_name(ev: Evaluation) -> dict[str, object]:
    return {r.name: r for r in ev.results}


def _verdicts(ev: Evaluation) -> dict[str, str]:
    return {r.name: r.verdict for r in ev.results}


def test_a_clean_run_passes_every_slo_and_is_go(tmp_path: Path) -> None:
    ev = _evaluate(tmp_path, SyntheticRun(stages=THREE_STEPS))
    assert set(_verdicts(ev).values()) == {PASS}, _verdicts(ev)  # no trouble injected: no warning either
    assert (ev.verdict, ev.exit_code) == (GO, 0)
    assert ev.banner.headline == (
        f"GO: all 7 SLOs met on {ev.total_requests:,} requests at the planned load (100% of it sent), "
        "nothing lost or oversold"
    )
    assert ev.reasons[0].startswith("load trusted: achieved / planned requests 100% (limit ≥ 90%); generator CPU")


def test_figures_equal_an_independent_numpy_computation_on_the_raw_requests(tmp_path: Path) -> None:
    run = SyntheticRun(stages=THREE_STEPS, lag_ms=25.0, slowdowns=[Slowdown(30, 50, 400.0, "GET /search")])
    ev = _evaluate(tmp_path, run)
    raw = run.requests()
    # Each request started 25 ms behind its schedule: that wait counts (coordinated omission).
    delay_ms = (raw[c.TS].to_numpy() - raw[c.INTENDED_TS].to_numpy()) * 1000.0
    assert delay_ms == pytest.approx(np.full(len(raw), 25.0), abs=0.01)
    corrected = raw[c.LATENCY_MS].to_numpy() + delay_ms
    results = _by_name(ev)
    assert results["page-time-average"].measured == pytest.approx(corrected.mean())
    search = (raw[c.NAME] == "GET /search").to_numpy()
    assert results["search-p95"].measured == pytest.approx(np.quantile(corrected[search], 0.95))
    orders = (raw[c.NAME] == "POST /api/orders").to_numpy()
    assert results["checkout-p95"].measured == pytest.approx(np.quantile(corrected[orders], 0.95))
    # Per window: exact percentiles of that window's requests, never an average of averages.
    window = np.floor((raw[c.TS].to_numpy() - run.t0) / 10.0)
    for i in (0, 3, 12):
        row = ev.windows.iloc[i]
        assert row["p95"] == pytest.approx(np.quantile(corrected[window == i], 0.95))
        assert row["requests"] == int((window == i).sum())
    # Per endpoint, and the whole-run count.
    table = ev.endpoints.set_index(c.NAME)
    assert table.loc["GET /search", "p99"] == pytest.approx(np.quantile(corrected[search], 0.99))
    assert table["requests"].sum() == len(raw) == ev.total_requests


def test_an_injected_search_slowdown_breaches_exactly_the_search_slo(tmp_path: Path) -> None:
    run = SyntheticRun(stages=THREE_STEPS, slowdowns=[Slowdown(0, 180, 300.0, "GET /search")])
    ev = _evaluate(tmp_path, run)
    failed = sorted(name for name, v in _verdicts(ev).items() if v == FAIL)
    assert failed == ["search-p95"]
    assert (ev.verdict, ev.exit_code) == (NO_GO, 1)
    assert ev.reasons[0].startswith("search-p95 breached: ")
    assert "target ≤ 250 ms" in ev.reasons[0]


def test_an_error_burst_outside_faults_breaches_error_rate_and_availability_only(tmp_path: Path) -> None:
    run = SyntheticRun(stages=THREE_STEPS, bursts=[Burst(125, 140, 0.2)])
    ev = _evaluate(tmp_path, run)
    failed = sorted(name for name, v in _verdicts(ev).items() if v == FAIL)
    assert failed == ["availability", "error-rate"]
    # The burst sits in the 10x step: 1x and 5x held, so the 5x target is met and stays a pass.
    assert _by_name(ev)["sustained-5x"].note == "1x held, 5x held, 10x broke"
    raw = run.requests()
    assert _by_name(ev)["error-rate"].measured == pytest.approx((~raw[c.OK]).mean())
    assert _by_name(ev)["availability"].note == "2 of 3 minutes available"


def test_errors_inside_a_fault_window_count_against_the_fault_budget_not_the_run(tmp_path: Path) -> None:
    run = SyntheticRun(stages=((5.0, 150.0, "steady"),), faults=[FaultSpec(60, 80)], bursts=[Burst(60, 80, 0.04)])
    ev = _evaluate(tmp_path, run)
    results = _by_name(ev)
    raw = run.requests()
    inside = ((raw[c.TS] >= run.t0 + 60) & (raw[c.TS] <= run.t0 + 80)).to_numpy()
    fault = results["fault error rate: cut-inventory-legacy-link (Partition the inventory dual-write)"]
    assert fault.measured == pytest.approx((~raw[c.OK].to_numpy()[inside]).mean())
    assert fault.verdict == "warn"  # 4% is above the 2% warning, inside the 5% budget
    assert results["error-rate"].verdict == PASS  # scoped to no-fault
    assert ev.verdict == GO


def test_recovery_time_runs_from_the_fault_end_until_latency_is_back_for_a_sustained_window(tmp_path: Path) -> None:
    # The partition heals at 80 s but the shop stays slow (p95 > 3 s) until 120 s.
    run = SyntheticRun(
        stages=((1.0, 200.0, "steady"),), faults=[FaultSpec(60, 80)], slowdowns=[Slowdown(60, 120, 5000)]
    )
    ev = _evaluate(tmp_path, run)
    recovery = _by_name(ev)["recovery: cut-inventory-legacy-link (Partition the inventory dual-write)"]
    assert recovery.measured == pytest.approx(40.0)
    assert recovery.verdict == PASS


def test_a_kill_recovers_from_its_start_and_never_recovering_is_a_breach(tmp_path: Path) -> None:
    kill = FaultSpec(30, 31, action="kill-gateway-pod", title="Kill a gateway pod")
    run = SyntheticRun(stages=((1.0, 400.0, "steady"),), faults=[kill], slowdowns=[Slowdown(30, 400, 5000)])
    ev = _evaluate(tmp_path, run)
    recovery = _by_name(ev)["recovery: kill-gateway-pod (Kill a gateway pod)"]
    assert recovery.scope == "from the fault's start (a kill)"
    assert recovery.verdict == FAIL
    assert recovery.measured == pytest.approx(ev.t_end - (run.t0 + 30))  # observed to the end, never back
    assert "not back inside the recovery targets" in recovery.note


def test_load_below_plan_from_a_healthy_generator_is_a_throughput_breach(tmp_path: Path) -> None:
    # CPU, schedule and starts all fine, yet 60% sent: the shop did not take the load.
    ev = _evaluate(tmp_path, SyntheticRun(stages=THREE_STEPS, achieved_fraction=0.6))
    assert (ev.verdict, ev.exit_code) == (NO_GO, 1)
    assert _verdicts(ev)["throughput"] == FAIL
    assert ev.banner.headline.startswith("NO-GO: the shop took only 60% of the planned load (target 90%)")
    assert ev.banner.breaches[0].startswith("throughput breached: 60%, target ≥ 90%")


def test_load_below_plan_from_an_overloaded_generator_is_inconclusive(tmp_path: Path) -> None:
    ev = _evaluate(tmp_path, SyntheticRun(stages=THREE_STEPS, achieved_fraction=0.6, generator_cpu=99.0))
    assert (ev.verdict, ev.exit_code) == (INCONCLUSIVE, 3)
    assert ev.banner.breaches == ()
    assert ev.banner.headline.startswith(
        "INCONCLUSIVE: nothing failed, but the generator sent only 60% of the planned load, "
        "the generator ran out of CPU (p95 99%)"
    )
    missed = "load not trustworthy: achieved / planned requests 60% (limit ≥ 90%)"
    assert any(r.startswith(missed) for r in ev.reasons), ev.reasons
    # The SLO row agrees with the verdict: the shortfall may be the generator's, not the shop's.
    assert _verdicts(ev)["throughput"] == UNOFFERED
    assert FAIL not in _verdicts(ev).values(), _verdicts(ev)


def test_a_breach_wins_over_an_overloaded_generator(tmp_path: Path) -> None:
    run = SyntheticRun(stages=THREE_STEPS, generator_cpu=99.0, slowdowns=[Slowdown(0, 180, 300.0, "GET /search")])
    ev = _evaluate(tmp_path, run)
    assert _verdicts(ev)["search-p95"] == FAIL
    assert (ev.verdict, ev.exit_code) == (NO_GO, 1)  # slower still under the full load it missed
    assert ev.reasons[0].startswith("search-p95 breached: ")
    assert ev.banner.unproven[0].startswith("load not trustworthy: generator CPU (p95, worst worker) 99% (limit ≤ 90%)")


def test_schedule_lag_counts_in_latency_so_a_lagging_run_breaches_its_latency_slos(tmp_path: Path) -> None:
    ev = _evaluate(tmp_path, SyntheticRun(stages=THREE_STEPS, lag_ms=1500.0))
    assert ev.verdict == NO_GO  # every request waited 1.5 s: search p95 is far past 250 ms
    assert "search-p95" in {r.name for r in ev.results if r.verdict == FAIL}
    assert any(r.startswith("load not trustworthy: schedule lag p95 1.5 s (limit ≤ 1 s)") for r in ev.reasons)


def test_missed_starts_without_a_breach_are_inconclusive(tmp_path: Path) -> None:
    ev = _evaluate(tmp_path, SyntheticRun(stages=THREE_STEPS, missed_share=0.05))
    assert ev.verdict == INCONCLUSIVE
    assert ev.banner.headline == "INCONCLUSIVE: nothing failed, but 5% of the planned journeys never started"


def test_an_slo_without_data_is_not_a_pass(tmp_path: Path) -> None:
    run_dir = SyntheticRun(stages=THREE_STEPS).write(tmp_path / "run")
    (run_dir / "audit.json").unlink()
    ev = evaluate(load_run(run_dir), load_slo_file())
    assert _verdicts(ev)["integrity: no_negative_stock"] == NO_DATA
    assert ev.verdict == INCONCLUSIVE
    assert "integrity audit (audit.json)" in ev.run.not_measured
    assert ev.banner.unproven[-1].startswith(
        "integrity not measured: no audit.json (ledger_orders_exist, no_double_confirmation,"
    )
    assert ev.banner.headline == "INCONCLUSIVE: nothing failed, but the integrity audit is missing"


def test_an_audit_violation_is_no_go(tmp_path: Path) -> None:
    ev = _evaluate(tmp_path, SyntheticRun(stages=THREE_STEPS, audit_ok=False))
    assert _verdicts(ev)["integrity: no_negative_stock"] == FAIL
    assert ev.verdict == NO_GO
    assert _by_name(ev)["integrity: no_negative_stock"].note == "SKU-DB-1 at -2"


def test_headroom_is_the_last_load_step_before_latency_climbs(tmp_path: Path) -> None:
    ev = _evaluate(tmp_path, SyntheticRun(stages=THREE_STEPS, latency_factor={10.0: 3.0}))
    assert ev.headroom is not None
    assert (ev.headroom.climb_at, ev.headroom.headroom) == (10.0, 5.0)
    assert [m for m, _, _ in ev.headroom.steps] == [1.0, 5.0, 10.0]


def test_sustained_multiplier_stops_at_the_first_step_that_broke(tmp_path: Path) -> None:
    # 5x breaks on errors; 10x is fine again, but a shop that broke at 5x has not sustained 10x.
    ev = _evaluate(tmp_path, SyntheticRun(stages=THREE_STEPS, bursts=[Burst(60, 120, 0.01)]))
    sustained = _by_name(ev)["sustained-5x"]
    assert (sustained.measured, sustained.verdict) == (1.0, FAIL)
    assert sustained.note == "1x held, 5x broke, 10x held"


def test_error_budget_burn_rate_is_the_bad_ratio_over_the_allowed_ratio(tmp_path: Path) -> None:
    run = SyntheticRun(stages=THREE_STEPS, error_rate=0.003)
    ev = _evaluate(tmp_path, run)
    budget = next(b for b in ev.budgets if b.slo == "error-rate")
    bad = float((~run.requests()[c.OK]).mean())
    assert budget.bad_ratio == pytest.approx(bad)
    assert budget.burn_rate == pytest.approx(bad / 0.0015)
    assert budget.objective == pytest.approx(0.9985)


def test_a_baseline_diff_flags_a_p95_regression_beyond_the_tolerance(tmp_path: Path) -> None:
    slo = load_slo_file()
    before = _evaluate(tmp_path, SyntheticRun(stages=THREE_STEPS), slo, "before")
    after = _evaluate(
        tmp_path, SyntheticRun(stages=THREE_STEPS, latency_factor={1.0: 1.3, 5.0: 1.3, 10.0: 1.3}), slo, "after"
    )
    compare(after, before, "before")
    regressions = {g.name: g for g in after.regressions}
    assert regressions["checkout-p95"].regressed
    assert regressions["checkout-p95"].change == pytest.approx(0.3, abs=0.01)
    assert not regressions["error-rate"].regressed
    assert after.verdict == GO  # regressions warn unless the SLO file says fail_on_regression
    assert any(
        re.match(
            r"warning: regression: checkout-p95 rose (29|30|31)(\.\d)?% against the baseline \(\d+ ms → \d+ ms; "
            r"tolerance 10% worse\)$",
            r,
        )
        for r in after.reasons
    ), after.reasons
    strict = replace(slo, settings=replace(slo.settings, fail_on_regression=True))
    after.slo = strict
    compare(after, before, "before")
    assert after.verdict == NO_GO


def test_a_requests_csv_is_read_like_the_parquet_file(tmp_path: Path) -> None:
    run = SyntheticRun(stages=THREE_STEPS, slowdowns=[Slowdown(0, 180, 300.0, "GET /search")])
    from_csv = evaluate(load_run(run.write(tmp_path / "csv", parquet=False)), load_slo_file())
    from_parquet = _evaluate(tmp_path, run)
    assert from_csv.run.requests_file == "requests.csv"
    for a, b in zip(from_csv.results, from_parquet.results, strict=True):
        assert (a.name, a.verdict) == (b.name, b.verdict)
        assert a.measured == pytest.approx(b.measured)


def test_a_malformed_journal_is_named(tmp_path: Path) -> None:
    run_dir = SyntheticRun(stages=THREE_STEPS, faults=[FaultSpec(10, 20)]).write(tmp_path / "run")
    journal = next((run_dir / "chaos").glob("*.journal.json"))
    data = json.loads(journal.read_text())
    data["run"][1]["start"] = "yesterday"
    journal.write_text(json.dumps(data))
    from doorbuster.reports.errors import ReportError

    with pytest.raises(ReportError) as caught:
        load_run(run_dir)
    assert f"{journal}: run[1].start: expected an ISO-8601 timestamp, got 'yesterday'" == str(caught.value)


def test_an_slo_scoped_to_a_phase_sees_only_that_phase(tmp_path: Path) -> None:
    slo = parse_slo(
        {
            "slos": [
                {"name": "p95-all", "metric": "latency_p95_ms", "max": 300},
                {"name": "p95-steady", "metric": "latency_p95_ms", "max": 300, "phase": "steady"},
                {"name": "p95-ramp", "metric": "latency_p95_ms", "max": 300, "phase": "ramp"},
            ]
        },
        "phases.yaml",
    )
    run = SyntheticRun(stages=((1.0, 30.0, "ramp"), (2.0, 60.0, "steady")), slowdowns=[Slowdown(0, 30, 500.0)])
    ev = _evaluate(tmp_path, run, slo)
    assert _verdicts(ev) == {"p95-all": FAIL, "p95-steady": PASS, "p95-ramp": FAIL}
    raw = run.requests()
    ramp = (raw[c.TS] < run.t0 + 30).to_numpy()
    corrected = raw[c.LATENCY_MS].to_numpy() + (raw[c.TS] - raw[c.INTENDED_TS]).to_numpy() * 1000.0
    assert _by_name(ev)["p95-ramp"].measured == pytest.approx(np.quantile(corrected[ramp], 0.95))
    assert _by_name(ev)["p95-steady"].requests == int((~ramp).sum())


def test_a_value_past_the_warning_level_warns_but_stays_go(tmp_path: Path) -> None:
    slo = parse_slo({"slos": [{"name": "mean", "metric": "latency_mean_ms", "max": 500, "warn": 50}]}, "warn.yaml")
    ev = _evaluate(tmp_path, SyntheticRun(stages=((1.0, 60.0, "steady"),)), slo)
    result = _by_name(ev)["mean"]
    assert result.verdict == "warn" and result.margin == pytest.approx(500 - result.measured)
    assert ev.verdict == GO
    assert ev.reasons[1].startswith("warning: mean at ") and ev.reasons[1].endswith("(warning level 50 ms)")


def test_a_flash_sale_counts_its_held_peak_as_a_load_step_but_not_its_rise(tmp_path: Path) -> None:
    rise = tuple((float(m), 1.0, "spike") for m in range(2, 10))  # one tick per multiplier
    stages = ((1.0, 60.0, "steady"), *rise, (10.0, 60.0, "spike"), (1.0, 60.0, "recovery"))
    ev = _evaluate(tmp_path, SyntheticRun(stages=stages, one_x_rps=20.0, latency_factor={10.0: 3.0}))
    assert ev.headroom is not None
    assert [m for m, _, _ in ev.headroom.steps] == [1.0, 10.0]
    assert (ev.headroom.climb_at, ev.headroom.headroom) == (10.0, 1.0)
    sustained = _by_name(ev)["sustained-5x"]
    assert sustained.note == "1x held, 10x held"  # p95 at 10x is ~3x higher but inside 3 s
    assert sustained.measured == 10.0


def test_a_load_step_the_generator_never_reached_is_no_evidence_either_way(tmp_path: Path) -> None:
    # The generator sent 60% of the 10x step (a warm-up, a weak load machine); 1x and 5x held.
    run = SyntheticRun(stages=THREE_STEPS)
    run_dir = run.write(tmp_path / "run")
    requests = pd.read_parquet(run_dir / "requests.parquet")
    at_10x = (requests[c.TS] >= run.t0 + 120).to_numpy()
    drop = at_10x & (np.random.default_rng(1).random(len(requests)) < 0.4)
    requests[~drop].to_parquet(run_dir / "requests.parquet", index=False)
    slo = parse_slo(
        {"slos": [{"name": "sustained-10x", "metric": "sustained_multiplier", "min": 10,
                   "params": {"error_rate_max": 0.01}}]},
        "s.yaml",
    )  # fmt: skip
    ev = evaluate(load_run(run_dir), slo)
    sustained = _by_name(ev)["sustained-10x"]
    assert sustained.measured == 5.0
    assert re.fullmatch(r"1x held, 5x held, 10x short of its plan \((59|60)(\.\d)?% sent\)", sustained.note), (
        sustained.note
    )
    assert sustained.verdict == FAIL and sustained.load_limited
    # The generator was healthy (CPU, schedule, starts): the shop did not take 10x.
    assert ev.verdict == NO_GO
    assert ev.banner.headline == "NO-GO: requests held only 5x peak within its targets (target 10x)"
    # An overloaded generator cannot say who fell short: never given 10x, neither survived nor failed it.
    (run_dir / "generator.csv").write_text((run_dir / "generator.csv").read_text().replace(",35.0,", ",99.0,"))
    ev = evaluate(load_run(run_dir), slo)
    assert ev.verdict == INCONCLUSIVE
    assert _by_name(ev)["sustained-10x"].verdict == UNOFFERED
    missed = "sustained-10x missed (5x, target ≥ 10x), but the generator cannot vouch"
    assert any(r.startswith(missed) for r in ev.reasons), ev.reasons


def test_a_passing_run_says_how_short_the_load_fell_on_a_step_it_did_not_judge(tmp_path: Path) -> None:
    # A flash sale whose 1x lead-in lost a third of its requests to the generator's start-up: 5x
    # held, so the SLO passes, and the note must not read as if the shop had failed 1x.
    run = SyntheticRun(stages=((1.0, 30.0, "steady"), (5.0, 60.0, "spike")))
    run_dir = run.write(tmp_path / "run")
    requests = pd.read_parquet(run_dir / "requests.parquet")
    at_1x = (requests[c.TS] < run.t0 + 30).to_numpy()
    drop = at_1x & (np.random.default_rng(1).random(len(requests)) < 0.3)
    requests[~drop].to_parquet(run_dir / "requests.parquet", index=False)
    sustained = _by_name(evaluate(load_run(run_dir), load_slo_file()))["sustained-5x"]
    assert (sustained.verdict, sustained.measured) == (PASS, 5.0)
    assert re.fullmatch(r"1x short of its plan \(7\d(\.\d)?% sent\), 5x held", sustained.note), sustained.note
    assert "not reached" not in sustained.note


def test_a_fault_window_is_the_method_s_actions_unless_an_interrupt_left_it_to_the_rollback(tmp_path: Path) -> None:
    run = SyntheticRun(stages=THREE_STEPS, faults=[FaultSpec(10, 20)])
    run_dir = run.write(tmp_path / "run")
    [fault] = load_run(run_dir).faults
    assert (fault.start - run.t0, fault.end - run.t0) == pytest.approx((10, 20))  # not the rollback at 20.6
    journal = next((run_dir / "chaos").glob("*.journal.json"))
    data = json.loads(journal.read_text())
    data["status"] = "interrupted"  # the fault lasted until the rollback healed it
    journal.write_text(json.dumps(data))
    [interrupted] = load_run(run_dir).faults
    assert interrupted.end - run.t0 == pytest.approx(20.6)


@pytest.mark.parametrize(
    ("ratio", "note"),
    [
        (0.8996, "short of its plan (89.9% sent)"),
        (0.6, "short of its plan (60% sent)"),
        (0.0, "short of its plan (0% sent)"),
    ],
)
def test_a_short_steps_share_is_rounded_down_never_up_to_the_bar(ratio: float, note: str) -> None:
    assert short_of_plan(ratio) == note
