"""Writing the run folder (docs/contracts.md, section 1) from rows every generator sends.

Every generator process collects rows in an Outbox (cheap tuple appends). One process
writes: the local runner itself, or the master, which receives the workers' batches as
Locust messages, so `--processes N` and master/workers give one coherent set of files and
the workers need no access to the run folder.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, Any

from doorbuster.runfolder import (
    GENERATOR,
    GENERATOR_COLUMNS,
    GENERATOR_POOL_COLUMNS,
    ITERATION_COLUMNS,
    ITERATIONS,
    LEDGER,
    LEDGER_COLUMNS,
    META,
    PLANNED_RATE,
    PLANNED_RATE_COLUMNS,
    REQUEST_COLUMNS,
    REQUESTS_CSV,
    REQUESTS_PARQUET,
)

__all__ = ["KINDS", "Outbox", "RunRecorder"]

KINDS = ("requests", "iterations", "ledger", "generator", "planned")

_CSV_FILES = {
    "iterations": (ITERATIONS, ITERATION_COLUMNS),
    "ledger": (LEDGER, LEDGER_COLUMNS),
    "generator": (GENERATOR, GENERATOR_COLUMNS + GENERATOR_POOL_COLUMNS),
    "planned": (PLANNED_RATE, PLANNED_RATE_COLUMNS),
}

# Requests are written as a Parquet row group once this many are pending (and at close).
_ROW_GROUP = 20_000


class Outbox:
    """Rows a generator process has produced and not yet handed on."""

    def __init__(self) -> None:
        self.rows: dict[str, list[Sequence[Any]]] = {kind: [] for kind in KINDS}

    def drain(self) -> dict[str, list[Sequence[Any]]]:
        taken = {kind: rows for kind, rows in self.rows.items() if rows}
        self.rows = {kind: [] for kind in KINDS}
        return taken


def _cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return value


class RunRecorder:
    """Appends rows to the run folder's files; requests go to Parquet (CSV without pyarrow)."""

    def __init__(self, run_dir: Path, *, parquet: bool | None = None) -> None:
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        if parquet is None:
            try:
                import pyarrow  # noqa: F401
            except ImportError:
                parquet = False
            else:
                parquet = True
        self._parquet = parquet
        self._pending: list[Sequence[Any]] = []
        self._pq_writer: Any = None
        self._files: dict[str, tuple[IO[str], Any]] = {}
        self.counts: dict[str, int] = dict.fromkeys(KINDS, 0)
        for kind, (name, columns) in _CSV_FILES.items():
            handle = open(self.run_dir / name, "w", newline="", encoding="utf-8")  # noqa: SIM115
            writer = csv.writer(handle)
            writer.writerow(columns)
            self._files[kind] = (handle, writer)
        if not self._parquet:
            handle = open(self.run_dir / REQUESTS_CSV, "w", newline="", encoding="utf-8")  # noqa: SIM115
            writer = csv.writer(handle)
            writer.writerow(REQUEST_COLUMNS)
            self._files["requests"] = (handle, writer)

    def add(self, kind: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        if kind not in KINDS:
            raise ValueError(f"unknown row kind {kind!r}")
        self.counts[kind] += len(rows)
        if kind == "requests" and self._parquet:
            self._pending.extend(rows)
            if len(self._pending) >= _ROW_GROUP:
                self._write_parquet()
            return
        _, writer = self._files[kind]
        if kind == "requests":  # the only rows with NaN (no intended start): an empty cell
            writer.writerows([_cell(v) for v in row] for row in rows)
        else:  # the csv module writes None as an empty cell itself
            writer.writerows(rows)

    def add_batch(self, batch: dict[str, list[Sequence[Any]]]) -> None:
        for kind, rows in batch.items():
            self.add(kind, rows)

    def flush(self) -> None:
        for handle, _ in self._files.values():
            handle.flush()

    def _write_parquet(self) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        if self._pq_writer is None:
            self._pq_writer = pq.ParquetWriter(self.run_dir / REQUESTS_PARQUET, _request_schema())
        columns = list(zip(*self._pending, strict=True)) if self._pending else [()] * len(REQUEST_COLUMNS)
        table = pa.table(
            [pa.array(col, type=field.type) for col, field in zip(columns, _request_schema(), strict=True)],
            schema=_request_schema(),
        )
        self._pq_writer.write_table(table)
        self._pending = []

    def close(self, meta: dict[str, Any] | None = None) -> None:
        """Write what is pending, close every file, then meta.json (last: it marks a finished run)."""
        if self._parquet:
            if self._pending or self._pq_writer is None:
                self._write_parquet()
            self._pq_writer.close()
            self._pq_writer = None
        for handle, _ in self._files.values():
            handle.close()
        self._files = {}
        if meta is not None:
            (self.run_dir / META).write_text(json.dumps(meta, indent=2, default=str) + "\n", encoding="utf-8")


def _request_schema() -> Any:
    import pyarrow as pa

    types = {
        "ts": pa.float64(),
        "intended_ts": pa.float64(),
        "latency_ms": pa.float64(),
        "status": pa.int64(),
        "bytes": pa.int64(),
        "ok": pa.bool_(),
    }
    return pa.schema([(name, types.get(name, pa.string())) for name in REQUEST_COLUMNS])
