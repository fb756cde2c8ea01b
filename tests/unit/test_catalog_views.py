"""The catalog's read side: read-through caching and the refusals a shopper meets."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from retailflow.catalog.adapters.repository import SqliteCatalogRepository
from retailflow.catalog.domain.errors import UnknownCategory, UnknownProduct
from retailflow.catalog.domain.model import Category, Page, Product
from retailflow.catalog.domain.queries import ListQuery, SearchQuery
from retailflow.catalog.service_layer.views import CatalogViews
from retailflow.common.cache import LocalCache
from retailflow.common.db import Database
from retailflow.seed.catalog import generate


class CountingRepository(SqliteCatalogRepository):
    """The real SQLite repository, counting the reads that reach the store."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.reads: list[str] = []

    def get(self, sku: str) -> Product | None:
        self.reads.append(f"get:{sku}")
        return super().get(sku)

    def search(self, query: SearchQuery, leaves: Any) -> Page:
        self.reads.append(f"search:{query.text}")
        return super().search(query, leaves)

    def list(self, leaves: Any, sort: str, limit: int, offset: int) -> Page:
        self.reads.append(f"list:{leaves}")
        return super().list(leaves, sort, limit, offset)


@pytest.fixture
def repository(tmp_path: Path) -> Iterator[CountingRepository]:
    catalog = generate(seed=5, products=300)
    repo = CountingRepository(Database(f"sqlite:///{tmp_path / 'catalog.db'}").connect())
    repo.create_schema()
    repo.load(
        [Category(c.slug, c.name, c.parent) for c in catalog.categories],
        [Product(**vars(p)) for p in catalog.products],
        origin="seed=5 products=300",
    )
    yield repo
    repo.db.close()


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_product_detail_is_read_through_the_cache(repository: CountingRepository) -> None:
    views = CatalogViews(repository, LocalCache())

    async def twice() -> tuple[dict[str, Any], dict[str, Any]]:
        return await views.product("SKU-000007"), await views.product("SKU-000007")

    first, second = run(twice())
    assert first == second and first["sku"] == "SKU-000007"
    assert repository.reads == ["get:SKU-000007"]


def test_searches_and_category_pages_are_cached_per_question(repository: CountingRepository) -> None:
    views = CatalogViews(repository, LocalCache())

    async def scenario() -> None:
        await views.search(SearchQuery.parse({"q": "sweater"}))
        await views.search(SearchQuery.parse({"q": "Sweater!"}))  # the same words: the same answer
        await views.search(SearchQuery.parse({"q": "sweater", "page": "2"}))
        await views.listing(ListQuery.parse({"category": "apparel"}))
        await views.listing(ListQuery.parse({"category": "apparel"}))

    run(scenario())
    assert [r.split(":")[0] for r in repository.reads] == ["search", "search", "list"]


def test_the_answer_echoes_the_shoppers_own_query_text(repository: CountingRepository) -> None:
    views = CatalogViews(repository, LocalCache())
    first = run(views.search(SearchQuery.parse({"q": "sweater"})))
    second = run(views.search(SearchQuery.parse({"q": "Sweater!"})))
    assert (first["query"], second["query"]) == ("sweater", "Sweater!")


def test_an_unknown_sku_or_category_is_refused_by_name(repository: CountingRepository) -> None:
    views = CatalogViews(repository, LocalCache())
    with pytest.raises(UnknownProduct, match="no product with sku 'SKU-999999'"):
        run(views.product("SKU-999999"))
    with pytest.raises(UnknownCategory, match="no category 'garden'"):
        run(views.search(SearchQuery.parse({"q": "rake", "category": "garden"})))
    with pytest.raises(UnknownCategory, match="no category 'garden'"):
        run(views.listing(ListQuery.parse({"category": "garden"})))


def test_a_batch_lookup_answers_in_the_order_asked_and_lists_the_missing(repository: CountingRepository) -> None:
    views = CatalogViews(repository, LocalCache())
    answer = run(views.products(["SKU-000003", "nope", "DB-0001", "SKU-000001"]))
    assert [p["sku"] for p in answer["items"]] == ["SKU-000003", "DB-0001", "SKU-000001"]
    assert answer["missing"] == ["nope"]


def test_categories_carry_product_counts_that_add_up(repository: CountingRepository) -> None:
    tree = run(CatalogViews(repository, LocalCache()).categories())
    departments = [c for c in tree if c["parent"] is None]
    assert len(departments) == 8
    assert sum(c["product_count"] for c in departments) == 305
    apparel = next(c for c in tree if c["slug"] == "apparel")
    assert apparel["product_count"] == sum(c["product_count"] for c in tree if c["parent"] == "apparel")
