"""Stop conditions judged from the run folder as Locust writes it, and the record the report reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from doorbuster.gameday.feed import HISTORY, LiveFeed
from doorbuster.gameday.profile import ErrorRateStop, IntegrityStop, LatencyStop
from doorbuster.gameday.stops import IntegrityProbe, StopWatch, write_stop_record
from doorbuster.runfolder import PLANNED_RATE

T0 = 1_764_000_000.0
HEADER = "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,95%,Total Request Count,Total Failure Count\n"


def _history(run: Path, rows: list[tuple[float, int, int, float]], *, partial: str = "") -> None:
    """(ts, requests so far, failures so far, p95) per second, as Locust appends them."""
    with open(run / HISTORY, "a", encoding="utf-8") as out:
        if out.tell() == 0:
            out.write(HEADER)
        for ts, requests, failures, p95 in rows:
            out.write(f"{int(ts)},10,,GET /p/[sku],1,0,5,9,1,0\n")  # per-endpoint rows are ignored
            out.write(f"{int(ts)},10,,Aggregated,10.0,0.0,5,{p95:g},{requests},{failures}\n")
        out.write(partial)


def _feed(tmp_path: Path) -> LiveFeed:
    (tmp_path / PLANNED_RATE).write_text(f"ts,planned_rps,users,stage,multiplier,phase\n{T0},10,5,1x,1,steady\n")
    return LiveFeed(tmp_path)


def test_the_error_rate_condition_fires_only_once_the_window_is_over_the_limit(tmp_path: Path) -> None:
    feed = _feed(tmp_path)
    condition = ErrorRateStop(kind="error_rate", above=0.05, **{"for": 10.0})
    watch = StopWatch((condition,), feed)
    # 20 s healthy: 10 req/s, no failure.
    _history(tmp_path, [(T0 + i, 10 * i, 0, 20) for i in range(1, 21)])
    feed.poll(T0 + 20)
    margins, fired = watch.check(T0 + 20)
    assert fired is None and margins[0].state == "ok" and margins[0].measured.startswith("0.00% of 100")
    # Then half the requests fail for 5 s: 25 failures in the last 100 requests = 25%.
    _history(tmp_path, [(T0 + 20 + i, 200 + 10 * i, 5 * i, 20) for i in range(1, 6)], partial="1764000026,10,,Aggr")
    snapshot = feed.poll(T0 + 25)
    assert snapshot.t0 == T0 and snapshot.requests == 250  # the partial last line waits for its end
    margins, fired = watch.check(T0 + 25)
    assert fired is not None and margins[0].state == "fired"
    assert (fired.condition, fired.metric, fired.offset_s) == ("error-rate", "error_rate", 25.0)
    assert fired.measured == pytest.approx(25 / 100)
    assert fired.detail == "25.00% of 100 requests failed in the last 10 s (limit 5%)"
    assert fired.rule == "error rate above 5% for 10 s"


def test_the_error_rate_condition_waits_until_its_window_is_covered(tmp_path: Path) -> None:
    feed = _feed(tmp_path)
    watch = StopWatch((ErrorRateStop(kind="error_rate", above=0.05, **{"for": 30.0}),), feed)
    _history(tmp_path, [(T0 + i, 10 * i, 10 * i, 20) for i in range(1, 11)])  # every request fails, 10 s only
    feed.poll(T0 + 10)
    margins, fired = watch.check(T0 + 10)
    assert fired is None and margins[0].state == "waiting"


def test_the_latency_condition_needs_every_sample_of_its_window_above_the_limit(tmp_path: Path) -> None:
    feed = _feed(tmp_path)
    watch = StopWatch((LatencyStop(kind="latency_p95", above_ms=1000, **{"for": 5.0}),), feed)
    _history(tmp_path, [(T0 + i, 10 * i, 0, 2500 if i != 8 else 300) for i in range(1, 11)])
    feed.poll(T0 + 10)
    margins, fired = watch.check(T0 + 10)
    assert fired is None and margins[0].state == "watch"  # one dip 3 s ago: not "for 5 s" yet
    _history(tmp_path, [(T0 + 10 + i, 100 + 10 * i, 0, 2500) for i in range(1, 3)])
    feed.poll(T0 + 12)
    assert watch.check(T0 + 12)[1] is None  # the dip at +8 s is still inside the last 5 s
    _history(tmp_path, [(T0 + 13, 130, 0, 2500), (T0 + 14, 140, 0, 2500)])
    feed.poll(T0 + 14)
    _, fired = watch.check(T0 + 14)
    assert fired is not None and fired.metric == "latency_p95_ms" and fired.measured == 2500


def test_the_latency_condition_fires_on_a_stall_that_locusts_p95_does_not_show(tmp_path: Path) -> None:
    # Nothing answered: the counts stand still, and Locust's p95 (of the requests answered in its
    # last 10 s) goes on showing an older window's 40 ms, then 0 ms: never what is in flight.
    feed = _feed(tmp_path)  # the plan: 10 req/s
    watch = StopWatch((LatencyStop(kind="latency_p95", above_ms=3000, **{"for": 5.0}),), feed)
    _history(tmp_path, [(T0 + i, 10 * i, 0, 40) for i in range(1, 21)])
    _history(tmp_path, [(T0 + 20 + i, 200, 0, 40 if i < 5 else 0) for i in range(1, 8)])  # 7 s, no answer
    feed.poll(T0 + 27)
    margins, fired = watch.check(T0 + 27)
    assert margins[0].state == "watch" and margins[0].measured == "7,000 ms"  # not 3 s of it for 5 s yet
    _history(tmp_path, [(T0 + 27 + i, 200, 0, 0) for i in range(1, 4)])
    feed.poll(T0 + 30)
    margins, fired = watch.check(T0 + 30)
    assert fired is not None and margins[0].state == "fired", margins
    assert fired.measured == 5000  # the lowest of the last 5 s: silent for 5 s at +25 s
    assert fired.detail.endswith("; no request answered for the last 10 s"), fired.detail


def test_silence_when_the_plan_sends_nothing_is_no_stall(tmp_path: Path) -> None:
    (tmp_path / PLANNED_RATE).write_text(
        f"ts,planned_rps,users,stage,multiplier,phase\n{T0},10,5,1x,1,steady\n{T0 + 20},0,0,0x,0,ramp-down\n"
    )
    feed = LiveFeed(tmp_path)
    watch = StopWatch((LatencyStop(kind="latency_p95", above_ms=3000, **{"for": 5.0}),), feed)
    _history(tmp_path, [(T0 + i, 10 * i, 0, 40) for i in range(1, 21)])
    _history(tmp_path, [(T0 + 20 + i, 200, 0, 0) for i in range(1, 11)])
    feed.poll(T0 + 30)
    margins, fired = watch.check(T0 + 30)
    assert fired is None and margins[0].state == "ok" and margins[0].measured == "0 ms"


def _audit(**broken: list[str]) -> dict[str, object]:
    names = ("stock_conservation", "no_negative_stock", "legacy_convergence")
    return {
        "invariants": [
            {
                "name": name,
                "ok": not broken.get(name),
                "violations": len(broken.get(name, [])),
                "details": [
                    {"sku": sku, "problem": "initial 20 != available 15 + reserved 0 + sold 0"}
                    for sku in broken.get(name, [])
                ]
                + [{"note": "3 orders still in flight"}],
            }
            for name in names
        ]
    }


def test_the_integrity_condition_fires_when_the_same_sku_stays_broken(tmp_path: Path) -> None:
    answers = iter(
        [
            _audit(),
            _audit(stock_conservation=["SKU-1", "SKU-2"], legacy_convergence=["SKU-9"]),
            _audit(stock_conservation=["SKU-1", "SKU-3"]),  # SKU-2 was a checkout in flight
        ]
    )
    condition = IntegrityStop(kind="integrity", invariants=("stock_conservation",), consecutive=2)
    probe = IntegrityProbe(condition, lambda: next(answers))
    watch = StopWatch((condition,), _feed(tmp_path), {"integrity": probe})
    states = []
    for _ in range(3):
        probe.probe_once()
        margins, fired = watch.check(T0 + 30)
        states.append(margins[0].state)
    assert states == ["ok", "watch", "fired"]
    assert fired is not None and fired.metric == "invariant_violations" and fired.measured == 1
    # legacy_convergence is behind during a partition: not this condition's business.
    assert fired.detail == "the audit found stock_conservation (1 violation(s)) on 2 probe(s) in a row: SKU-1"


def test_a_sku_in_flight_on_one_probe_at_a_time_never_fires(tmp_path: Path) -> None:
    answers = iter([_audit(stock_conservation=[f"SKU-{i}"]) for i in range(6)])
    condition = IntegrityStop(kind="integrity", consecutive=2)
    probe = IntegrityProbe(condition, lambda: next(answers))
    watch = StopWatch((condition,), _feed(tmp_path), {"integrity": probe})
    for _ in range(6):
        probe.probe_once()
        assert watch.check(T0 + 30)[1] is None


def test_an_unreachable_probe_is_reported_not_fired(tmp_path: Path) -> None:
    def down() -> dict[str, object]:
        raise ConnectionError("control API down")

    condition = IntegrityStop(kind="integrity")
    probe = IntegrityProbe(condition, down)
    probe.probe_once()
    margins, fired = StopWatch((condition,), _feed(tmp_path), {"integrity": probe}).check(T0)
    assert fired is None and margins[0].state == "waiting" and "control API down" in margins[0].measured


def test_the_stop_record_is_written_as_the_contract_says(tmp_path: Path) -> None:
    feed = _feed(tmp_path)
    _history(tmp_path, [(T0 + i, 10 * i, 10 * i, 20) for i in range(1, 12)])
    feed.poll(T0 + 11)
    _, fired = StopWatch((ErrorRateStop(kind="error_rate", above=0.5, **{"for": 10.0}),), feed).check(T0 + 11)
    assert fired is not None
    fired.rolled_back, fired.not_started = ["kill-orders-pod#0"], ["partition-dual-write#1"]
    record = json.loads(write_stop_record(tmp_path, fired).read_text())
    assert set(record) == {
        "kind",
        "condition",
        "rule",
        "fired_at",
        "fired_ts",
        "offset_s",
        "measured",
        "threshold",
        "metric",
        "detail",
        "rolled_back",
        "not_started",
        "timed_out",
    }
    assert record["kind"] == "stop_condition" and record["fired_at"].endswith("+00:00")


def test_the_live_rate_puts_requests_answered_beside_the_plan_of_the_same_seconds(tmp_path: Path) -> None:
    # A flash sale: 10 req/s until +20 s, then 50. Locust's own Requests/s column (10.0 in every row
    # here, as its 10 s average still reads early in a spike) is not what the line shows.
    ticks = "".join(f"{T0 + i},{10 if i < 20 else 50},5,spike,5,spike\n" for i in range(0, 30))
    (tmp_path / PLANNED_RATE).write_text(f"ts,planned_rps,users,stage,multiplier,phase\n{ticks}")
    feed = LiveFeed(tmp_path)
    answered = [(T0 + i, 10 * i if i <= 20 else 200 + 50 * (i - 20), 0, 20) for i in range(1, 25)]
    _history(tmp_path, answered)  # the file is a few seconds behind the plan, as Locust's is
    snapshot = feed.poll(T0 + 29)
    # the last 5 s of rows (+19..+24): 1 s at 10, 4 s at 50 answered; planned the same seconds
    assert snapshot.achieved_rps == pytest.approx(42.0)
    assert snapshot.planned_rps == pytest.approx(42.0)
    assert feed.planned_rps == 50.0, "the newest planned rate still drives the stall check"
