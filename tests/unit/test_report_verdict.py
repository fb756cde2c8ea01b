"""The one verdict: every combination of breach, integrity, load trust and not-applicable SLOs,
and the banner's first sentence on GO, NO-GO, INCONCLUSIVE and could-not-evaluate runs."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from doorbuster.cli import main
from doorbuster.reports.checks import integrity_phrase, integrity_results
from doorbuster.reports.evaluate import evaluate
from doorbuster.reports.load import load_run
from doorbuster.reports.results import FAIL, NO_DATA, NOT_APPLICABLE, PASS, TOO_FEW, LoadCheck, Result
from doorbuster.reports.slo import load_slo_file
from doorbuster.reports.synthetic import SyntheticRun
from doorbuster.reports.verdict import GO, INCONCLUSIVE, NO_GO, judge_run


def _slo(verdict: str, *, name: str = "checkout-p95", requests: int = 200, measured: float = 8012.0) -> Result:
    return Result(
        name=name,
        kind="slo",
        metric="latency_p95_ms",
        scope="endpoint POST *order*",
        measured=None if verdict == NO_DATA else measured,
        target=3000.0,
        direction="max",
        warn=None,
        verdict=verdict,
        source="requests (exact)",
        requests=requests,
        subject="checkouts",
        min_requests=20,
    )


def _integrity(verdict: str) -> Result:
    """The no_negative_stock invariant as the report reads it from audit.json: intact, 2 SKUs oversold, unaudited."""
    ok = verdict == PASS
    invariant = {"name": "no_negative_stock", "ok": ok, "violations": 0 if ok else 2}
    (result,) = integrity_results(None if verdict == NO_DATA else {"invariants": [invariant]}, ("no_negative_stock",))
    assert result.verdict == verdict
    return result


def _whole_run_slo(name: str, metric: str, **fields: Any) -> Result:
    """An SLO on the whole run against its plan: load-limited, so a plan never offered is not a breach."""
    return Result(name=name, kind="slo", metric=metric, scope="all requests", direction="min", warn=None,
                  load_limited=True, **fields)  # fmt: skip


def _not_applicable() -> Result:
    return _whole_run_slo("sustained-5x", "sustained_multiplier", measured=None, target=5.0, verdict=NOT_APPLICABLE,
                          source="planned_rate.csv", note="the plan never held 5x (its highest step: 1x)")  # fmt: skip


def _throughput(verdict: str) -> Result:
    measured = 0.88 if verdict == FAIL else 0.99
    return _whole_run_slo("throughput", "achieved_ratio", measured=measured, target=0.9, verdict=verdict,
                          source="requests + planned_rate.csv", requests=8800, subject="the shop")  # fmt: skip


def _check(key: str, ok: bool | None, blame: str = "") -> LoadCheck:
    metric = {"achieved": "achieved_ratio", "cpu": "cpu_percent", "user_cap": "seconds", "lag": "lag_ms"}[key]
    measured = {"achieved": (0.99, 0.88), "cpu": (40.0, 99.0), "user_cap": (0.0, 12.0), "lag": (5.0, 4012.0)}[key]
    value = None if ok is None else measured[0 if ok else 1]
    limit = {"achieved": 0.9, "cpu": 90.0, "user_cap": 0.0, "lag": 1000.0}[key]
    return LoadCheck(key, value, limit, "min" if key == "achieved" else "max", ok, "why", key, metric, blame)


# How the load looked, as load_checks would have judged it.
LOAD = {
    "healthy": [_check("achieved", True), _check("cpu", True), _check("user_cap", True), _check("lag", True)],
    "generator out of CPU": [
        _check("achieved", False, "generator"),
        _check("cpu", False, "generator"),
        _check("user_cap", True),
        _check("lag", False, "generator"),
    ],
    "user cap hit": [
        _check("achieved", False, "generator"),
        _check("cpu", True),
        _check("user_cap", False, "generator"),
        _check("lag", False, "generator"),
    ],
    "shop too slow, requests queued": [
        _check("achieved", True),
        _check("cpu", True),
        _check("user_cap", True),
        _check("lag", False, "shop"),
    ],
    "not measured": [_check("achieved", True), _check("cpu", None), _check("lag", None)],
}
SLO_STATES = {"met": PASS, "breached": FAIL, "past target on too few requests": TOO_FEW, "not measured": NO_DATA}
INTEGRITY_STATES = {"intact": PASS, "broken": FAIL, "not audited": NO_DATA}
GENERATOR_CANNOT_VOUCH = {"generator out of CPU", "user cap hit"}


def _expected(slo: str, integrity: str, load: str) -> str:
    if slo == "breached" or integrity == "broken":
        return NO_GO  # a breach is a breach, at any load
    if slo in ("past target on too few requests", "not measured") or integrity == "not audited":
        return INCONCLUSIVE
    if load in GENERATOR_CANNOT_VOUCH:
        return INCONCLUSIVE
    return GO  # a slow shop's queueing is in the latency figures; unmeasured health alone is no doubt


@pytest.mark.parametrize(
    ("slo", "integrity", "load", "not_applicable"),
    list(itertools.product(SLO_STATES, INTEGRITY_STATES, LOAD, (False, True))),
)
def test_every_combination_of_breach_integrity_load_trust_and_not_applicable(
    slo: str, integrity: str, load: str, not_applicable: bool
) -> None:
    results = [_slo(SLO_STATES[slo], requests=5 if slo == "past target on too few requests" else 200)]
    results.append(_integrity(INTEGRITY_STATES[integrity]))
    if not_applicable:
        results.append(_not_applicable())
    banner = judge_run(results, LOAD[load], [], fail_on_regression=False, total_requests=10_000)
    expected = _expected(slo, integrity, load)
    assert banner.verdict == expected
    assert banner.headline.startswith(f"{expected}: ")
    # Every reason is kept, the breach first.
    if slo == "breached":
        assert banner.reasons[0].startswith("checkout-p95 breached: 8.0 s, target ≤ 3 s")
        assert "checkouts too slow (p95 8.0 s, target 3 s)" in banner.headline
    if integrity == "broken":
        assert "2 SKUs oversold" in banner.headline
        assert any(r.startswith("integrity: no_negative_stock breached") for r in banner.breaches)
    if load in GENERATOR_CANNOT_VOUCH:
        assert any(r.startswith("load not trustworthy: ") for r in banner.unproven)
    if load == "shop too slow, requests queued":
        queued = "requests queued behind the shop's slow answers: lag 4.0 s (limit ≤ 1 s)"
        assert any(r.startswith(queued) for r in banner.load), banner.load
        assert not any("not trustworthy" in r for r in banner.reasons)
    if not_applicable:
        assert "not applicable: sustained-5x: the plan never held 5x (its highest step: 1x)" in banner.warnings
        assert "sustained-5x" not in banner.headline
    assert banner.reasons == [*banner.breaches, *banner.unproven, *banner.load, *banner.warnings]


@pytest.mark.parametrize(("load", "expected"), [(name, INCONCLUSIVE if name in GENERATOR_CANNOT_VOUCH else NO_GO)
                                                for name in ("healthy", *GENERATOR_CANNOT_VOUCH)])  # fmt: skip
def test_throughput_breaches_only_from_a_healthy_generator(load: str, expected: str) -> None:
    banner = judge_run([_throughput(FAIL)], LOAD[load], [], fail_on_regression=False, total_requests=8800)
    assert banner.verdict == expected
    if expected == NO_GO:
        assert banner.headline == "NO-GO: the shop took only 88% of the planned load (target 90%)"
    else:
        assert banner.headline.startswith("INCONCLUSIVE: nothing failed, but the generator sent only 88% of the plan")


def test_a_throughput_miss_from_a_sick_generator_still_loses_to_a_real_breach() -> None:
    results = [_throughput(FAIL), _slo(FAIL)]
    banner = judge_run(results, LOAD["user cap hit"], [], fail_on_regression=False, total_requests=8800)
    assert banner.verdict == NO_GO
    assert banner.headline == "NO-GO: checkouts too slow (p95 8.0 s, target 3 s)"
    assert banner.unproven[0].startswith("load not trustworthy: ")


def test_the_banner_sentence_of_a_no_go_names_what_broke_in_business_terms() -> None:
    errors = Result("error-rate", "slo", "error_rate", "phase no-fault", 0.024, 0.0015, "max", None, FAIL,
                    "requests (exact)", requests=9000, subject="requests", min_requests=20)  # fmt: skip
    details = [{"sku": "SKU-7", "problem": "initial 20 != available 3 + reserved 0 + sold 16"}]
    stock = Result("integrity: stock_conservation", "integrity", "violations", "shop stores", 1.0, 0.0, "max", None,
                   FAIL, "audit.json", subject=integrity_phrase("stock_conservation", 1, details))  # fmt: skip
    banner = judge_run([_slo(FAIL), errors, stock], LOAD["healthy"], [], fail_on_regression=False, total_requests=9000)
    assert banner.headline == (
        "NO-GO: checkouts too slow (p95 8.0 s, target 3 s), 2.4% of requests failed, 1 unit of stock lost"
    )


def test_the_banner_sentence_of_go_inconclusive_and_could_not_evaluate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    go = judge_run([_slo(PASS, measured=900.0), _integrity(PASS)], LOAD["healthy"], [], fail_on_regression=False,
                   total_requests=12_345)  # fmt: skip
    assert go.headline == (
        "GO: all 1 SLO met on 12,345 requests at the planned load (99% of it sent), nothing lost or oversold"
    )
    unsure = judge_run([_slo(PASS, measured=900.0)], LOAD["user cap hit"], [], fail_on_regression=False,
                       total_requests=12_345)  # fmt: skip
    assert unsure.headline == (
        "INCONCLUSIVE: nothing failed, but the generator sent only 88% of the planned load, the generator's user pool "
        "hit its cap, the generator fell behind its schedule (lag p95 4.0 s)"
    )
    # Could not evaluate: the run folder still gets a report that says why (exit 2).
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    assert main(["report", str(run_dir)]) == 2
    summary = json.loads((run_dir / "summary.json").read_text())
    why = f"run folder {run_dir} has no requests.parquet, requests.csv or locust_stats.csv: nothing to evaluate"
    assert summary["headline"] == f"COULD NOT EVALUATE: {why}"
    assert (summary["verdict"], summary["exit_code"]) == ("COULD NOT EVALUATE", 2)
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    assert f'<h1>COULD NOT EVALUATE</h1>\n  <p class="headline" id="headline">{why}</p>' in html
    assert capsys.readouterr().err == f"doorbuster: error: {why}\n"


@pytest.mark.parametrize("multiplier", [1.0, 2.5])
def test_a_steady_run_below_5x_finds_sustained_5x_not_applicable(tmp_path: Path, multiplier: float) -> None:
    run_dir = SyntheticRun(stages=((multiplier, 90.0, "steady"),)).write(tmp_path / "run")
    ev = evaluate(load_run(run_dir), load_slo_file())
    sustained = next(r for r in ev.results if r.name == "sustained-5x")
    assert (sustained.verdict, sustained.measured) == (NOT_APPLICABLE, None)
    assert sustained.note == f"the plan never held 5x (its highest step: {multiplier:g}x)"
    assert ev.verdict == GO
    assert ev.banner.headline.startswith("GO: all 6 SLOs met on ")  # the not-applicable one is not counted


def test_a_ramp_to_5x_that_breaks_at_5x_is_a_breach_of_sustained_5x(tmp_path: Path) -> None:
    from doorbuster.reports.synthetic import Burst

    run = SyntheticRun(stages=((1.0, 60.0, "steady"), (5.0, 60.0, "steady")), bursts=[Burst(60, 120, 0.01)])
    ev = evaluate(load_run(run.write(tmp_path / "run")), load_slo_file())
    sustained = next(r for r in ev.results if r.name == "sustained-5x")
    assert (sustained.verdict, sustained.note) == (FAIL, "1x held, 5x broke")
    assert ev.verdict == NO_GO
    assert "the shop held only 1x peak within its targets (target 5x)" in ev.banner.headline


def test_a_breach_on_fewer_requests_than_the_minimum_is_inconclusive_not_no_go(tmp_path: Path) -> None:
    from doorbuster.reports.slo import parse_slo
    from doorbuster.reports.synthetic import Slowdown

    run = SyntheticRun(stages=((1.0, 60.0, "steady"),), slowdowns=[Slowdown(0, 60, 5000.0, "POST /api/orders")])
    slo = {"slos": [{"name": "checkout-p95", "subject": "checkouts", "metric": "latency_p95_ms", "max": 3000,
                     "endpoint": "POST /api/orders", "min_requests": 1000}]}  # fmt: skip
    ev = evaluate(load_run(run.write(tmp_path / "run")), parse_slo(slo, "s.yaml"))
    result = ev.results[0]
    assert result.verdict == TOO_FEW and result.requests < 1000
    assert ev.verdict == INCONCLUSIVE
    assert ev.banner.headline == (
        f"INCONCLUSIVE: nothing failed, but checkout-p95 was judged on only {result.requests} requests"
    )
    # The same breach on enough requests is NO-GO.
    slo["slos"][0]["min_requests"] = 20
    ev = evaluate(load_run(tmp_path / "run"), parse_slo(slo, "s.yaml"))
    assert ev.verdict == NO_GO
    assert ev.banner.headline.startswith("NO-GO: checkouts too slow (p95 5.")


def test_a_folder_that_is_not_a_run_folder_gets_no_report_written_into_it(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine", encoding="utf-8")
    assert main(["report", str(tmp_path)]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize(
    ("cap_hit_s", "expected"),
    [(None, INCONCLUSIVE), (0.0, GO), (5.0, INCONCLUSIVE)],
)
def test_late_starts_are_the_shops_when_the_pool_had_room_and_the_generators_when_it_hit_its_cap(
    tmp_path: Path, cap_hit_s: float | None, expected: str
) -> None:
    # 5% of the journeys never started. With the pool under its cap and CPU to spare, users were
    # busy waiting on the shop (judged by the SLOs, which pass here); at the cap, or with no way
    # to tell, the generator cannot vouch for the run.
    run = SyntheticRun(stages=((1.0, 90.0, "steady"),), missed_share=0.05, cap_hit_s=cap_hit_s)
    ev = evaluate(load_run(run.write(tmp_path / "run")), load_slo_file())
    assert ev.verdict == expected
    checks = {x.key: x for x in ev.load_checks}
    if cap_hit_s is None:
        assert "user_cap" not in checks and checks["missed"].blame == "generator"
    elif cap_hit_s == 0:
        assert checks["user_cap"].ok and checks["missed"].blame == "shop"
        queued = "requests queued behind the shop's slow answers: missed iterations 5%"
        assert any(r.startswith(queued) for r in ev.reasons), ev.reasons
    else:
        assert checks["user_cap"].ok is False and checks["user_cap"].measured == 5.0
        assert ev.banner.headline.startswith("INCONCLUSIVE: nothing failed, but the generator's user pool hit its cap")


def test_an_empty_cap_column_means_the_cap_is_unknown_not_unhit(tmp_path: Path) -> None:
    run_dir = SyntheticRun(stages=((1.0, 60.0, "steady"),), cap_hit_s=0.0).write(tmp_path / "run")
    generator = run_dir / "generator.csv"
    generator.write_text(generator.read_text().replace(",False\n", ",\n"))
    ev = evaluate(load_run(run_dir), load_slo_file())
    assert "user_cap" not in {x.key for x in ev.load_checks}


def test_regressions_read_in_the_direction_the_value_moved() -> None:
    from doorbuster.reports.results import Regression

    availability = Regression("availability", 1.0, 0.0, 1.0, 0.1, True, "availability", "min")
    throughput = Regression("throughput", 1.0, 0.86, 0.14, 0.1, True, "achieved_ratio", "min")
    slower = Regression("checkout-p95", 1000.0, 1300.0, 0.3, 0.1, True, "latency_p95_ms", "max")
    banner = judge_run([], LOAD["healthy"], [availability, throughput, slower], fail_on_regression=False,
                       total_requests=100)  # fmt: skip
    assert banner.warnings == (
        "warning: regression: availability fell 100% against the baseline (100% → 0%; tolerance 10% worse)",
        "warning: regression: throughput fell 14% against the baseline (100% → 86%; tolerance 10% worse)",
        "warning: regression: checkout-p95 rose 30% against the baseline (1 s → 1.3 s; tolerance 10% worse)",
    )
    strict = judge_run([], LOAD["healthy"], [availability], fail_on_regression=True, total_requests=100)
    assert strict.verdict == NO_GO
    assert strict.headline == "NO-GO: availability regressed against the baseline"
