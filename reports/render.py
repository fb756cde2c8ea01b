"""Outputs of an evaluation: report.html (self-contained), summary.json, junit.xml, charts/*.png."""

from __future__ import annotations

import base64
import json
import math
import xml.etree.ElementTree as ET
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
import pandas as pd

from doorbuster import __version__
from doorbuster import runfolder as rf
from doorbuster.errors import EXIT_BAD_INPUT
from doorbuster.reports import plot
from doorbuster.reports.evaluate import Evaluation
from doorbuster.reports.formatting import fmt_margin, fmt_ms, fmt_pct, fmt_value
from doorbuster.reports.results import FAIL, NO_DATA, NOT_APPLICABLE, TOO_FEW, UNOFFERED, WARN
from doorbuster.reports.verdict import Banner

__all__ = ["charts", "html", "junit", "summary", "write_not_evaluated", "write_outputs"]

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("doorbuster.reports", "templates"),
    autoescape=jinja2.select_autoescape(["html", "j2"]),
    undefined=jinja2.StrictUndefined,
)
_ENV.filters["value"] = lambda v, metric: fmt_value(None if v is None else float(v), metric)
_ENV.filters["margin"] = lambda v, metric: fmt_margin(None if v is None else float(v), metric)
_ENV.filters["pct"] = lambda v: "—" if v is None or not math.isfinite(float(v)) else fmt_pct(float(v))
_ENV.filters["count"] = lambda v: f"{int(v):,}"
_ENV.filters["vclass"] = lambda verdict: "v-" + str(verdict).replace(" ", "-")
# What the SLO table's verdict cell says where the bare status would not explain itself.
UNOFFERED_TEXT = f"{UNOFFERED}: the generator could not offer the plan"
_ENV.filters["vtext"] = lambda verdict: UNOFFERED_TEXT if verdict == UNOFFERED else verdict
_ENV.filters["met"] = lambda m: "not checked" if m is None else ("met" if m else "NOT met")
_ENV.filters["ms"] = lambda v: "—" if v is None or not math.isfinite(float(v)) else fmt_ms(float(v))
_ENV.filters["offset"] = lambda ts, t0: "—" if ts is None else f"+{ts - t0:.0f} s"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if ts else "unknown"


def _p95_target(ev: Evaluation) -> float | None:
    # The unscoped p95 target, drawn on the latency chart as the line to stay under.
    for o in ev.slo.objectives:
        if o.metric == "latency_p95_ms" and not (o.journeys or o.endpoints or o.exclude):
            return o.bound
    return None


def charts(ev: Evaluation) -> dict[str, bytes]:
    """The report's charts as PNG bytes, by file stem."""
    out: dict[str, bytes] = {}
    w, faults, t0 = ev.timeline, ev.run.faults, ev.t0
    if w is not None and len(w):
        out["latency"] = plot.png(lambda ax: plot.plot_latency(ax, w, faults, t0, _p95_target(ev)))
        out["throughput"] = plot.png(lambda ax: plot.plot_throughput(ax, w, ev.segments, faults, t0))
        out["errors"] = plot.png(lambda ax: plot.plot_errors(ax, w, ev.minutes, faults, t0))
    if ev.headroom is not None:
        head = ev.headroom
        out["headroom"] = plot.png(lambda ax: plot.plot_headroom(ax, head), width=6, height=3)
    return out


def _endpoint_rows(ev: Evaluation) -> tuple[list[dict[str, Any]], str]:
    if ev.endpoints is not None:
        return ev.endpoints.to_dict("records"), "Exact percentiles from every request (requests file)."
    stats = ev.run.locust_stats
    if stats is None:
        return [], ""
    rows = []
    for _, s in stats.iterrows():
        count = int(pd.to_numeric(s["Request Count"], errors="coerce") or 0)
        failures = int(pd.to_numeric(s["Failure Count"], errors="coerce") or 0)

        def num(col: str, s: pd.Series = s) -> float:
            value = pd.to_numeric(s.get(col, float("nan")), errors="coerce")
            return float(value) if pd.notna(value) else float("nan")

        rows.append(
            {
                "journey": "—",
                "name": f"{s['Type']} {s['Name']}".strip(),
                "requests": count,
                "failures": failures,
                "error_rate": failures / count if count else 0.0,
                "mean_ms": num("Average Response Time"),
                "p50": num("50%"),
                "p95": num("95%"),
                "p99": num("99%"),
                "max_ms": num("Max Response Time"),
            }
        )
    return rows, "From Locust's own locust_stats.csv (bucketed percentiles): no per-request data in this run."


def _error_rows(ev: Evaluation) -> list[dict[str, Any]]:
    if ev.errors is not None:
        rows: list[dict[str, Any]] = ev.errors.to_dict("records")
        return rows
    failures = ev.run.locust_failures
    if failures is None or failures.empty:
        return []
    top = failures.sort_values("Occurrences", ascending=False).head(10)
    return [
        {
            "name": f"{f['Method']} {f['Name']}",
            "status": "",
            "error": str(f["Error"]),
            "occurrences": int(f["Occurrences"]),
        }
        for _, f in top.iterrows()
    ]


