"""Ingestion: every file of a run folder into pandas, or None where the run did not write it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from doorbuster import runfolder as rf
from doorbuster.experiment_verdict import Verdict, judge, read_verdict
from doorbuster.reports import columns as c
from doorbuster.reports.attribution import IterationStarts
from doorbuster.reports.errors import ReportError
from doorbuster.reports.quantiles import GroupQuantiles
from doorbuster.reports.scan import CHUNK_ROWS, RequestFile

__all__ = ["Experiment", "Fault", "RunData", "Schedule", "load_run", "run_ended_ts"]


@dataclass(frozen=True)
class Fault:
    """A fault window from a Chaos Toolkit journal: the first method action's start to the last one's end
    (to the last rollback's end when the run was interrupted or aborted)."""

    experiment: str
    action: str
    start: float
    end: float
    journal: str

    @property
    def is_kill(self) -> bool:
        # A killed pod starts recovering at once (the ReplicaSet restarts it), so recovery counts
        # from the fault's start; a partition or latency fault only heals at its end.
        return "kill" in self.action.lower() or "terminate" in self.action.lower()

    @property
    def recovery_from(self) -> float:
        return self.start if self.is_kill else self.end

    def matches(self, glob: str) -> bool:
        return fnmatch(self.action, glob) or fnmatch(self.experiment, glob)


@dataclass(frozen=True)
class Experiment:
    """What a stakeholder reads about one chaos experiment, and its verdict: chaos/<name>.verdict.json,
    or the same judgement made from the journal when the experiment was run by hand (`chaos run`)."""

    title: str
    journal: str  # "" when Chaos Toolkit wrote none (the verdict says why)
    status: str
    deviated: bool
    steady_before: bool | None
    steady_after: bool | None
    actions: tuple[str, ...]
    rollbacks: int
    name: str = ""  # the file stem: chaos/<name>.journal.json
    verdict: str = ""  # passed, failed, skipped, interrupted (doorbuster.experiment_verdict)
    reasons: tuple[str, ...] = ()
    judged_from: str = ""  # the verdict file, or the journal it was judged from


@dataclass(frozen=True)
class Schedule:
    """How the generator kept its schedule (iterations.csv)."""

    iterations: int
    missed: int  # planned iterations never started
    lag_p95_ms: float | None  # exact, over the iterations that started

    @property
    def missed_share(self) -> float:
        return self.missed / self.iterations if self.iterations else 0.0


@dataclass
class RunData:
    run_dir: Path
    meta: dict[str, Any] | None = None
    requests: RequestFile | None = None  # read in chunks by doorbuster.reports.digest, never whole
    requests_file: str | None = None
    request_span: tuple[float, float] = (0.0, 0.0)  # first and last request start (ts)
    locust_stats: pd.DataFrame | None = None
    locust_history: pd.DataFrame | None = None
    locust_failures: pd.DataFrame | None = None
    locust_exceptions: pd.DataFrame | None = None  # errors raised inside the load script itself
    planned: pd.DataFrame | None = None
    schedule: Schedule | None = None  # from iterations.csv
    iteration_starts: IterationStarts | None = None  # from iterations.csv, with a plan and requests
    generator: pd.DataFrame | None = None
    ledger_orders: int | None = None  # rows of ledger.csv
    faults: list[Fault] = field(default_factory=list)
    experiments: list[Experiment] = field(default_factory=list)
    audit: dict[str, Any] | None = None
    not_measured: list[str] = field(default_factory=list)  # sections the run folder lacks
    not_asked: dict[str, str] = field(default_factory=dict)  # result kind -> why it was not run (not_measured.json)


def _read_csv(path: Path, required: tuple[str, ...], **kwargs: Any) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path, **kwargs)
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame(columns=list(required))
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise ReportError(f"{path} is not a readable CSV file: {exc}") from exc
    missing = [col for col in required if col not in frame.columns]
    if missing:
        raise ReportError(f"{path} lacks the column(s) {', '.join(missing)} (docs/contracts.md, section 1)")
    return frame


def _load_requests(run: RunData) -> None:
    parquet, csv = run.run_dir / rf.REQUESTS_PARQUET, run.run_dir / rf.REQUESTS_CSV
    path = parquet if parquet.exists() else csv if csv.exists() else None
    if path is None:
        run.not_measured.append("per-request data (requests.parquet): figures come from Locust's bucketed CSVs")
        return
    # Only the shape and time range now: the rows are read chunk by chunk when evaluated.
    requests = RequestFile(path)
    requests.check()
    rows, first, last = requests.time_range()
    if not rows:
        # An empty file says nothing, like a missing one: fall back to Locust's CSVs if there are any.
        run.not_measured.append(f"per-request data ({path.name} holds no requests)")
        return
    if not (np.isfinite(first) and np.isfinite(last)):
        raise ReportError(f"{path}: columns ts and latency_ms must be set on every request")
    run.requests, run.requests_file, run.request_span = requests, path.name, (first, last)


