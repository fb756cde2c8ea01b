"""Exact quantiles per group over data read in chunks, in bounded memory: two passes.

Pass 1 counts each group's values in fine bins (the top 18 bits of the float's order-preserving
integer form: 1/64 of an octave, about 1.1% wide), kept sparse, so memory grows with the groups
and the spread of their values, never with the rows. From the counts, each wanted order
statistic is known to lie in one bin, at a known rank inside it. Pass 2 keeps only the values
that fall in those bins and selects the exact order statistics among them. The result equals
numpy's `quantile(values, q)` (method "linear") on all the values of the group, to the last bit
but for the interpolation's own rounding.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["BIN_BITS", "GroupQuantiles", "fine_bins"]

BIN_BITS = 18  # bins: sign + 11 exponent bits + 6 mantissa bits
_BITS = BIN_BITS
_DENSE_BITS = 16  # a few groups counted densely: 65,536 bins each (1/16 octave, about 4.4% wide)
_MERGE_EVERY = 64  # batches of sparse counts kept before they are merged


def fine_bins(values: np.ndarray) -> np.ndarray:
    """A monotone map of float64 to [0, 2**BIN_BITS): a < b implies bin(a) <= bin(b).

    Computed once per chunk and shared by every grouping of that chunk."""
    bits = np.ascontiguousarray(values, dtype=np.float64).view(np.int64)
    # Negative floats order backwards as integers: flip their non-sign bits.
    ordered = np.where(bits >= 0, bits, bits ^ np.int64(0x7FFFFFFFFFFFFFFF))
    return (ordered >> (64 - BIN_BITS)) + (1 << (BIN_BITS - 1))


def _sparse_add(keys: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(keys, kind="stable")
    keys, counts = keys[order], counts[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    return keys[starts], np.add.reduceat(counts, starts) if len(keys) else counts


class GroupQuantiles:
    """Exact quantiles `qs` (0..1) of values per non-negative integer group id, over chunks.

    Call `count(groups, values)` for every chunk, then `prepare()`, then `collect(groups, values)`
    for every chunk again (the same rows, in any order), then `result()`.
    """

    def __init__(self, qs: Sequence[float], *, dense: bool = False) -> None:
        self.qs = np.asarray(qs, dtype=float)
        # Few groups: count in a dense array (one bincount, no sort) at a coarser resolution.
        self.shift = BIN_BITS - _DENSE_BITS if dense else 0
        self.dense = dense
        self._dense_counts = np.zeros(0, np.int64)
        self._keys: list[np.ndarray] = []
        self._counts: list[np.ndarray] = []
        self._targets: np.ndarray | None = None  # (groups, ranks): the bin holding each rank, -1 none
        self._found: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (group<<bits | bin, value, count)

    # pass 1
    def _key_of(self, groups: np.ndarray, bins: np.ndarray) -> np.ndarray:
        return (groups.astype(np.int64) << _BITS) | (bins >> self.shift)

    def count(self, groups: np.ndarray, values: np.ndarray, bins: np.ndarray | None = None) -> None:
        """Pass 1 over one chunk; `bins` = fine_bins(values) when the caller already has them."""
        keep = groups >= 0
        bins = fine_bins(values[keep]) if bins is None else bins[keep]
        keys = self._key_of(groups[keep], bins)
        if self.dense:
            size = int(groups[keep].max() + 1) << _BITS if keep.any() else 0
            if len(self._dense_counts) < size:
                grown = np.zeros(size - len(self._dense_counts), np.int64)
                self._dense_counts = np.concatenate([self._dense_counts, grown])
            self._dense_counts[:size] += np.bincount(keys, minlength=size)
            return
        uniq, counts = np.unique(keys, return_counts=True)
        self._keys.append(uniq)
        self._counts.append(counts.astype(np.int64))
        if len(self._keys) >= _MERGE_EVERY:
            self._merge()

    def _merge(self) -> None:
        if len(self._keys) > 1:
            keys, counts = _sparse_add(np.concatenate(self._keys), np.concatenate(self._counts))
            self._keys, self._counts = [keys], [counts]

    def prepare(self) -> None:
        """From the bin counts: which bin holds each wanted order statistic of each group."""
        if self.dense:
            nonzero = np.flatnonzero(self._dense_counts)
            self._keys, self._counts = [nonzero.astype(np.int64)], [self._dense_counts[nonzero]]
            self._dense_counts = np.zeros(0, np.int64)
        self._merge()
        keys = self._keys[0] if self._keys else np.zeros(0, np.int64)
        counts = self._counts[0] if self._counts else np.zeros(0, np.int64)
        group_of = keys >> _BITS
        n_groups = int(group_of.max()) + 1 if len(keys) else 0
        self.n = np.bincount(group_of, weights=counts, minlength=n_groups).astype(np.int64)
        # numpy's "linear" quantile: h = (n-1)q, between order statistics floor(h) and floor(h)+1.
        h = (self.n[:, None] - 1) * self.qs[None, :]
        low = np.floor(h).astype(np.int64)
        self._frac = h - low
        high = np.minimum(low + 1, np.maximum(self.n[:, None] - 1, 0))
        self._ranks = np.concatenate([low, high], axis=1)  # (groups, 2 * len(qs)), 0-based within group
        cum = np.cumsum(counts)
        first = np.r_[0, np.cumsum(self.n)[:-1]] if n_groups else np.zeros(0, np.int64)
        wanted = first[:, None] + self._ranks  # global rank among all (group, bin)-sorted values
        idx = np.searchsorted(cum, wanted, side="right")
        valid = self.n[:, None] > 0
        idx = np.where(valid, np.minimum(idx, max(len(cum) - 1, 0)), 0)
        self._targets = np.where(valid, keys[idx] & ((1 << _BITS) - 1), -1) if len(keys) else np.full_like(wanted, -1)
        before = np.where(idx > 0, cum[idx - 1] if len(cum) else 0, 0)
        self._within = wanted - before  # rank inside the target bin (in the group's ordering)
        self._keys, self._counts = [], []

    # pass 2
    def collect(self, groups: np.ndarray, values: np.ndarray, bins: np.ndarray | None = None) -> None:
        """Pass 2 over one chunk (the same rows as pass 1, in any order)."""
        assert self._targets is not None, "prepare() first"
        keep = (groups >= 0) & (groups < len(self._targets))
        g, v = groups[keep].astype(np.int64), np.asarray(values, dtype=np.float64)[keep]
        b = (fine_bins(v) if bins is None else bins[keep]) >> self.shift
        hit = np.zeros(len(g), dtype=bool)
        for r in range(self._targets.shape[1]):
            hit |= b == self._targets[g, r]
        # Kept as distinct (group and bin, value) with a count: a spike of equal values (a lag on
        # a tick grid, a timeout) costs one entry, not one per row.
        self._found.append(_distinct((g[hit] << _BITS) | b[hit], v[hit], np.ones(int(hit.sum()), np.int64)))
        if len(self._found) >= _MERGE_EVERY:
            self._found = [_distinct(*(np.concatenate(parts) for parts in zip(*self._found, strict=True)))]

    def result(self) -> np.ndarray:
        """(groups, len(qs)) exact quantiles; NaN for a group without values."""
        assert self._targets is not None
        n_groups = len(self._targets)
        out = np.full((n_groups, len(self.qs)), np.nan)
        if not n_groups:
            return out
        if self._found:
            key, v, counts = _distinct(*(np.concatenate(parts) for parts in zip(*self._found, strict=True)))
        else:
            key, v, counts = np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64)
        cum = np.cumsum(counts)
        picked = np.full(self._ranks.shape, np.nan)
        for r in range(self._ranks.shape[1]):
            target_key = (np.arange(n_groups) << _BITS) | np.maximum(self._targets[:, r], 0)
            start = np.searchsorted(key, target_key, side="left")
            before = np.where(start > 0, cum[np.maximum(start - 1, 0)] if len(cum) else 0, 0)
            # The entry whose running count first passes the rank inside the bin holds the value.
            pos = np.searchsorted(cum, before + self._within[:, r], side="right")
            ok = (self._targets[:, r] >= 0) & (pos < len(v))
            picked[ok, r] = v[pos[ok]]
        lo, hi = picked[:, : len(self.qs)], picked[:, len(self.qs) :]
        # numpy's own interpolation (numpy.lib._function_base_impl._lerp), so that the figures
        # equal np.quantile's to the bit.
        t = self._frac
        diff = hi - lo
        out = np.where(t >= 0.5, hi - diff * (1 - t), lo + diff * t)
        out[self.n == 0] = np.nan
        self._found = []
        result: np.ndarray = out
        return result


def _distinct(keys: np.ndarray, values: np.ndarray, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Equal (key, value) pairs merged, their counts added; sorted by key, then value."""
    order = np.lexsort((values, keys))
    keys, values, counts = keys[order], values[order], counts[order]
    if not len(keys):
        return keys, values, counts
    starts = np.flatnonzero(np.r_[True, (keys[1:] != keys[:-1]) | (values[1:] != values[:-1])])
    return keys[starts], values[starts], np.add.reduceat(counts, starts)