def _experiment_rows(ev: Evaluation) -> list[tuple[Any, Any]]:
    """Each experiment beside its check, so the table shows the verdict the banner judged."""
    checks = {r.name: r for r in ev.results if r.kind == "experiment"}
    return [(x, checks.get(f"experiment: {x.name}")) for x in ev.run.experiments]


def _shape(meta: dict[str, Any]) -> str | None:
    # "ramp (steps=[1.0, 5.0, 10.0], hold=12.0), profile ci, 1x = 10 req/s"; None when unknown.
    parts = []
    shape = meta.get("shape")
    if isinstance(shape, dict) and shape.get("name"):
        args = shape.get("args") or {}
        described = ", ".join(f"{k}={v}" for k, v in args.items()) if isinstance(args, dict) else str(args)
        parts.append(f"{shape['name']} ({described})" if described else str(shape["name"]))
    profile = meta.get("profile")
    if isinstance(profile, dict) and profile.get("name"):
        parts.append(f"profile {profile['name']}")
    one_x = meta.get("one_x_rps")
    if isinstance(one_x, int | float) and not isinstance(one_x, bool) and one_x > 0:
        parts.append(f"1x = {one_x:g} req/s")
    return ", ".join(parts) or None


def html(ev: Evaluation, pngs: dict[str, bytes]) -> str:
    """The self-contained HTML report: charts inline as base64, CSS inline, no external reference."""
    titles = {"latency": "Latency percentiles", "throughput": "Throughput", "errors": "Errors and availability"}
    embedded = [
        {"title": titles[k], "data": base64.b64encode(v).decode("ascii")} for k, v in pngs.items() if k in titles
    ]
    endpoints, endpoints_source = _endpoint_rows(ev)
    meta = ev.run.meta or {}
    duration = max(0.0, ev.t_end - ev.t0)
    context = {
        "evaluated": True,
        "verdict": ev.verdict,
        "banner": ev.banner,
        "run_id": meta.get("run_id") or ev.run.run_dir.name,
        "target": meta.get("target"),
        "shape": _shape(meta),
        "started": _iso(ev.t0),
        "ended": _iso(ev.t_end),
        "duration": f"{duration / 60:.1f} min" if duration >= 120 else f"{duration:.0f} s",
        "total_requests": ev.total_requests,
        "source": ev.run.requests_file or "Locust CSVs",
        "slo_path": ev.slo.path,
        "not_measured": ev.run.not_measured,
        "not_asked": ev.run.not_asked,
        "results": [r for r in ev.results if r.kind not in ("integrity", "experiment")],
        "integrity": [r for r in ev.results if r.kind == "integrity"],
        "load_checks": ev.load_checks,
        "charts": embedded,
        "budgets": ev.budgets,
        "t0": ev.t0,
        "headroom": ev.headroom,
        "headroom_chart": base64.b64encode(pngs["headroom"]).decode("ascii") if "headroom" in pngs else None,
        "endpoints": endpoints,
        "endpoints_source": endpoints_source,
        "errors": _error_rows(ev),
        "exceptions": []
        if ev.run.locust_exceptions is None
        else ev.run.locust_exceptions.sort_values("Count", ascending=False).head(10).to_dict("records"),
        "experiments": _experiment_rows(ev),
        "ledger_orders": ev.run.ledger_orders,
        "regressions": ev.regressions,
        "metrics": {r.name: r.metric for r in ev.results},
        "baseline_dir": ev.baseline_dir,
        "version": __version__,
        "generated": _iso(datetime.now(UTC).timestamp()),
    }
    return _ENV.get_template("report.html.j2").render(context)


def _clean(value: Any) -> Any:
    # JSON has no NaN or infinity: not measured is null.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def summary(ev: Evaluation) -> dict[str, Any]:
    """The machine-readable verdict (summary.json)."""
    cleaned: dict[str, Any] = _clean(
        {
            "verdict": ev.verdict,
            "exit_code": ev.exit_code,
            "headline": ev.banner.headline,
            "reasons": ev.reasons,
            "banner": asdict(ev.banner),
            "run_dir": str(ev.run.run_dir),
            "slo_file": ev.slo.path,
            "started": ev.t0,
            "ended": ev.t_end,
            "total_requests": ev.total_requests,
            "requests_source": ev.run.requests_file or "locust_stats.csv",
            "not_measured": ev.run.not_measured,
            "slos": [{**asdict(r), "margin": r.margin} for r in ev.results],
            "load_checks": [asdict(x) for x in ev.load_checks],
            "error_budget": [asdict(b) for b in ev.budgets],
            "endpoints": _endpoint_rows(ev)[0],
            "windows": [] if ev.windows is None else ev.windows.to_dict("records"),
            "headroom": asdict(ev.headroom) if ev.headroom else None,
            "faults": [{**asdict(f), "is_kill": f.is_kill} for f in ev.run.faults],
            "experiments": [asdict(x) for x in ev.run.experiments],
            "baseline": {"run_dir": ev.baseline_dir, "regressions": [asdict(g) for g in ev.regressions]}
            if ev.baseline_dir
            else None,
        }
    )
    return cleaned