def _load_locust(run: RunData) -> None:
    stats = run.run_dir / f"{rf.LOCUST_PREFIX}_stats.csv"
    history = run.run_dir / f"{rf.LOCUST_PREFIX}_stats_history.csv"
    failures = run.run_dir / f"{rf.LOCUST_PREFIX}_failures.csv"
    if stats.exists():
        run.locust_stats = _read_csv(stats, ("Type", "Name", "Request Count", "Failure Count"), keep_default_na=False)
    if history.exists():
        run.locust_history = _read_csv(history, ("Timestamp", "Name", "Requests/s", "Failures/s"))
    if failures.exists():
        run.locust_failures = _read_csv(failures, ("Method", "Name", "Error", "Occurrences"))
    exceptions = run.run_dir / f"{rf.LOCUST_PREFIX}_exceptions.csv"
    if exceptions.exists():
        run.locust_exceptions = _read_csv(exceptions, ("Count", "Message"), usecols=["Count", "Message"])


def _load_optional_csvs(run: RunData) -> None:
    # The report needs few columns of the big files (iterations: one row per journey iteration).
    specs = (
        ("planned", rf.PLANNED_RATE, rf.PLANNED_RATE_COLUMNS, (), "planned load (planned_rate.csv)"),
        ("generator", rf.GENERATOR, rf.GENERATOR_COLUMNS, c.OPTIONAL_GENERATOR_COLUMNS,
         "load generator health (generator.csv)"),
    )  # fmt: skip
    for attr, name, cols, optional, label in specs:
        path = run.run_dir / name
        if path.exists():
            wanted = (*cols, *optional)
            setattr(run, attr, _read_csv(path, cols, usecols=lambda col, wanted=wanted: col in wanted))
        else:
            run.not_measured.append(label)
    if run.planned is not None:
        run.planned = run.planned.sort_values(c.TS, kind="stable").reset_index(drop=True)
    _load_schedule(run)
    ledger = run.run_dir / rf.LEDGER
    if ledger.exists():
        run.ledger_orders = sum(len(chunk) for chunk in _csv_chunks(ledger, ("order_id",)))
    else:
        run.not_measured.append("order ledger (ledger.csv)")


def _csv_chunks(path: Path, columns: tuple[str, ...]) -> Iterator[pd.DataFrame]:
    # One row per iteration or order: a day-long soak's files are read a chunk at a time.
    _read_csv(path, columns, nrows=0)  # names the file and the missing column, if any
    try:
        yield from pd.read_csv(path, usecols=list(columns), chunksize=CHUNK_ROWS)
    except pd.errors.EmptyDataError:
        return
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise ReportError(f"{path} is not a readable CSV file: {exc}") from exc


def _missed(chunk: pd.DataFrame) -> np.ndarray:
    column = chunk[c.MISSED]
    if column.dtype == bool:  # pandas parsed True/False itself: no strings to build
        parsed: np.ndarray = column.to_numpy()
        return parsed
    missed: np.ndarray = column.astype(str).str.lower().isin(("true", "1")).to_numpy()
    return missed


