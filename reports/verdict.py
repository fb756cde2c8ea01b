"""One verdict per run, and the banner a stakeholder reads in ten seconds.

A breach is a breach: an SLO past its failing level on enough requests, a broken invariant,
a blown fault budget, a chaos experiment whose hypothesis failed makes the run NO-GO whatever
else went wrong, because a latency or error breach under less load than planned would only be
worse at full load, and a lost unit of stock is lost at any load. INCONCLUSIVE means nothing
failed but the run cannot vouch for a GO (the generator fell short, data are missing, too few
requests, an experiment that did not finish). GO needs every SLO met on the planned load. A
skipped experiment (it does not apply to this shop) is a warning with its reason, never a pass.
The banner leads with one sentence in business terms, then the breaches, then why the load can
or cannot be trusted, then warnings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from doorbuster.reports.checks import unoffered
from doorbuster.reports.formatting import fmt_count, fmt_pct, fmt_value
from doorbuster.reports.results import (
    FAIL,
    NO_DATA,
    NOT_APPLICABLE,
    PASS,
    TOO_FEW,
    UNOFFERED,
    WARN,
    LoadCheck,
    Regression,
    Result,
)

__all__ = ["GO", "INCONCLUSIVE", "NOT_EVALUATED", "NO_GO", "Banner", "banner_for_error", "judge_run"]

GO, NO_GO, INCONCLUSIVE = "GO", "NO-GO", "INCONCLUSIVE"
NOT_EVALUATED = "COULD NOT EVALUATE"
SIGN = {"max": "≤", "min": "≥"}
_HEADLINE_PHRASES = 4  # more breaches than this: "and N more", the list below has them all


@dataclass(frozen=True)
class Banner:
    verdict: str
    headline: str  # "NO-GO: checkouts too slow (p95 8.0 s, target 3 s), 2.4% of requests failed"
    breaches: tuple[str, ...] = ()
    unproven: tuple[str, ...] = ()  # why the run cannot vouch for a GO
    load: tuple[str, ...] = ()  # whether the load can be trusted, and why
    warnings: tuple[str, ...] = ()

    @property
    def reasons(self) -> list[str]:
        """Every reason, breach first."""
        return [*self.breaches, *self.unproven, *self.load, *self.warnings]


@dataclass
class _Lines:
    """A reason twice: a short phrase for the headline and a full line for the list."""

    phrases: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def add(self, phrase: str, line: str) -> None:
        self.phrases.append(phrase)
        self.lines.append(line)


def _plural(n: float, word: str) -> str:
    return f"{fmt_count(n)} {word}{'' if n == 1 else 's'}"


def _v(r: Result, value: float | None) -> str:
    return fmt_value(value, r.metric)


# A breach of these metrics in business terms; the others need more than a sentence to fill in.
_BREACH_PHRASES = {
    "latency_mean_ms": "{subject} too slow (average {value}, target {target})",
    "latency_max_ms": "{subject} too slow (slowest {value}, target {target})",
    "error_rate": "{value} of {subject} failed",
    "availability": "{subject} up in only {value} of minutes (target {target})",
    "achieved_ratio": "{subject} took only {value} of the planned load (target {target})",
}


def breach_phrase(r: Result) -> str:
    """What a breach means to the business, in a few words."""
    value, target, subject = _v(r, r.measured), _v(r, r.target), r.subject or "requests"
    if r.kind == "experiment":
        return r.subject  # "the cache loss experiment's hypothesis failed after the fault (...)"
    if r.kind == "integrity":
        return r.subject or f"{r.name.removeprefix('integrity: ')} broken {_plural(r.measured or 0, 'time')}"
    if r.metric == "recovery_s":
        return f"slow to recover from {subject} ({value}, target {target})"
    if r.kind == "fault":
        return f"{value} of requests failed during {subject} (budget {target})"
    if r.metric.startswith("latency_p"):
        return f"{subject} too slow (p{r.metric[9:-3]} {value}, target {target})"
    if r.metric in _BREACH_PHRASES:
        return _BREACH_PHRASES[r.metric].format(subject=subject, value=value, target=target)
    if r.metric == "sustained_multiplier":
        held = "no load step" if not r.measured else f"only {value} peak"
        return f"{subject} held {held} within its targets (target {target})"
    return f"{r.name} at {value} (target {target})"


def _breach_line(r: Result) -> str:
    if r.kind == "experiment":
        return f"{r.name} failed ({r.description}): {r.note}"
    scope = r.scope + (f"; {fmt_count(r.requests)} requests" if r.requests else "")
    line = f"{r.name} breached: {_v(r, r.measured)}, target {SIGN[r.direction]} {_v(r, r.target)} ({scope})"
    return line + (f": {r.note}" if r.note and r.kind == "integrity" else "")


def _check_value(x: LoadCheck, value: float | None) -> str:
    return fmt_value(value, x.metric) if x.metric else ("not measured" if value is None else f"{value:.3g}")


def _check_line(x: LoadCheck) -> str:
    return f"{x.name} {_check_value(x, x.measured)} (limit {SIGN[x.direction]} {_check_value(x, x.limit)})"


def _generator_phrase(x: LoadCheck) -> str:
    value = _check_value(x, x.measured)
    return {
        "achieved": f"the generator sent only {value} of the planned load",
        "cpu": f"the generator ran out of CPU (p95 {value})",
        "user_cap": "the generator's user pool hit its cap",
        "lag": f"the generator fell behind its schedule (lag p95 {value})",
        "missed": f"{value} of the planned journeys never started",
        "script": "the load script raised exceptions",
    }.get(x.key, f"{x.name} {value}")


def _judge_results(results: list[Result], breaches: _Lines, unproven: _Lines, *, short_said: bool) -> list[str]:
    warnings: list[str] = []
    missing_integrity: dict[str, list[str]] = {}
    for r in results:
        if r.verdict == UNOFFERED and r.metric == "achieved_ratio" and short_said:
            continue  # the load check already says the generator sent too little, with the same figure
        if r.verdict == UNOFFERED:
            # Sent less than planned and the generator cannot say why: not the shop's breach.
            unproven.add(
                f"{r.name} was not given its load",
                f"{r.name} missed ({_v(r, r.measured)}, target {SIGN[r.direction]} {_v(r, r.target)}), but the "
                f"generator cannot vouch that the shop was given the planned load{f' ({r.note})' if r.note else ''}",
            )
        elif r.verdict == FAIL:
            breaches.add(breach_phrase(r), _breach_line(r))
        elif r.verdict == TOO_FEW:
            unproven.add(
                f"{r.name} was judged on only {fmt_count(r.requests)} requests",
                f"{r.name} at {_v(r, r.measured)} is past its target {SIGN[r.direction]} {_v(r, r.target)}, but on "
                f"only {fmt_count(r.requests)} requests (fewer than {r.min_requests}): too few to call a breach",
            )
        elif r.verdict == NO_DATA and r.kind == "experiment":
            # Interrupted (or no verdict at all): its hypothesis was not tested to the end.
            unproven.add(
                r.subject,  # "the kill gateway pod experiment did not finish"
                f"{r.name} not judged: {r.note} (a hypothesis not tested to its end is not a pass)",
            )
        elif r.verdict == NO_DATA and r.kind == "integrity":
            missing_integrity.setdefault(r.note or "no data", []).append(r.name.removeprefix("integrity: "))
        elif r.verdict == NO_DATA:
            unproven.add(
                f"{r.name} was not measured",
                f"{r.name} not measured: {r.note or 'no data'} (an SLO without data is not a pass)",
            )
        elif r.verdict == NOT_APPLICABLE:
            warnings.append(f"not applicable: {r.name}: {r.note}")
        elif r.verdict == WARN:
            warnings.append(f"warning: {r.name} at {_v(r, r.measured)} (warning level {_v(r, r.warn)})")
        if r.verdict in (PASS, WARN) and r.requests and r.requests < r.min_requests:
            warnings.append(f"warning: {r.name} passed on only {fmt_count(r.requests)} requests (fewer than "
                            f"{r.min_requests})")  # fmt: skip
    # One line for the audit: eight invariants without audit.json are one missing file.
    for note, names in missing_integrity.items():
        unproven.add(
            "integrity was not fully audited" if note == "not in audit.json" else "the integrity audit is missing",
            f"integrity not measured: {note} ({', '.join(names)}; an SLO without data is not a pass)",
        )
    return warnings


def _judge_load(checks: list[LoadCheck], results: list[Result], unproven: _Lines) -> list[str]:
    load: list[str] = []
    throughput_judged = any(r.metric == "achieved_ratio" and r.verdict in (PASS, WARN, FAIL) for r in results)
    for x in checks:
        if x.ok is False and x.blame == "generator":
            unproven.add(_generator_phrase(x), f"load not trustworthy: {_check_line(x)}: {x.explanation}")
        elif x.ok is False and x.key == "achieved":
            if not throughput_judged:
                unproven.add(
                    f"the shop took only {_check_value(x, x.measured)} of the planned load",
                    f"load not reached: {_check_line(x)}; the generator was healthy, and no throughput SLO "
                    "judges the shortfall",
                )
            else:
                load.append(f"the shop took less than planned: {_check_line(x)}; the generator was healthy, so the "
                            "throughput SLO judges it")  # fmt: skip
        elif x.ok is False:  # blamed on the shop: users waited on slow answers
            load.append(f"requests queued behind the shop's slow answers: {_check_line(x)}; the generator had CPU "
                        "and users to spare, and the wait counts in the latency figures")  # fmt: skip
    met = [x for x in checks if x.ok is True]
    unmeasured = [x for x in checks if x.ok is None]
    if not any(x.ok is False for x in checks) and met:
        load.insert(0, "load trusted: " + "; ".join(_check_line(x) for x in met))
    if unmeasured:
        load.append("load not fully checked: " + "; ".join(f"{x.name}: {x.explanation}" for x in unmeasured))
    return load


def _regression_line(g: Regression) -> str:
    moved = g.moved
    before, after = fmt_value(g.baseline, g.metric), fmt_value(g.current, g.metric)
    if moved is None:
        return f"{g.name} got worse against the baseline ({before} → {after})"
    word = "rose" if moved > 0 else "fell"
    return (f"{g.name} {word} {fmt_pct(abs(moved))} against the baseline ({before} → {after}; tolerance "
            f"{fmt_pct(g.tolerance)} worse)")  # fmt: skip


def _headline(verdict: str, breaches: _Lines, unproven: _Lines, go_summary: str) -> str:
    if verdict == NO_GO:
        phrases = breaches.phrases
    elif verdict == INCONCLUSIVE:
        phrases = unproven.phrases
    else:
        return f"{GO}: {go_summary}"
    shown = list(dict.fromkeys(phrases))[:_HEADLINE_PHRASES]
    rest = len(dict.fromkeys(phrases)) - len(shown)
    text = ", ".join(shown) + (f", and {rest} more" if rest else "")
    return f"{NO_GO}: {text}" if verdict == NO_GO else f"{INCONCLUSIVE}: nothing failed, but {text}"


def _go_summary(results: list[Result], total_requests: int, checks: list[LoadCheck]) -> str:
    slos = [r for r in results if r.kind not in ("integrity", "experiment") and r.verdict != NOT_APPLICABLE]
    text = f"all {_plural(len(slos), 'SLO')} met on {fmt_count(total_requests)} requests"
    achieved = next((x for x in checks if x.key == "achieved" and x.ok), None)
    if achieved is not None and achieved.measured is not None and math.isfinite(achieved.measured):
        text += f" at the planned load ({fmt_pct(achieved.measured)} of it sent)"
    if any(r.kind == "integrity" for r in results):
        text += ", nothing lost or oversold"
    held = sum(1 for r in results if r.kind == "experiment" and r.verdict == PASS)
    skipped = sum(1 for r in results if r.kind == "experiment" and r.verdict == NOT_APPLICABLE)
    if held or skipped:  # a skipped experiment proved nothing: said, never counted as held
        text += f", {fmt_count(held)} experiment {'hypothesis' if held == 1 else 'hypotheses'} held"
        text += f" ({fmt_count(skipped)} skipped: see the warnings)" if skipped else ""
    return text


def judge_run(
    results: list[Result],
    checks: list[LoadCheck],
    regressions: list[Regression],
    *,
    fail_on_regression: bool,
    total_requests: int,
    extra_warnings: tuple[str, ...] = (),
) -> Banner:
    """The verdict and its banner from every result, load check and regression of a run."""
    results = unoffered(results, checks)  # evaluate() already did; a caller with raw results may not have
    breaches, untrusted, unmeasured = _Lines(), _Lines(), _Lines()
    short_said = any(x.key == "achieved" and x.ok is False and x.blame == "generator" for x in checks)
    warnings = _judge_results(results, breaches, unmeasured, short_said=short_said)
    load = _judge_load(checks, results, untrusted)
    # Load first: a generator that fell short explains most of what else went unmeasured.
    unproven = _Lines(untrusted.phrases + unmeasured.phrases, untrusted.lines + unmeasured.lines)
    for g in (g for g in regressions if g.regressed):
        if fail_on_regression:
            breaches.add(f"{g.name} regressed against the baseline", f"regression: {_regression_line(g)}")
        else:
            warnings.append(f"warning: regression: {_regression_line(g)}")
    warnings += extra_warnings
    if breaches.lines:
        verdict = NO_GO
    elif unproven.lines:
        verdict = INCONCLUSIVE
    else:
        verdict = GO
    headline = _headline(verdict, breaches, unproven, _go_summary(results, total_requests, checks))
    return Banner(verdict, headline, tuple(breaches.lines), tuple(unproven.lines), tuple(load), tuple(warnings))


def banner_for_error(message: str) -> Banner:
    """The banner of a run that could not be evaluated at all (exit 2)."""
    return Banner(NOT_EVALUATED, f"{NOT_EVALUATED}: {message}", unproven=(message,))
