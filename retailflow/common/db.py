"""One thin database adapter over sqlite3, psycopg and PyMySQL, so services run on both profiles.

SQL is written once with `?` placeholders (translated for the network drivers). Calls are
synchronous: on loopback a statement takes well under a millisecond, and a plain driver beat
the async ones here (aiosqlite tripled p99). So: never `await` inside a transaction.

In the services profile every service gets its own PostgreSQL schema (its `search_path`), so
the same table names serve in both profiles and no service reads another's tables.
"""

from __future__ import annotations

import logging
import random
import re
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from retailflow.common.errors import ConfigError, RetailFlowError

__all__ = ["Database", "DatabaseError", "IntegrityError", "Row"]

log = logging.getLogger(__name__)

Row = dict[str, Any]
_PLACEHOLDER = re.compile(r"\?")
SQLITE_BUSY_S = 10.0  # how long a statement waits for another process's lock on a SQLite file


def _use_wal(conn: sqlite3.Connection) -> None:
    """Put a SQLite file in WAL mode once; later connections find it there and change nothing.

    Switching takes an exclusive lock, and SQLite answers "database is locked" at once, without
    its busy wait, when processes opening a fresh file at the same moment would deadlock on it.
    So the switch is retried for as long as any statement would wait for a lock.
    """
    deadline = time.monotonic() + SQLITE_BUSY_S
    pause = 0.005
    mode = ""
    while True:
        try:
            mode = str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower()
            if mode == "wal":
                return
            # SQLite answers the mode it is in: the old one when it could not switch
            mode = str(conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]).lower()
            if mode == "wal":
                return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                raise
        if time.monotonic() + pause > deadline:  # e.g. a file system without shared memory
            log.warning("SQLite store stays in journal mode %r: WAL could not be set", mode)
            return
        time.sleep(pause * (1 + random.random()))  # jittered: the losers of one race do not meet again
        pause = min(pause * 2, 0.25)


class DatabaseError(RetailFlowError):
    """A store failed (unreachable, timed out, broken statement)."""


class IntegrityError(DatabaseError):
    """A uniqueness or other constraint refused the write."""


