"""The request table read in chunks: a day-long soak never has to fit in memory.

Parquet is read by row group batches of only the columns the report needs (pyarrow), a CSV by
pandas chunks. Strings (journey, endpoint, error) become codes in one vocabulary shared by every
chunk, so a group means the same thing in the first chunk and the last.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from doorbuster.reports import columns as c
from doorbuster.reports.attribution import iteration_keys
from doorbuster.reports.errors import ReportError

__all__ = ["CHUNK_ROWS", "RequestFile", "Vocabulary"]

CHUNK_ROWS = 1_048_576  # rows per chunk (pyarrow's default row group): ~150 MB with derived columns
_REQUIRED = (c.TS, c.NAME, c.LATENCY_MS, c.OK)


@dataclass
class Vocabulary:
    """Strings to small integer codes, the same across chunks; code i is `names[i]`."""

    names: list[str] = field(default_factory=list)
    _index: dict[str, int] = field(default_factory=dict)

    def codes(self, column: pd.Series) -> np.ndarray:
        cat = column if isinstance(column.dtype, pd.CategoricalDtype) else column.astype("category")
        local = np.array([self._code(str(name)) for name in cat.cat.categories], dtype=np.int32)
        raw = cat.cat.codes.to_numpy()
        if len(local) and raw.min(initial=0) >= 0:
            codes: np.ndarray = local[raw]
            return codes
        # A missing value (code -1) reads as the empty string, as the contract's "" does.
        blank = self._code("")
        return np.where(raw >= 0, local[np.maximum(raw, 0)] if len(local) else blank, blank).astype(np.int32)

    def _code(self, name: str) -> int:
        code = self._index.get(name)
        if code is None:
            code = self._index[name] = len(self.names)
            self.names.append(name)
        return code


@dataclass
class RequestFile:
    """requests.parquet or requests.csv of a run folder, read chunk by chunk."""

    path: Path
    chunk_rows: int = CHUNK_ROWS
    journeys: Vocabulary = field(default_factory=Vocabulary)
    names: Vocabulary = field(default_factory=Vocabulary)
    errors: Vocabulary = field(default_factory=Vocabulary)
    # The (worker, iteration) columns, read only to count load at its iteration's intended start.
    _key_columns: tuple[str, ...] = ()

    @property
    def is_parquet(self) -> bool:
        return self.path.suffix == ".parquet"

    def check(self) -> None:
        """ReportError naming the file when it is unreadable or lacks a required column."""
        if self.is_parquet:
            try:
                names = set(pq.read_schema(self.path).names)
            except (pa.ArrowException, OSError) as exc:
                raise ReportError(f"{self.path} is not a readable Parquet file: {exc}") from exc
        else:
            try:
                names = set(pd.read_csv(self.path, nrows=0).columns)
            except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
                raise ReportError(f"{self.path} is not a readable CSV file: {exc}") from exc
        missing = [col for col in _REQUIRED if col not in names]
        if missing:
            raise ReportError(f"{self.path} lacks the column(s) {', '.join(missing)} (docs/contracts.md, section 1)")
        self._columns = [col for col in c.REQUEST_READ_COLUMNS if col in names]
        self._names = names

    def read_iteration_keys(self, *, by_worker: bool) -> bool:
        """From now on each chunk carries `iteration_key` (doorbuster.reports.attribution), keyed
        with the worker as iterations.csv is; False when the file has no iteration column."""
        if c.ITERATION not in self._names or (by_worker and c.WORKER not in self._names):
            return False
        self._key_columns = (c.ITERATION, c.WORKER) if by_worker else (c.ITERATION,)
        return True

    def time_range(self) -> tuple[int, float, float]:
        """(rows, first ts, last ts), from the Parquet statistics where they exist, else by reading `ts` alone."""
        if self.is_parquet:
            meta = pq.ParquetFile(self.path).metadata
            ts_index = meta.schema.to_arrow_schema().get_field_index(c.TS)
            lows, highs = [], []
            for i in range(meta.num_row_groups):
                stats = meta.row_group(i).column(ts_index).statistics
                if stats is None or not stats.has_min_max or meta.row_group(i).num_rows == 0:
                    if meta.row_group(i).num_rows:
                        break
                    continue
                lows.append(float(stats.min))
                highs.append(float(stats.max))
            else:
                return meta.num_rows, min(lows, default=np.nan), max(highs, default=np.nan)
        rows, low, high = 0, np.inf, -np.inf
        for chunk in self._raw_chunks([c.TS]):
            ts = pd.to_numeric(chunk[c.TS], errors="coerce").to_numpy(dtype=float)
            rows += len(ts)
            if len(ts):
                low, high = min(low, np.nanmin(ts)), max(high, np.nanmax(ts))
        return rows, low, high

    def _raw_chunks(self, columns: list[str]) -> Iterator[pd.DataFrame]:
        if self.is_parquet:
            try:
                yield from self._parquet_chunks(columns)
            except (pa.ArrowException, OSError) as exc:
                raise ReportError(f"{self.path} is not a readable Parquet file: {exc}") from exc
            return
        dtypes = {col: "category" for col in (*c.CATEGORICAL_REQUEST_COLUMNS, *self._key_columns) if col in columns}
        try:
            yield from pd.read_csv(
                self.path,
                usecols=columns,
                dtype=dtypes,
                keep_default_na=False,
                na_values={c.INTENDED_TS: [""]},
                chunksize=self.chunk_rows,
            )
        except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
            raise ReportError(f"{self.path} is not a readable CSV file: {exc}") from exc

    def _parquet_chunks(self, columns: list[str]) -> Iterator[pd.DataFrame]:
        # Whole row groups, several at a time up to chunk_rows, read by pyarrow's threads; a row
        # group larger than a chunk is read in batches.
        dictionary = [col for col in (*c.CATEGORICAL_REQUEST_COLUMNS, *self._key_columns) if col in columns]
        source = pq.ParquetFile(self.path, read_dictionary=dictionary)
        meta = source.metadata
        pending: list[int] = []
        rows = 0
        for i in range(meta.num_row_groups):
            size = meta.row_group(i).num_rows
            if size > self.chunk_rows:
                if pending:
                    yield source.read_row_groups(pending, columns=columns).to_pandas()
                    pending, rows = [], 0
                single = pq.ParquetFile(self.path, read_dictionary=dictionary)
                for batch in single.iter_batches(batch_size=self.chunk_rows, row_groups=[i], columns=columns):
                    yield batch.to_pandas()
                continue
            if rows + size > self.chunk_rows and pending:
                yield source.read_row_groups(pending, columns=columns).to_pandas()
                pending, rows = [], 0
            pending.append(i)
            rows += size
        if pending:
            yield source.read_row_groups(pending, columns=columns).to_pandas()

    def chunks(self, *, keys: bool = True) -> Iterator[pd.DataFrame]:
        """Normalised chunks: float ts/intended_ts/latency_ms, bool ok, int status, and int32 codes
        for journey/name/error (this file's vocabularies); `iteration_key` too once asked for
        (read_iteration_keys) unless `keys` is False."""
        key_columns = self._key_columns if keys else ()
        for raw in self._raw_chunks([*self._columns, *key_columns]):
            yield self._normalise(raw, key_columns)

    def _normalise(self, frame: pd.DataFrame, key_columns: tuple[str, ...]) -> pd.DataFrame:
        n = len(frame)
        out: dict[str, np.ndarray] = {}
        try:
            for col in (c.TS, c.INTENDED_TS, c.LATENCY_MS):
                if col not in frame:
                    out[col] = np.full(n, np.nan)
                elif frame[col].dtype == np.float64:  # Parquet: already typed, no parsing
                    out[col] = frame[col].to_numpy()
                else:
                    out[col] = pd.to_numeric(frame[col], errors="raise").to_numpy(dtype=np.float64)
        except (ValueError, TypeError) as exc:
            raise ReportError(f"{self.path}: column {col} must be numeric: {exc}") from exc
        if np.isnan(out[c.TS]).any() or np.isnan(out[c.LATENCY_MS]).any():
            raise ReportError(f"{self.path}: columns ts and latency_ms must be set on every request")
        ok = frame[c.OK]
        if ok.dtype == bool:
            out[c.OK] = ok.to_numpy(dtype=bool)
        else:
            out[c.OK] = ok.astype(str).str.lower().isin(("true", "1")).to_numpy()
        status = frame[c.STATUS] if c.STATUS in frame else pd.Series(np.zeros(n, dtype=np.int32))
        out[c.STATUS] = pd.to_numeric(status, errors="coerce").fillna(0).to_numpy(dtype=np.int32)
        for col, vocab in ((c.JOURNEY, self.journeys), (c.NAME, self.names), (c.ERROR, self.errors)):
            blank = vocab.codes(pd.Series([""]))[0]
            out[col] = vocab.codes(frame[col]) if col in frame else np.full(n, blank, np.int32)
        if key_columns:
            worker = frame[c.WORKER] if c.WORKER in key_columns else None
            out[c.ITERATION_KEY] = iteration_keys(frame[c.ITERATION], worker)
        return pd.DataFrame(out, copy=False)