def _load_schedule(run: RunData) -> None:
    """Lag p95 (exact, over the iterations that started) and the share never started; with a plan
    and per-request data, also each iteration's intended start (achieved load is counted by it)."""
    path = run.run_dir / rf.ITERATIONS
    if not path.exists():
        run.not_measured.append("schedule lag (iterations.csv)")
        return
    columns: tuple[str, ...] = (c.LAG_MS, c.MISSED)
    if run.planned is not None and run.requests is not None:
        header = set(_read_csv(path, columns, nrows=0).columns)
        starts = (c.ITERATION, c.INTENDED_TS, c.STARTED_TS)
        if all(col in header for col in starts):
            columns += starts + ((c.WORKER,) if c.WORKER in header else ())
    lag = GroupQuantiles((0.95,), dense=True)
    iterations = missed = 0
    kept: list[tuple[np.ndarray, np.ndarray]] = []  # a file of one chunk is read once

    def first_pass() -> Iterator[pd.DataFrame]:
        nonlocal iterations, missed, kept
        for i, chunk in enumerate(_csv_chunks(path, columns)):
            gone = _missed(chunk)
            iterations, missed = iterations + len(chunk), missed + int(gone.sum())
            values = pd.to_numeric(chunk[c.LAG_MS], errors="coerce").to_numpy(dtype=float)
            groups = np.where(~gone & np.isfinite(values), 0, -1)
            lag.count(groups, np.nan_to_num(values))
            kept = [(groups, np.nan_to_num(values))] if i == 0 else []
            yield chunk

    if c.ITERATION in columns:
        run.iteration_starts = IterationStarts.collect(first_pass())
    else:
        for _ in first_pass():
            pass
    lag.prepare()
    if kept:
        lag.collect(*kept[0])
    else:
        for chunk in _csv_chunks(path, (c.LAG_MS, c.MISSED)):
            values = pd.to_numeric(chunk[c.LAG_MS], errors="coerce").to_numpy(dtype=float)
            lag.collect(np.where(~_missed(chunk) & np.isfinite(values), 0, -1), np.nan_to_num(values))
    p95 = lag.result()
    lag_p95 = float(p95[0, 0]) if len(p95) and np.isfinite(p95[0, 0]) else None
    run.schedule = Schedule(iterations, missed, lag_p95)


def _epoch(value: Any, where: str) -> float:
    if not isinstance(value, str):
        raise ReportError(f"{where}: expected an ISO-8601 timestamp, got {value!r}")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ReportError(f"{where}: expected an ISO-8601 timestamp, got {value!r}") from exc
    if moment.tzinfo is None:  # older Chaos Toolkit journals wrote naive UTC
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def run_ended_ts(meta: dict[str, Any] | None) -> float | None:
    """meta.json's `ended_at` (the load's end, after the grace given to iterations under way) as
    epoch seconds; None when it is missing or unreadable (nothing else depends on it)."""
    try:
        return _epoch((meta or {}).get("ended_at"), "meta.json ended_at")
    except ReportError:
        return None


def _steady(journal: dict[str, Any], key: str) -> bool | None:
    state = (journal.get("steady_states") or {}).get(key)
    return None if not isinstance(state, dict) else bool(state.get("steady_state_met"))


def _read_journal(path: Path) -> dict[str, Any]:
    try:
        journal = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReportError(f"{path} is not a readable Chaos Toolkit journal: {exc}") from exc
    if not isinstance(journal, dict) or not isinstance(journal.get("run", []), list):
        raise ReportError(f"{path} is not a Chaos Toolkit journal: expected an object with a 'run' list")
    return journal


def _verdict(folder: Path, name: str, journal: dict[str, Any] | None) -> Verdict:
    """The experiment's verdict.json; without one (plain `chaos run`), the same judge on its journal."""
    path = folder / rf.CHAOS_VERDICT.format(name=name)
    try:
        verdict = read_verdict(path)
    except ValueError as exc:
        raise ReportError(str(exc)) from exc
    if verdict is not None:
        return verdict
    assert journal is not None  # the caller only asks for a stem that has a journal or a verdict
    try:
        return judge(journal, name)
    except ValueError as exc:  # a timestamp the fault window cannot read
        raise ReportError(f"{folder / rf.CHAOS_JOURNAL.format(name=name)}: {exc}") from exc


def _load_journal(path: Path, name: str, journal: dict[str, Any]) -> tuple[Experiment, Fault | None]:
    title = str((journal.get("experiment") or {}).get("title") or name)
    runs = [r for r in journal.get("run") or [] if isinstance(r, dict)]
    rollbacks = [r for r in journal.get("rollbacks") or [] if isinstance(r, dict)]
    actions = [r for r in runs if (r.get("activity") or {}).get("type") == "action"]
    experiment = Experiment(
        title=title,
        journal=path.name,
        status=str(journal.get("status") or "unknown"),
        deviated=bool(journal.get("deviated")),
        steady_before=_steady(journal, "before"),
        steady_after=_steady(journal, "after"),
        actions=tuple(str(r["activity"].get("name", "?")) for r in actions),
        rollbacks=len(rollbacks),
    )
    if not actions:
        return experiment, None
    # The suite's fault actions hold their fault for its duration and heal it themselves, so the
    # window is the method's actions; only an interrupted or aborted run lasted to its rollbacks.
    first, last = actions[0], actions[-1]
    if journal.get("status") in ("interrupted", "aborted") and rollbacks:
        last = rollbacks[-1]
    where = f"{path}: run[{runs.index(first)}]"
    start = _epoch(first.get("start"), f"{where}.start")
    end = _epoch(last.get("end") or last.get("start"), f"{path}: end of the last action or rollback")
    fault = Fault(title, experiment.actions[0], start, max(start, end), path.name)
    return experiment, fault