class Database:
    """A connection to one service's store. Not shared across threads."""

    def __init__(self, url: str, *, schema: str | None = None) -> None:
        self.url = url
        self.schema = schema
        scheme = urlparse(url).scheme
        if scheme == "sqlite":
            self.dialect = "sqlite"
        elif scheme in ("postgresql", "postgres"):
            self.dialect = "postgresql"
        elif scheme in ("mysql", "mariadb"):
            self.dialect = "mysql"
        else:
            raise ConfigError(f"unsupported database URL {url!r}")
        self._conn: Any = None
        self._depth = 0
        self._lock = threading.RLock()

    # -- connection -------------------------------------------------------------------------

    def connect(self) -> Database:
        if self._conn is not None:
            return self
        try:
            if self.dialect == "sqlite":
                path = Path(self.url.removeprefix("sqlite:///"))
                path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(path, timeout=SQLITE_BUSY_S, isolation_level=None, check_same_thread=False)
                conn.row_factory = sqlite3.Row
                try:
                    _use_wal(conn)
                    conn.execute("PRAGMA synchronous=NORMAL")
                except BaseException:
                    conn.close()
                    raise
                self._conn = conn
            elif self.dialect == "postgresql":
                import psycopg
                from psycopg.rows import dict_row

                # A partitioned link must fail a query in seconds, not block the event loop for the
                # kernel's TCP timeout (minutes): bound sends, probes and statements.
                pg = psycopg.connect(
                    self.url,
                    autocommit=True,
                    row_factory=dict_row,
                    connect_timeout=5,
                    keepalives=1,
                    keepalives_idle=5,
                    keepalives_interval=2,
                    keepalives_count=2,
                    tcp_user_timeout=5000,
                    options="-c statement_timeout=5000",
                )
                if self.schema:
                    try:
                        pg.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
                    except psycopg.errors.UniqueViolation:
                        pass  # another replica created it at the same moment
                    pg.execute(f'SET search_path TO "{self.schema}"')
                self._conn = pg
            else:
                import pymysql
                import pymysql.cursors

                parsed = urlparse(self.url)
                self._conn = pymysql.connect(
                    host=parsed.hostname or "127.0.0.1",
                    port=parsed.port or 3306,
                    user=unquote(parsed.username or "root"),
                    password=unquote(parsed.password or ""),
                    database=parsed.path.lstrip("/") or None,
                    autocommit=True,
                    cursorclass=pymysql.cursors.DictCursor,
                    connect_timeout=5,
                    read_timeout=10,
                    write_timeout=10,
                )
        except ConfigError:
            raise
        except Exception as exc:  # driver-specific errors end here, translated
            raise DatabaseError(f"cannot connect to {self.redacted_url}: {exc}") from exc
        return self

    @property
    def redacted_url(self) -> str:
        parsed = urlparse(self.url)
        if parsed.password:
            return self.url.replace(f":{parsed.password}@", ":***@")
        return self.url

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def ping(self) -> bool:
        try:
            self.fetchone("SELECT 1 AS ok")
            return True
        except DatabaseError:
            self.close()  # reconnect next time
            return False

    # -- statements -------------------------------------------------------------------------

    def _sql(self, sql: str) -> str:
        if self.dialect == "sqlite":
            return sql
        return _PLACEHOLDER.sub("%s", sql.replace("%", "%%"))

    def _run(self, sql: str, params: Sequence[Any] = (), *, many: bool = False) -> Any:
        """Run one statement (or one per row with `many`), translating the driver's errors."""
        if self._conn is None:
            self.connect()
        try:
            if self.dialect == "sqlite":
                run = self._conn.executemany if many else self._conn.execute
                return run(sql, params if many else tuple(params))
            cur = self._conn.cursor()
            if many:
                cur.executemany(self._sql(sql), params)
            else:
                cur.execute(self._sql(sql), tuple(params))
            return cur
        except Exception as exc:
            if self._is_integrity_error(exc):
                raise IntegrityError(str(exc)) from exc
            if self._depth == 0 and self.dialect != "sqlite":
                self.close()  # a broken connection is replaced on the next call
            raise DatabaseError(f"{self.dialect}: {exc}") from exc

    @staticmethod
    def _is_integrity_error(exc: Exception) -> bool:
        return type(exc).__name__ in ("IntegrityError", "UniqueViolation", "ForeignKeyViolation")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; return the number of rows it changed."""
        cur = self._run(sql, params)
        return int(cur.rowcount or 0)

    def insert(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run an INSERT; return the new row's integer id (write `RETURNING id` for PostgreSQL)."""
        if self.dialect == "postgresql" and "RETURNING" not in sql.upper():
            sql += " RETURNING id"
        cur = self._run(sql, params)
        if self.dialect == "postgresql":
            row = cur.fetchone()
            return int(row["id"]) if row else 0
        return int(cur.lastrowid or 0)

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._run(sql, rows, many=True)

    def fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return [dict(row) for row in self._run(sql, params).fetchall()]

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        row = self._run(sql, params).fetchone()
        return dict(row) if row is not None else None

    def script(self, statements: str) -> None:
        """Run `;`-separated DDL (each statement on its own, as every driver accepts)."""
        for statement in (s.strip() for s in statements.split(";")):
            if statement:
                self.execute(statement)

    @contextmanager
    def transaction(self) -> Iterator[Database]:
        """A write transaction; nested calls join the outer one. Never await inside."""
        with self._lock:
            if self._conn is None:
                self.connect()
            if self._depth:
                self._depth += 1
                try:
                    yield self
                finally:
                    self._depth -= 1
                return
            begin = "BEGIN IMMEDIATE" if self.dialect == "sqlite" else "BEGIN"
            self._run(begin)
            self._depth = 1
            try:
                yield self
            except BaseException:
                self._depth = 0
                try:
                    self._run("ROLLBACK")
                except DatabaseError:
                    self.close()
                raise
            self._depth = 0
            try:
                self._run("COMMIT")
            except DatabaseError:
                self.close()
                raise

    # -- dialect helpers --------------------------------------------------------------------

    @property
    def autoincrement(self) -> str:
        """Column type of an integer primary key that numbers itself."""
        return {
            "sqlite": "INTEGER PRIMARY KEY AUTOINCREMENT",
            "postgresql": "BIGSERIAL PRIMARY KEY",
            "mysql": "BIGINT AUTO_INCREMENT PRIMARY KEY",
        }[self.dialect]

    def insert_ignore(self, table: str, columns: Sequence[str]) -> str:
        """`INSERT ... ` that silently skips a row whose key exists (idempotent writes)."""
        cols = ", ".join(columns)
        marks = ", ".join("?" for _ in columns)
        if self.dialect == "mysql":
            return f"INSERT IGNORE INTO {table} ({cols}) VALUES ({marks})"
        return f"INSERT INTO {table} ({cols}) VALUES ({marks}) ON CONFLICT DO NOTHING"
