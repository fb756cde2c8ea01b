"""The whole report in one call: load → evaluate (transform inside) → render."""

from __future__ import annotations

from pathlib import Path

from doorbuster import runfolder as rf
from doorbuster.reports.baseline import compare
from doorbuster.reports.errors import ReportError
from doorbuster.reports.evaluate import Evaluation, evaluate
from doorbuster.reports.load import load_run
from doorbuster.reports.render import write_not_evaluated, write_outputs
from doorbuster.reports.slo import load_slo_file
from doorbuster.reports.stopped import apply_stop_record
from doorbuster.reports.verdict import banner_for_error

__all__ = ["build_report"]


def build_report(
    run_dir: str | Path, slo_file: str | Path | None = None, baseline_dir: str | Path | None = None
) -> Evaluation:
    """Evaluate `run_dir` against `slo_file` (default fixtures/slo.yaml), optionally against a
    baseline run, and write report.html, summary.json, junit.xml and charts/ into the run folder."""
    try:
        slo = load_slo_file(slo_file)
        ev = evaluate(load_run(run_dir), slo)
    except ReportError as exc:
        if _looks_like_a_run_folder(Path(run_dir)):
            write_not_evaluated(Path(run_dir), banner_for_error(str(exc)))
        raise
    if baseline_dir is not None:
        try:
            before = evaluate(load_run(baseline_dir), slo)
        except ReportError as exc:
            raise ReportError(f"baseline: {exc}") from exc
        compare(ev, before, str(baseline_dir))
    apply_stop_record(ev, run_dir)  # a game day stopped early (stop.json); after compare, which re-judges
    write_outputs(ev)
    return ev


_RUN_FILES = (rf.META, rf.REQUESTS_PARQUET, rf.REQUESTS_CSV, rf.PLANNED_RATE, rf.LEDGER, rf.CHAOS_DIR, rf.SHOP_DIR,
              f"{rf.LOCUST_PREFIX}_stats.csv")  # fmt: skip


def _looks_like_a_run_folder(path: Path) -> bool:
    # Never write into a folder that is not a run's (a mistyped /run, a home directory).
    return path.is_dir() and (not any(path.iterdir()) or any((path / name).exists() for name in _RUN_FILES))