def _load_experiment(folder: Path, name: str) -> tuple[Experiment, Fault | None]:
    """An experiment is its journal and its verdict, or its verdict alone when Chaos Toolkit wrote no journal."""
    path = folder / rf.CHAOS_JOURNAL.format(name=name)
    journal = _read_journal(path) if path.exists() else None
    experiment, fault = (None, None) if journal is None else _load_journal(path, name, journal)
    verdict = _verdict(folder, name, journal)
    if experiment is None:
        experiment = Experiment(verdict.title, "", verdict.journal_status or "no journal", False, None, None, (), 0)
    verdict_file = folder / rf.CHAOS_VERDICT.format(name=name)
    judged_from = verdict_file.name if verdict_file.exists() else path.name
    return replace(experiment, name=name, verdict=verdict.verdict, reasons=tuple(verdict.reasons),
                   judged_from=judged_from), fault  # fmt: skip


def _load_chaos(run: RunData) -> None:
    folder = run.run_dir / rf.CHAOS_DIR
    suffixes = (rf.CHAOS_JOURNAL.format(name=""), rf.CHAOS_VERDICT.format(name=""))
    files = sorted(folder.iterdir()) if folder.is_dir() else []
    names = dict.fromkeys(p.name.removesuffix(x) for p in files for x in suffixes if p.name.endswith(x))
    if not names:
        run.not_measured.append(_why("chaos experiments (chaos/*.journal.json)", run.not_asked.get("fault")))
    for name in names:
        experiment, fault = _load_experiment(folder, name)
        run.experiments.append(experiment)
        if fault is not None:
            run.faults.append(fault)
    run.faults.sort(key=lambda f: f.start)


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReportError(f"{path} is not readable JSON: {exc}") from exc


# Why a closed-model run's latency stands uncorrected (docs/contracts.md, meta.json `model`).
CLOSED_MODEL_NOTE = (
    "latency corrected for coordinated omission: a closed-model run (users paced by their own wait_time, "
    "no intended start recorded), so a slow answer delayed the next request instead of being charged to it; "
    "latency is as measured from each request's actual start and understates what shoppers would see"
)


def load_run(run_dir: str | Path) -> RunData:
    """Read a run folder; ReportError (exit 2) when it is missing or holds nothing to evaluate."""
    path = Path(run_dir)
    if not path.is_dir():
        raise ReportError(f"run folder {path} does not exist or is not a directory")
    run = RunData(run_dir=path)
    if (path / rf.META).exists():
        meta = _load_json(path / rf.META)
        run.meta = meta if isinstance(meta, dict) else None
    _load_requests(run)
    _load_locust(run)
    if run.meta is not None and run.meta.get("model") == "closed":
        run.not_measured.append(CLOSED_MODEL_NOTE)
    if run.requests is None and run.locust_stats is None:
        empty = next((p for p in (path / rf.REQUESTS_PARQUET, path / rf.REQUESTS_CSV) if p.exists()), None)
        if empty is not None:
            raise ReportError(
                f"{empty} holds no requests and there is no {rf.LOCUST_PREFIX}_stats.csv: nothing to evaluate"
            )
        raise ReportError(
            f"run folder {path} has no {rf.REQUESTS_PARQUET}, {rf.REQUESTS_CSV} or "
            f"{rf.LOCUST_PREFIX}_stats.csv: nothing to evaluate"
        )
    _load_optional_csvs(run)
    run.not_asked = _load_not_asked(path)
    _load_chaos(run)
    if (path / rf.AUDIT).exists():
        audit = _load_json(path / rf.AUDIT)
        if not isinstance(audit, dict) or not isinstance(audit.get("invariants"), list):
            raise ReportError(f"{path / rf.AUDIT}: expected an object with an 'invariants' list")
        run.audit = audit
    else:
        run.not_measured.append(_why("integrity audit (audit.json)", run.not_asked.get("integrity")))
    return run


def _why(part: str, reason: str | None) -> str:
    return f"{part}: {reason}" if reason else part


def _load_not_asked(path: Path) -> dict[str, str]:
    """not_measured.json: the parts a game day was not asked to run (or could not), with the reason."""
    if not (path / rf.NOT_MEASURED).exists():
        return {}
    data = _load_json(path / rf.NOT_MEASURED)
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ReportError(f"{path / rf.NOT_MEASURED}: expected an object of part: reason (strings)")
    return {str(k): v for k, v in data.items()}