_NOT_ASKED = {"fault": "chaos experiments", "integrity": "integrity audit"}


def junit(ev: Evaluation) -> bytes:
    """JUnit XML: one test case per SLO (a breach fails, no data errors), per chaos experiment (a
    failed hypothesis fails, a skipped one is skipped) and per load check."""
    suite = ET.Element("testsuite", name=f"doorbuster SLOs ({ev.verdict})")
    counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for r in ev.results:
        case = ET.SubElement(suite, "testcase", classname=f"doorbuster.{r.kind}", name=r.name)
        counts["tests"] += 1
        text = f"measured {fmt_value(r.measured, r.metric)}, target {'≤' if r.direction == 'max' else '≥'} "
        text += f"{fmt_value(r.target, r.metric)} ({r.scope})"
        if r.kind == "experiment":  # its hypothesis, not a number: what its verdict says
            text = f"{r.description}: {r.note}"
        if r.verdict == FAIL:
            kind = "hypothesis-failed" if r.kind == "experiment" else "slo-breach"
            ET.SubElement(case, "failure", message=text, type=kind).text = r.note
            counts["failures"] += 1
        elif r.verdict == UNOFFERED:
            # Not a breach (the shortfall may be the generator's), not a pass: it could not be judged.
            ET.SubElement(case, "error", message=f"{UNOFFERED_TEXT}: {text}", type=UNOFFERED).text = r.note
            counts["errors"] += 1
        elif r.verdict in (NO_DATA, TOO_FEW):
            why = f"not measured: {r.note or 'no data'}" if r.verdict == NO_DATA else f"{text} on too few requests"
            ET.SubElement(case, "error", message=why, type=r.verdict.replace(" ", "-"))
            counts["errors"] += 1
        elif r.verdict == NOT_APPLICABLE:
            ET.SubElement(case, "skipped", message=f"not applicable: {text if r.kind == 'experiment' else r.note}")
            counts["skipped"] += 1
        else:
            ET.SubElement(case, "system-out").text = text + (" (warning level reached)" if r.verdict == WARN else "")
    for kind, why in ev.run.not_asked.items():
        if not any(r.kind == kind for r in ev.results):  # a part the game day did not run: said, not passed
            case = ET.SubElement(suite, "testcase", classname=f"doorbuster.{kind}", name=_NOT_ASKED.get(kind, kind))
            ET.SubElement(case, "skipped", message=f"not measured: {why}")
            counts["tests"] += 1
            counts["skipped"] += 1
    for x in ev.load_checks:
        case = ET.SubElement(suite, "testcase", classname="doorbuster.load", name=x.name)
        counts["tests"] += 1
        measured = f"{fmt_value(x.measured, x.metric)} against limit {fmt_value(x.limit, x.metric)}"
        if x.ok is None:
            ET.SubElement(case, "skipped", message=f"not measured: {x.explanation}")
            counts["skipped"] += 1
        elif not x.ok and x.blame == "generator":
            ET.SubElement(case, "failure", message=measured, type="inconclusive")
            counts["failures"] += 1
        else:
            ET.SubElement(case, "system-out").text = measured + ("" if x.ok else " (the shop's doing: judged by SLOs)")
    for key, value in counts.items():
        suite.set(key, str(value))
    xml: bytes = ET.tostring(suite, encoding="utf-8", xml_declaration=True)
    return xml


def write_not_evaluated(run_dir: Path, banner: Banner) -> Path:
    """A run folder the report could not evaluate still gets a report.html and summary.json that
    say why, so that whoever opens the CI artefacts reads the reason rather than finding nothing."""
    context = {
        "evaluated": False,
        "verdict": banner.verdict,
        "banner": banner,
        "run_id": run_dir.name,
        "run_dir": str(run_dir),
        "version": __version__,
        "generated": _iso(datetime.now(UTC).timestamp()),
    }
    report = run_dir / rf.REPORT_HTML
    report.write_text(_ENV.get_template("report.html.j2").render(context), encoding="utf-8")
    body = {"verdict": banner.verdict, "exit_code": EXIT_BAD_INPUT, "headline": banner.headline,
            "reasons": banner.reasons, "run_dir": str(run_dir)}  # fmt: skip
    (run_dir / rf.SUMMARY).write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    return report


def write_outputs(ev: Evaluation, out_dir: Path | None = None) -> Path:
    """Write report.html, summary.json, junit.xml and charts/*.png into the run folder."""
    out = out_dir or ev.run.run_dir
    pngs = charts(ev)
    chart_dir = out / rf.CHARTS_DIR
    chart_dir.mkdir(parents=True, exist_ok=True)
    for name, data in pngs.items():
        (chart_dir / f"{name}.png").write_bytes(data)
    (out / rf.SUMMARY).write_text(json.dumps(summary(ev), indent=2, allow_nan=False) + "\n", encoding="utf-8")
    (out / rf.JUNIT).write_bytes(junit(ev))
    report = out / rf.REPORT_HTML
    report.write_text(html(ev, pngs), encoding="utf-8")
    return report
