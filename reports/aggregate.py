"""Per-group statistics over a table read in chunks: counts, sums, maxima and exact quantiles.

A `Grouping` says which group each row of a chunk belongs to (-1: none); `Accumulator` keeps
its sums across chunks, and its exact quantiles through doorbuster.reports.quantiles (two passes over the
same chunks). Memory grows with the number of groups, never with the number of rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from doorbuster.reports.quantiles import GroupQuantiles

__all__ = ["Accumulator", "Grouping", "run_passes"]

Key = Callable[[pd.DataFrame], np.ndarray]


@dataclass(frozen=True)
class Grouping:
    """How a chunk's rows fall into groups, and what to keep per group."""

    name: str
    key: Key  # group id per row (int), -1 for rows outside the grouping
    flag: Key | None = None  # a boolean per row to count (default: none)
    value: str | None = None  # column to sum, take the maximum and quantiles of
    quantiles: tuple[float, ...] = ()
    maximum: bool = False
    bins: str | None = None  # column holding quantiles.fine_bins(value), computed once per chunk
    few_groups: bool = False  # a handful of groups: count quantile bins densely (no sort)


def _grow(array: np.ndarray, size: int, fill: float = 0) -> np.ndarray:
    if len(array) >= size:
        return array
    return np.concatenate([array, np.full(size - len(array), fill, array.dtype)])


@dataclass
class Accumulator:
    grouping: Grouping
    count: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    flagged: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    total: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    peak: np.ndarray = field(default_factory=lambda: np.full(0, np.nan))
    exact: GroupQuantiles | None = None

    def __post_init__(self) -> None:
        if self.grouping.quantiles:
            self.exact = GroupQuantiles(self.grouping.quantiles, dense=self.grouping.few_groups)

    def add(self, chunk: pd.DataFrame, gid: np.ndarray) -> None:
        # Rows outside the grouping (-1) land in bin 0 of a shifted count and are dropped: no
        # filtered copies of the chunk's columns for the sums.
        shifted = gid + 1
        size = int(shifted.max()) if len(shifted) else 0
        if size <= 0:
            return
        self.count = _grow(self.count, size)
        self.count[:size] += np.bincount(shifted, minlength=size + 1)[1:]
        if self.grouping.flag is not None:
            flag = self.grouping.flag(chunk)
            self.flagged = _grow(self.flagged, size)
            self.flagged[:size] += np.bincount(shifted, weights=flag, minlength=size + 1)[1:].astype(np.int64)
        if self.grouping.value is not None:
            values = chunk[self.grouping.value].to_numpy()
            self.total = _grow(self.total, size)
            self.total[:size] += np.bincount(shifted, weights=values, minlength=size + 1)[1:]
            if self.grouping.maximum:
                keep = gid >= 0
                peak = pd.Series(values[keep]).groupby(gid[keep]).max()
                self.peak = _grow(self.peak, size, np.nan)
                self.peak[peak.index] = np.fmax(self.peak[peak.index], peak.to_numpy())
            if self.exact is not None:
                self.exact.count(gid, values, self._bins(chunk))

    def _bins(self, chunk: pd.DataFrame) -> np.ndarray | None:
        if self.grouping.bins is None:
            return None
        bins: np.ndarray = chunk[self.grouping.bins].to_numpy()
        return bins

    def collect(self, chunk: pd.DataFrame, gid: np.ndarray) -> None:
        assert self.exact is not None and self.grouping.value is not None
        self.exact.collect(gid, chunk[self.grouping.value].to_numpy(), self._bins(chunk))

    def frame(self) -> pd.DataFrame:
        """Per group id (the index): requests, flagged, sum, max, and p<q> columns."""
        n = len(self.count)
        out = pd.DataFrame({"requests": self.count}, index=pd.RangeIndex(n, name="group"))
        if self.grouping.flag is not None:
            out["flagged"] = _grow(self.flagged, n)
        if self.grouping.value is not None:
            out["sum"] = _grow(self.total, n)
            if self.grouping.maximum:
                out["max"] = _grow(self.peak, n, np.nan)
        if self.exact is not None:
            values = self.exact.result()
            for i, q in enumerate(self.grouping.quantiles):
                column = np.full(n, np.nan)
                column[: min(n, len(values))] = values[:n, i]
                out[f"p{q * 100:g}"] = column
        return out

    @property
    def needs_second_pass(self) -> bool:
        return self.exact is not None


def run_passes(chunks: Callable[[], Iterable[pd.DataFrame]], groupings: list[Grouping]) -> dict[str, pd.DataFrame]:
    """Every grouping's frame, reading the chunks once, or twice when exact quantiles need it.

    A table that fits in one chunk is read once: its chunk is kept for the second pass."""
    accumulators = [Accumulator(g) for g in groupings]
    kept: list[pd.DataFrame] = []
    single = True
    for i, chunk in enumerate(chunks()):
        if i == 0:
            kept.append(chunk)
        else:
            single, kept = False, []
        for acc in accumulators:
            acc.add(chunk, acc.grouping.key(chunk))
        del chunk  # one chunk alive at a time: not this one while the next is being read
    second = [acc for acc in accumulators if acc.needs_second_pass]
    for acc in second:
        assert acc.exact is not None
        acc.exact.prepare()
    if second:
        for chunk in kept if single else chunks():
            for acc in second:
                acc.collect(chunk, acc.grouping.key(chunk))
            del chunk
    return {acc.grouping.name: acc.frame() for acc in accumulators}
