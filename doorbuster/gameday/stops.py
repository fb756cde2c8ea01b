"""Stop conditions: evaluated every tick from the live feed (and the integrity probe), with
their margins for the live view, and the record (`stop.json`) the report reads when one fires.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from doorbuster.gameday.feed import LiveFeed
from doorbuster.gameday.profile import ErrorRateStop, IntegrityStop, LatencyStop, StopCondition
from doorbuster.runfolder import STOP

__all__ = ["IntegrityProbe", "Margin", "StopRecord", "StopWatch", "describe", "write_stop_record"]


def describe(condition: StopCondition) -> str:
    """The condition as a sentence: 'error rate above 5% for 20 s'."""
    if isinstance(condition, ErrorRateStop):
        return f"error rate above {condition.above * 100:g}% for {condition.for_s:g} s"
    if isinstance(condition, LatencyStop):
        return f"p95 latency above {condition.above_ms:g} ms for {condition.for_s:g} s"
    return (
        f"integrity probe ({', '.join(condition.invariants)}) failing on {condition.consecutive} "
        f"probe(s) in a row, every {condition.every:g} s"
    )


@dataclass(frozen=True)
class Margin:
    """How far a condition is from firing, for the live view."""

    name: str
    measured: str
    limit: str
    state: str  # "ok", "watch" (over the limit, not for long enough yet), "fired", "waiting"


@dataclass
class StopRecord:
    """What `stop.json` holds (docs/contracts.md): why the game day stopped early."""

    kind: str  # "stop_condition" or "interrupted"
    condition: str  # the condition's name, or the signal
    rule: str  # the condition as a sentence
    fired_at: str  # ISO-8601 UTC
    fired_ts: float
    offset_s: float | None  # seconds into the load
    measured: float | None
    threshold: float | None
    metric: str  # error_rate, latency_p95_ms, invariant_violations, signal
    detail: str
    rolled_back: list[str] = field(default_factory=list)  # experiments in flight, stopped and healed
    not_started: list[str] = field(default_factory=list)  # experiments the schedule still had
    # Experiments the game day ended earlier, before the stop, because they ran past their own
    # timeout (also healed): an overrun of the experiment, not a rollback by the stop.
    timed_out: list[str] = field(default_factory=list)


def write_stop_record(run_dir: Path, record: StopRecord) -> Path:
    path = run_dir / STOP
    path.write_text(json.dumps(asdict(record), indent=2) + "\n", encoding="utf-8")
    return path


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


class IntegrityProbe:
    """Runs the shop's audit (its control API) every `every` s in a thread; the last results stay
    readable from the game day's loop without waiting for a probe."""

    def __init__(self, condition: IntegrityStop, audit: Any) -> None:
        self.condition = condition
        self._audit = audit  # () -> audit.json's dict
        self.failing_in_a_row = 0
        self.persisting: set[tuple[str, str]] = set()
        self.last_broken: dict[str, int] = {}  # invariant -> SKUs/orders broken on consecutive probes
        self.last_error = ""
        self.probes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="integrity-probe", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)  # a daemon: an audit still in flight does not hold the game day

    def _loop(self) -> None:
        while not self._stop.wait(self.condition.every):
            self.probe_once()

    def probe_once(self) -> None:
        try:
            audit = self._audit()
        except Exception as exc:  # an unreachable store is the error-rate condition's business
            self.last_error = str(exc)[:200]
            return
        self.probes += 1
        self.last_error = ""
        found = _violations(audit, self.condition.invariants)
        # A checkout in flight can make a SKU look unbalanced for a moment (inventory committed,
        # the order not yet marked): only the same SKU or order broken on consecutive probes counts.
        self.persisting = (self.persisting & found) if self.failing_in_a_row else found
        if not self.persisting:
            self.persisting = found
            self.failing_in_a_row = 1 if found else 0
        else:
            self.failing_in_a_row += 1
        counts: dict[str, int] = {}
        for name, _ in sorted(self.persisting):
            counts[name] = counts.get(name, 0) + 1
        self.last_broken = counts


def _violations(audit: dict[str, Any], wanted: tuple[str, ...]) -> set[tuple[str, str]]:
    """(invariant, the SKU or order at fault) for every listed violation of a wanted invariant."""
    found: set[tuple[str, str]] = set()
    for inv in audit.get("invariants", []):
        if inv.get("name") not in wanted or inv.get("ok", False):
            continue
        details = [d for d in inv.get("details", []) if isinstance(d, dict) and "note" not in d]
        for d in details or [{}]:
            found.add((inv["name"], str(d.get("sku") or d.get("order_id") or d.get("problem") or "?")))
    return found


