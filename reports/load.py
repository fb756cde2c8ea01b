"""Ingestion: every file of a run folder into pandas, or None where the run did not write it."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from doorbuster import runfolder as rf
from reports import columns as c
from reports.errors import ReportError

__all__ = ["Experiment", "Fault", "RunData", "load_run"]

_REQUIRED_REQUEST_COLUMNS = (c.TS, c.NAME, c.LATENCY_MS, c.OK)


@dataclass(frozen=True)
class Fault:
    """A fault window from a Chaos Toolkit journal: first method action's start to the last one's end."""

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
    """What a stakeholder reads about one chaos experiment."""

    title: str
    journal: str
    status: str
    deviated: bool
    steady_before: bool | None
    steady_after: bool | None
    actions: tuple[str, ...]
    rollbacks: int


@dataclass
class RunData:
    run_dir: Path
    meta: dict[str, Any] | None = None
    requests: pd.DataFrame | None = None
    requests_file: str | None = None
    locust_stats: pd.DataFrame | None = None
    locust_history: pd.DataFrame | None = None
    locust_failures: pd.DataFrame | None = None
    locust_exceptions: pd.DataFrame | None = None  # errors raised inside the load script itself
    planned: pd.DataFrame | None = None
    iterations: pd.DataFrame | None = None
    generator: pd.DataFrame | None = None
    ledger: pd.DataFrame | None = None
    faults: list[Fault] = field(default_factory=list)
    experiments: list[Experiment] = field(default_factory=list)
    audit: dict[str, Any] | None = None
    not_measured: list[str] = field(default_factory=list)  # sections the run folder lacks


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


def _read_requests_parquet(path: Path) -> pd.DataFrame:
    try:
        names = set(pq.read_schema(path).names)
        missing = [col for col in _REQUIRED_REQUEST_COLUMNS if col not in names]
        if missing:
            raise ReportError(f"{path} lacks the column(s) {', '.join(missing)} (docs/contracts.md, section 1)")
        wanted = [col for col in c.REQUEST_READ_COLUMNS if col in names]
        dictionary = [col for col in c.CATEGORICAL_REQUEST_COLUMNS if col in names]
        table = pq.read_table(path, columns=wanted, read_dictionary=dictionary)
    except (pa.ArrowException, OSError) as exc:
        raise ReportError(f"{path} is not a readable Parquet file: {exc}") from exc
    return table.to_pandas()


def _read_requests_csv(path: Path) -> pd.DataFrame:
    dtypes = {col: "category" for col in c.CATEGORICAL_REQUEST_COLUMNS}
    return _read_csv(
        path,
        _REQUIRED_REQUEST_COLUMNS,
        usecols=lambda col: col in c.REQUEST_READ_COLUMNS,
        dtype=dtypes,
        keep_default_na=False,
        na_values={c.INTENDED_TS: [""]},
    )


def _normalise_requests(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    for col in c.CATEGORICAL_REQUEST_COLUMNS:
        if col not in frame.columns:
            frame[col] = pd.Categorical([""] * len(frame))
        elif not isinstance(frame[col].dtype, pd.CategoricalDtype):
            frame[col] = frame[col].astype("category")
    if c.INTENDED_TS not in frame.columns:
        frame[c.INTENDED_TS] = float("nan")
    if c.STATUS not in frame.columns:
        frame[c.STATUS] = 0
    try:
        for col in (c.TS, c.INTENDED_TS, c.LATENCY_MS):
            frame[col] = pd.to_numeric(frame[col], errors="raise").astype("float64")
    except (ValueError, TypeError) as exc:
        raise ReportError(f"{path}: column {col} must be numeric: {exc}") from exc
    if frame[c.OK].dtype != bool:
        frame[c.OK] = frame[c.OK].astype(str).str.lower().isin(("true", "1"))
    if frame[c.TS].isna().any() or frame[c.LATENCY_MS].isna().any():
        raise ReportError(f"{path}: columns ts and latency_ms must be set on every request")
    return frame


# Why a closed-model run's latency stands uncorrected (docs/contracts.md, meta.json `model`).
CLOSED_MODEL_NOTE = (
    "latency corrected for coordinated omission: a closed-model run (users paced by their own wait_time, "
    "no intended start recorded), so a slow answer delayed the next request instead of being charged to it; "
    "latency is as measured from each request's actual start and understates what shoppers would see"
)


def _closed_model(run: RunData) -> bool:
    if run.meta is not None and run.meta.get("model") == "closed":
        return True
    return run.requests is not None and bool(run.requests[c.INTENDED_TS].isna().all())


def _load_requests(run: RunData) -> None:
    parquet, csv = run.run_dir / rf.REQUESTS_PARQUET, run.run_dir / rf.REQUESTS_CSV
    if parquet.exists():
        run.requests, run.requests_file = _normalise_requests(_read_requests_parquet(parquet), parquet), parquet.name
    elif csv.exists():
        run.requests, run.requests_file = _normalise_requests(_read_requests_csv(csv), csv), csv.name
    else:
        run.not_measured.append("per-request data (requests.parquet): figures come from Locust's bucketed CSVs")
        return
    if not len(run.requests):
        # An empty file says nothing, like a missing one: fall back to Locust's CSVs if there are any.
        run.not_measured.append(f"per-request data ({run.requests_file} holds no requests)")
        run.requests, run.requests_file = None, None


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
        ("planned", rf.PLANNED_RATE, rf.PLANNED_RATE_COLUMNS, "planned load (planned_rate.csv)"),
        ("iterations", rf.ITERATIONS, (c.LAG_MS, c.MISSED), "schedule lag (iterations.csv)"),
        ("generator", rf.GENERATOR, rf.GENERATOR_COLUMNS, "load generator health (generator.csv)"),
        ("ledger", rf.LEDGER, ("order_id",), "order ledger (ledger.csv)"),
    )
    for attr, name, cols, label in specs:
        path = run.run_dir / name
        if path.exists():
            setattr(run, attr, _read_csv(path, cols, usecols=lambda col, cols=cols: col in cols))
        else:
            run.not_measured.append(label)
    if run.planned is not None:
        run.planned = run.planned.sort_values(c.TS, kind="stable").reset_index(drop=True)


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


def _steady(journal: dict[str, Any], key: str) -> bool | None:
    state = (journal.get("steady_states") or {}).get(key)
    return None if not isinstance(state, dict) else bool(state.get("steady_state_met"))


def _load_journal(path: Path) -> tuple[Experiment, Fault | None]:
    try:
        journal = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReportError(f"{path} is not a readable Chaos Toolkit journal: {exc}") from exc
    if not isinstance(journal, dict) or not isinstance(journal.get("run", []), list):
        raise ReportError(f"{path} is not a Chaos Toolkit journal: expected an object with a 'run' list")
    title = str((journal.get("experiment") or {}).get("title") or path.stem)
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
    # The window (docs/contracts.md section 1): the method's actions hold their fault and heal it,
    # so it runs from the first action's start to the last action's end; a run interrupted or
    # aborted mid-fault was healed by its rollbacks, so it then ends with the last rollback.
    first = actions[0]
    interrupted = journal.get("status") in ("interrupted", "aborted") and rollbacks
    closing = rollbacks[-1] if interrupted else actions[-1]
    where = f"{path}: run[{runs.index(first)}]"
    start = _epoch(first.get("start"), f"{where}.start")
    end = _epoch(closing.get("end") or closing.get("start"), f"{path}: end of the last action or rollback")
    fault = Fault(title, experiment.actions[0], start, max(start, end), path.name)
    return experiment, fault


def _load_chaos(run: RunData) -> None:
    folder = run.run_dir / rf.CHAOS_DIR
    journals = sorted(folder.glob("*.journal.json")) if folder.is_dir() else []
    if not journals:
        run.not_measured.append("chaos experiments (chaos/*.journal.json)")
    for path in journals:
        experiment, fault = _load_journal(path)
        run.experiments.append(experiment)
        if fault is not None:
            run.faults.append(fault)
    run.faults.sort(key=lambda f: f.start)


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReportError(f"{path} is not readable JSON: {exc}") from exc


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
    if _closed_model(run):
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
    _load_chaos(run)
    if (path / rf.AUDIT).exists():
        audit = _load_json(path / rf.AUDIT)
        if not isinstance(audit, dict) or not isinstance(audit.get("invariants"), list):
            raise ReportError(f"{path / rf.AUDIT}: expected an object with an 'invariants' list")
        run.audit = audit
    else:
        run.not_measured.append("integrity audit (audit.json)")
    return run
