"""The whole report in one call: load → evaluate (transform inside) → render."""

from __future__ import annotations

from pathlib import Path

from reports.baseline import compare
from reports.errors import ReportError
from reports.evaluate import Evaluation, evaluate
from reports.load import load_run
from reports.render import write_outputs
from reports.slo import load_slo_file
from reports.stopped import apply_stop_record

__all__ = ["build_report"]


def build_report(
    run_dir: str | Path, slo_file: str | Path | None = None, baseline_dir: str | Path | None = None
) -> Evaluation:
    """Evaluate `run_dir` against `slo_file` (default fixtures/slo.yaml), optionally against a
    baseline run, and write report.html, summary.json, junit.xml and charts/ into the run folder."""
    slo = load_slo_file(slo_file)
    ev = evaluate(load_run(run_dir), slo)
    apply_stop_record(ev, run_dir)  # a game day stopped early (stop.json)
    if baseline_dir is not None:
        try:
            before = evaluate(load_run(baseline_dir), slo)
        except ReportError as exc:
            raise ReportError(f"baseline: {exc}") from exc
        compare(ev, before, str(baseline_dir))
    write_outputs(ev)
    return ev