class StopWatch:
    """Every stop condition of a game day against the feed; `check` returns the record of the
    first that fires."""

    def __init__(
        self, conditions: tuple[StopCondition, ...], feed: LiveFeed, probes: dict[str, IntegrityProbe] | None = None
    ) -> None:
        self.conditions = conditions
        self.feed = feed
        self.probes = {} if probes is None else probes  # filled once the load starts: keep the same dict
        self._over_since: dict[str, float] = {}

    def _error_rate(self, c: ErrorRateStop, now: float) -> tuple[Margin, StopRecord | None]:
        rate, requests = self.feed.error_rate(c.for_s)
        limit = f"≤ {c.above * 100:g}% over {c.for_s:g} s"
        if rate is None or requests < c.min_requests:
            return Margin(c.name, "—" if rate is None else f"{rate * 100:.2f}% of {requests}", limit, "waiting"), None
        measured = f"{rate * 100:.2f}% of {requests:,}"
        if rate <= c.above:
            return Margin(c.name, measured, limit, "ok"), None
        detail = (
            f"{rate * 100:.2f}% of {requests:,} requests failed in the last {c.for_s:g} s (limit {c.above * 100:g}%)"
        )
        return Margin(c.name, measured, limit, "fired"), self._record(c, now, rate, c.above, "error_rate", detail)

    def _latency(self, c: LatencyStop, now: float) -> tuple[Margin, StopRecord | None]:
        values = self.feed.p95_over(c.for_s)
        last = self.feed.p95_of(self.feed.samples[-1]) if self.feed.samples else None
        limit = f"≤ {c.above_ms:g} ms for {c.for_s:g} s"
        measured = "—" if last is None else f"{last:,.0f} ms"
        if not values:
            return Margin(c.name, measured, limit, "waiting"), None
        known = [v for v in values if v is not None]
        if known and len(known) == len(values) and min(known) > c.above_ms:
            detail = (
                f"p95 latency stayed above {c.above_ms:g} ms for {c.for_s:g} s "
                f"(lowest {min(known):,.0f} ms, last {known[-1]:,.0f} ms)"
            )
            silent = self.feed.samples[-1].silent_s
            if silent * 1000 >= known[-1]:
                detail += f"; no request answered for the last {silent:g} s"
            return Margin(c.name, measured, limit, "fired"), self._record(
                c, now, min(known), c.above_ms, "latency_p95_ms", detail
            )
        state = "watch" if last is not None and last > c.above_ms else "ok"
        return Margin(c.name, measured, limit, state), None

    def _integrity(self, c: IntegrityStop, now: float) -> tuple[Margin, StopRecord | None]:
        probe = self.probes.get(c.name)
        limit = f"{', '.join(c.invariants)} ok"
        if probe is None or probe.probes == 0:
            note = probe.last_error if probe is not None and probe.last_error else "no probe yet"
            return Margin(c.name, note, limit, "waiting"), None
        if not probe.last_broken:
            return Margin(c.name, f"clean ({probe.probes} probes)", limit, "ok"), None
        broken = ", ".join(f"{name} ({n} violation(s))" for name, n in probe.last_broken.items())
        keys = ", ".join(sorted(key for _, key in probe.persisting)[:5])
        if probe.failing_in_a_row < c.consecutive:
            return Margin(c.name, f"broken: {broken}", limit, "watch"), None
        detail = f"the audit found {broken} on {probe.failing_in_a_row} probe(s) in a row: {keys}"
        violations = float(sum(probe.last_broken.values()))
        return Margin(c.name, f"broken: {broken}", limit, "fired"), self._record(
            c, now, violations, 0.0, "invariant_violations", detail
        )

    def _record(
        self, c: StopCondition, now: float, measured: float, threshold: float, metric: str, detail: str
    ) -> StopRecord:
        t0 = self.feed.t0
        return StopRecord(
            kind="stop_condition",
            condition=c.name,
            rule=describe(c),
            fired_at=_iso(now),
            fired_ts=now,
            offset_s=None if t0 is None else round(now - t0, 1),
            measured=measured,
            threshold=threshold,
            metric=metric,
            detail=detail,
        )

    def check(self, now: float | None = None) -> tuple[list[Margin], StopRecord | None]:
        now = time.time() if now is None else now
        margins: list[Margin] = []
        fired: StopRecord | None = None
        for c in self.conditions:
            if isinstance(c, ErrorRateStop):
                margin, record = self._error_rate(c, now)
            elif isinstance(c, LatencyStop):
                margin, record = self._latency(c, now)
            else:
                margin, record = self._integrity(c, now)
            margins.append(margin)
            fired = fired or record
        return margins, fired


def interrupted_record(signal_name: str, t0: float | None, now: float | None = None) -> StopRecord:
    now = time.time() if now is None else now
    return StopRecord(
        kind="interrupted",
        condition=signal_name,
        rule=f"interrupted by {signal_name}",
        fired_at=_iso(now),
        fired_ts=now,
        offset_s=None if t0 is None else round(now - t0, 1),
        measured=None,
        threshold=None,
        metric="signal",
        detail=f"the game day was interrupted ({signal_name}); the report shows what was measured until then",
    )
