"""The benchmarks count a step's achieved load as the report does: each request at its iteration's
intended start, so a step's requests that spill into the next step still count as its own."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench._drive import HeldStep, held_steps
from bench.bench_capacity import per_step

T0 = 1_700_000_000.0
ONE_X_RPS = 40.0  # the default profile
OFFSETS_S = (0.0, 3.0, 6.0, 9.0)  # a journey's requests after its start: longer than the settling seconds
GRACE_S = 5.0  # iterations under way at the end get this long, then are killed
WORKER = "127.0.0.1:4242"


def _plan() -> pd.DataFrame:
    """planned_rate.csv of `ramp` with steps=10/20/30, step_s=20: a tick a second, a 4 s ramp into
    each later step, ending at its peak (as `bench capacity` runs)."""
    rows = [(10.0, "steady", "10x")] * 20
    for low, high in ((10.0, 20.0), (20.0, 30.0)):
        stage = f"{high:g}x"
        rows += [(low + (high - low) * t / 4, "ramp", stage) for t in range(4)] + [(high, "steady", stage)] * 16
    multiplier = np.array([m for m, _, _ in rows])
    return pd.DataFrame(
        {
            "ts": T0 + np.arange(len(rows), dtype=float),
            "planned_rps": multiplier * ONE_X_RPS,
            "users": 0,
            "stage": [s for _, _, s in rows],
            "multiplier": multiplier,
            "phase": [p for _, p, _ in rows],
        }
    )


def _run(plan: pd.DataFrame, missed: dict[str, float] | None = None) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    """(requests, iterations, ended) as the open model records them: iterations start evenly at the
    planned rate, `missed[stage]` of a steady step's never start; each sends a request at every
    offset of OFFSETS_S, unless the run's end (the plan's end and the grace) came first."""
    starts, stages = [], []
    for tick in plan.itertuples():
        n = int(tick.planned_rps / len(OFFSETS_S))
        starts.append(tick.ts + (np.arange(n) + 0.5) / n)
        stages += [(tick.stage, tick.phase)] * n
    intended = np.concatenate(starts)
    rng = np.random.default_rng(7)
    share = np.array([(missed or {}).get(stage, 0.0) if phase == "steady" else 0.0 for stage, phase in stages])
    gone = rng.random(len(intended)) < share
    journeys = np.where(np.arange(len(intended)) % 2, "search", "browse")
    ids = np.array([f"{WORKER}/{j}/{i}" for i, j in enumerate(journeys)], dtype=object)
    ended = float(plan["ts"].iloc[-1]) + 1.0 + GRACE_S
    sent = intended[~gone, None] + np.array(OFFSETS_S)[None, :]
    which = np.broadcast_to(np.flatnonzero(~gone)[:, None], sent.shape)
    keep = sent <= ended
    order = np.argsort(sent[keep], kind="stable")
    ts, who = sent[keep][order], which[keep][order]
    requests = pd.DataFrame(
        {
            "ts": ts,
            "intended_ts": ts,
            "journey": journeys[who],
            "name": "GET /",
            "latency_ms": 20.0,
            "ok": True,
            "iteration": ids[who],
            "worker": WORKER,
        }
    )
    iterations = pd.DataFrame(
        {
            "iteration": ids,
            "journey": journeys,
            "worker": WORKER,
            "intended_ts": intended,
            "started_ts": np.where(gone, np.nan, intended),
            "ended_ts": np.where(gone, np.nan, intended + OFFSETS_S[-1]),
            "lag_ms": np.where(gone, np.nan, 0.0),
            "missed": gone,
        }
    )
    return requests, iterations, ended


def _by_stage(steps: list[HeldStep]) -> dict[str, HeldStep]:
    return {step.stage: step for step in steps}


def _send_time_ratio(requests: pd.DataFrame, step: HeldStep, *, settled: bool) -> float:
    """The old count: the requests sent in the step's window over the planned rate of that window."""
    start = step.settled if settled else step.start
    end = step.end if settled else step.intended_end
    sent = ((requests["ts"] >= start) & (requests["ts"] < end)).sum()
    return float(sent / (step.planned_rps * (end - start)))


