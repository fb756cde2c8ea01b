"""The catalog's store: one interface, one SQL implementation per full-text engine.

Listing, lookup and counting are plain SQL shared by both profiles; only the search index
differs: SQLite FTS5 (bm25) in the embedded profile, PostgreSQL tsvector + GIN (ts_rank) in
the services profile. Both AND the stemmed words of the query and break ties by catalog order,
so the two profiles answer a query the same way.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Sequence
from typing import Any

from retailflow.catalog.domain.model import Category, Page, Product
from retailflow.catalog.domain.queries import SearchQuery
from retailflow.common.db import Database, Row

__all__ = ["CatalogRepository", "PostgresCatalogRepository", "SqliteCatalogRepository", "make_repository"]

_COLUMNS = "p.id, p.sku, p.name, p.description, p.category, p.price_cents, p.brand, p.doorbuster"
_ORDER = {
    "featured": "p.id",
    "relevance": "rank, p.id",
    "price_asc": "p.price_cents, p.id",
    "price_desc": "p.price_cents DESC, p.id",
    "name": "lower(p.name), p.id",  # as a shopper reads it; bytewise (C) in both stores
}


def _product(row: Row) -> Product:
    return Product(
        row["sku"],
        row["name"],
        row["description"],
        row["category"],
        int(row["price_cents"]),
        row["brand"],
        bool(row["doorbuster"]),
    )


def _in(column: str, values: Sequence[Any]) -> str:
    return f"{column} IN ({', '.join('?' for _ in values)})"


class CatalogRepository(abc.ABC):
    """Products and categories in one service's database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- schema and seeding ---------------------------------------------------------------------

    @abc.abstractmethod
    def create_schema(self) -> None: ...

    @abc.abstractmethod
    def _rebuild_index(self) -> None: ...

    def is_empty(self) -> bool:
        return self.db.fetchone("SELECT id FROM products LIMIT 1") is None

    def origin(self) -> str | None:
        """What the stored catalog was generated from (e.g. "seed=42 products=10000"), if recorded."""
        row = self.db.fetchone("SELECT value FROM catalog_meta WHERE name = 'origin'")
        return str(row["value"]) if row else None

    def load(self, categories: Iterable[Category], products: Iterable[Product], origin: str) -> None:
        with self.db.transaction():
            self.db.execute("INSERT INTO catalog_meta (name, value) VALUES ('origin', ?)", (origin,))
            self.db.executemany(
                "INSERT INTO categories (slug, name, parent, position) VALUES (?, ?, ?, ?)",
                [(c.slug, c.name, c.parent, i) for i, c in enumerate(categories)],
            )
            self.db.executemany(
                "INSERT INTO products (id, sku, name, description, category, price_cents, brand, doorbuster) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (i, p.sku, p.name, p.description, p.category, p.price_cents, p.brand, int(p.doorbuster))
                    for i, p in enumerate(products, start=1)
                ],
            )
            self._rebuild_index()

    # -- reads ----------------------------------------------------------------------------------

    def categories(self) -> list[Category]:
        rows = self.db.fetchall("SELECT slug, name, parent FROM categories ORDER BY position")
        return [Category(r["slug"], r["name"], r["parent"]) for r in rows]

    def leaf_counts(self) -> dict[str, int]:
        rows = self.db.fetchall("SELECT category, COUNT(*) AS n FROM products GROUP BY category")
        return {r["category"]: int(r["n"]) for r in rows}

    def get(self, sku: str) -> Product | None:
        row = self.db.fetchone(f"SELECT {_COLUMNS} FROM products p WHERE p.sku = ?", (sku,))
        return _product(row) if row else None

    def get_many(self, skus: Sequence[str]) -> list[Product]:
        if not skus:
            return []
        rows = self.db.fetchall(f"SELECT {_COLUMNS} FROM products p WHERE {_in('p.sku', skus)}", tuple(skus))
        return [_product(r) for r in rows]

    def doorbusters(self) -> list[Product]:
        rows = self.db.fetchall(f"SELECT {_COLUMNS} FROM products p WHERE p.doorbuster = 1 ORDER BY p.id")
        return [_product(r) for r in rows]

    def list(self, leaves: Sequence[str] | None, sort: str, limit: int, offset: int) -> Page:
        where, params = ("WHERE " + _in("p.category", leaves), tuple(leaves)) if leaves else ("", ())
        rows = self.db.fetchall(
            f"SELECT {_COLUMNS}, COUNT(*) OVER () AS total FROM products p {where} "
            f"ORDER BY {_ORDER[sort]} LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return self._page(rows, f"SELECT COUNT(*) AS n FROM products p {where}", params)

    def search(self, query: SearchQuery, leaves: Sequence[str] | None) -> Page:
        if not query.words:
            return Page([], 0)
        filters: list[str] = []
        params: list[Any] = []
        if leaves:
            filters.append(_in("p.category", leaves))
            params.extend(leaves)
        if query.min_price is not None:
            filters.append("p.price_cents >= ?")
            params.append(query.min_price)
        if query.max_price is not None:
            filters.append("p.price_cents <= ?")
            params.append(query.max_price)
        source, match, match_params = self._match(query.words)
        where = " AND ".join([c for c in (match, *filters) if c]) or "1 = 1"
        rows = self.db.fetchall(
            f"SELECT {_COLUMNS}, {self._rank} AS rank, COUNT(*) OVER () AS total FROM {source} WHERE {where} "
            f"ORDER BY {_ORDER[query.sort]} LIMIT ? OFFSET ?",
            (*match_params, *params, query.per_page, query.offset),
        )
        return self._page(rows, f"SELECT COUNT(*) AS n FROM {source} WHERE {where}", (*match_params, *params))

    def _page(self, rows: Sequence[Row], count_sql: str, params: Sequence[Any]) -> Page:
        """The rows (each carrying the window's `total`) as a page; past the last page, still the total."""
        if rows:
            return Page([_product(r) for r in rows], int(rows[0]["total"]))
        row = self.db.fetchone(count_sql, params)
        return Page([], int(row["n"]) if row else 0)

    # -- the engine-specific part of a search ----------------------------------------------------

    @property
    @abc.abstractmethod
    def _rank(self) -> str:
        """An SQL expression that sorts the best match first in ascending order."""

    @abc.abstractmethod
    def _match(self, words: Sequence[str]) -> tuple[str, str, tuple[Any, ...]]:
        """(FROM clause, WHERE condition or "", their parameters) selecting products matching every word."""


class SqliteCatalogRepository(CatalogRepository):
    """FTS5 over name, brand and description (porter stemming), an external-content index."""

    SCHEMA = """
    CREATE TABLE IF NOT EXISTS catalog_meta (name VARCHAR(64) PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS categories (
        slug TEXT PRIMARY KEY, name TEXT NOT NULL, parent TEXT, position INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS products (
        id INTEGER PRIMARY KEY, sku TEXT NOT NULL UNIQUE, name TEXT NOT NULL, description TEXT NOT NULL,
        category TEXT NOT NULL, price_cents INTEGER NOT NULL, brand TEXT NOT NULL, doorbuster INTEGER NOT NULL);
    CREATE INDEX IF NOT EXISTS products_by_category ON products (category, price_cents);
    CREATE VIRTUAL TABLE IF NOT EXISTS products_fts USING fts5(
        name, brand, description, content='products', content_rowid='id', tokenize='porter unicode61')
    """

    def create_schema(self) -> None:
        self.db.script(self.SCHEMA)

    def _rebuild_index(self) -> None:
        self.db.execute("INSERT INTO products_fts (products_fts) VALUES ('rebuild')")

    _rank = "m.fts_rank"

    def _match(self, words: Sequence[str]) -> tuple[str, str, tuple[Any, ...]]:
        # Each word quoted: a string, never FTS5 syntax (words are \w+, so no quote inside).
        expression = " ".join(f'"{w}"' for w in words)
        # bm25 is lower for better matches; a word in the name counts most, then the brand. It must
        # be computed in a query on the FTS table alone (SQLite refuses it next to a window function).
        source = (
            "(SELECT rowid AS fts_id, bm25(products_fts, 10.0, 4.0, 1.0) AS fts_rank FROM products_fts "
            "WHERE products_fts MATCH ?) AS m JOIN products p ON p.id = m.fts_id"
        )
        return source, "", (expression,)


class PostgresCatalogRepository(CatalogRepository):
    """A weighted tsvector (name A, brand B, description C) kept by PostgreSQL, GIN-indexed.

    Names sort bytewise (COLLATE "C"), as SQLite's BINARY does, so `sort=name` agrees across profiles.
    """

    SCHEMA = """
    CREATE TABLE IF NOT EXISTS catalog_meta (name VARCHAR(64) PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS categories (
        slug VARCHAR(64) PRIMARY KEY, name TEXT NOT NULL, parent VARCHAR(64), position INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS products (
        id INTEGER PRIMARY KEY, sku VARCHAR(64) NOT NULL UNIQUE,
        name TEXT COLLATE "C" NOT NULL, description TEXT NOT NULL,
        category VARCHAR(64) NOT NULL, price_cents INTEGER NOT NULL, brand TEXT NOT NULL,
        doorbuster INTEGER NOT NULL,
        document tsvector GENERATED ALWAYS AS (
            setweight(to_tsvector('english', name), 'A') ||
            setweight(to_tsvector('english', brand), 'B') ||
            setweight(to_tsvector('english', description), 'C')) STORED);
    CREATE INDEX IF NOT EXISTS products_by_category ON products (category, price_cents);
    CREATE INDEX IF NOT EXISTS products_document ON products USING GIN (document)
    """

    def create_schema(self) -> None:
        self.db.script(self.SCHEMA)

    def _rebuild_index(self) -> None:
        self.db.execute("ANALYZE products")  # the generated column and GIN index keep themselves

    _rank = "-ts_rank(p.document, q.query)"

    def _match(self, words: Sequence[str]) -> tuple[str, str, tuple[Any, ...]]:
        # plainto_tsquery ANDs the stemmed words and ignores operators, like the FTS5 side.
        return ("products p, plainto_tsquery('english', ?) AS q(query)", "p.document @@ q.query", (" ".join(words),))


def make_repository(db: Database) -> CatalogRepository:
    if db.dialect == "sqlite":
        return SqliteCatalogRepository(db)
    if db.dialect == "postgresql":
        return PostgresCatalogRepository(db)
    raise ValueError(f"the catalog has no search index for {db.dialect}")