def test_a_step_whose_requests_spill_into_the_next_achieves_the_plan() -> None:
    plan = _plan()
    requests, iterations, ended = _run(plan)
    steps = _by_stage(held_steps(plan, requests, iterations, hold_s=20, ended=ended))
    assert list(steps) == ["10x", "20x", "30x"]
    # Every iteration was served in full, yet counted by send time the middle step reads short,
    # over the whole step and over its settled seconds alike: its journeys outlast the settling.
    middle = steps["20x"]
    assert _send_time_ratio(requests, middle, settled=False) < 0.95
    assert _send_time_ratio(requests, middle, settled=True) < 0.98
    for step in steps.values():
        assert step.achieved_ratio == pytest.approx(1.0, abs=0.005), step
    assert middle.planned_requests == pytest.approx(800 * 16)
    assert middle.achieved_rps == pytest.approx(800, rel=0.005)


def test_the_last_step_expects_only_what_could_be_sent_before_the_run_ended() -> None:
    plan = _plan()
    requests, iterations, ended = _run(plan)
    last = _by_stage(held_steps(plan, requests, iterations, hold_s=20, ended=ended))["30x"]
    # Its last iterations were killed before their later requests: the plan does not count those.
    assert last.achieved_requests < 1200 * 16
    assert last.achieved_ratio == pytest.approx(1.0, abs=0.005)


def test_a_step_that_missed_starts_reads_short_and_only_that_step() -> None:
    plan = _plan()
    requests, iterations, ended = _run(plan, missed={"20x": 0.2})
    steps = _by_stage(held_steps(plan, requests, iterations, hold_s=20, ended=ended))
    assert steps["20x"].achieved_ratio == pytest.approx(0.8, abs=0.015)
    # Its missing requests are not charged to the step after it, whose sends they would have joined.
    assert steps["30x"].achieved_ratio == pytest.approx(1.0, abs=0.005)
    assert steps["10x"].achieved_ratio == pytest.approx(1.0, abs=0.005)


def test_without_iteration_starts_requests_count_at_their_send_time() -> None:
    # A closed-model run records no intended starts: the report's fallback, and so the bench's.
    plan = _plan()
    requests, _, ended = _run(plan)
    first = _by_stage(held_steps(plan, requests, None, hold_s=20, ended=ended))["10x"]
    assert first.achieved_ratio == pytest.approx(_send_time_ratio(requests, first, settled=False))


def _write_run(run: Path, plan: pd.DataFrame, requests: pd.DataFrame, iterations: pd.DataFrame, ended: float) -> Path:
    run.mkdir()
    plan.to_csv(run / "planned_rate.csv", index=False)
    requests.to_parquet(run / "requests.parquet", index=False)
    iterations.to_csv(run / "iterations.csv", index=False)
    (run / "meta.json").write_text(json.dumps({"ended_at": datetime.fromtimestamp(ended, UTC).isoformat()}))
    return run


def test_bench_capacity_calls_a_step_reached_when_its_iterations_were_served(tmp_path: Path) -> None:
    plan = _plan()
    run = _write_run(tmp_path / "run", plan, *_run(plan))
    table = per_step(run).set_index("step")
    assert table["achieved/planned"].to_numpy() == pytest.approx([1.0, 1.0, 1.0], abs=0.005)
    assert table["inside_slo"].all()


def test_bench_capacity_calls_a_step_with_missed_starts_not_reached(tmp_path: Path) -> None:
    plan = _plan()
    run = _write_run(tmp_path / "run", plan, *_run(plan, missed={"20x": 0.05}))
    table = per_step(run).set_index("step")
    assert table.loc["20x", "achieved/planned"] == pytest.approx(0.95, abs=0.015)
    assert table["inside_slo"].to_dict() == {"10x": True, "20x": False, "30x": True}
