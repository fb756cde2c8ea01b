"""The catalog's read side: answers as JSON-ready dicts, read through the cache.

The catalog is read-heavy and changes only when seeded, so every answer is cached for
minutes; a Redis cache is shared by the replicas, the in-process one is per replica.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from retailflow.catalog.adapters.repository import CatalogRepository
from retailflow.catalog.domain.errors import UnknownCategory, UnknownProduct
from retailflow.catalog.domain.model import Page, could_be_sku, leaves_under, with_counts
from retailflow.catalog.domain.queries import ListQuery, SearchQuery
from retailflow.common.cache import Cache, cached

__all__ = ["CatalogViews"]

TTL_S = 300.0


class CatalogViews:
    def __init__(self, repository: CatalogRepository, cache: Cache, ttl_s: float = TTL_S) -> None:
        self.repository = repository
        self.cache = cache
        self.ttl_s = ttl_s

    async def categories(self) -> list[dict[str, Any]]:
        async def load() -> list[dict[str, Any]]:
            tree = with_counts(self.repository.categories(), self.repository.leaf_counts())
            return [c.to_json() for c in tree]

        result: list[dict[str, Any]] = await cached(self.cache, "categories", self.ttl_s, load)
        return result

    async def _leaves(self, slug: str | None) -> tuple[str, ...] | None:
        """The leaves to filter on; None for no filter. An unknown slug is refused."""
        if slug is None:
            return None

        async def load() -> dict[str, list[str]]:
            categories = self.repository.categories()
            return {c.slug: list(leaves_under(categories, c.slug) or ()) for c in categories}

        tree: dict[str, list[str]] = await cached(self.cache, "category-leaves", self.ttl_s, load)
        if slug not in tree:
            raise UnknownCategory(slug)
        return tuple(tree[slug])

    async def product(self, sku: str) -> dict[str, Any]:
        if not could_be_sku(sku):
            raise UnknownProduct(sku)

        async def load() -> dict[str, Any] | None:
            product = self.repository.get(sku)
            return product.to_json() if product else None

        result: dict[str, Any] | None = await cached(self.cache, f"product:{sku}", self.ttl_s, load)
        if result is None:
            raise UnknownProduct(sku)
        return result

    async def products(self, skus: Sequence[str]) -> dict[str, Any]:
        """A batch lookup in the order asked; unknown skus are listed, not an error."""
        plausible = [s for s in dict.fromkeys(skus) if could_be_sku(s)]
        found = {p.sku: p.to_json() for p in self.repository.get_many(plausible)}
        return {"items": [found[s] for s in skus if s in found], "missing": [s for s in skus if s not in found]}

    async def doorbusters(self) -> list[dict[str, Any]]:
        async def load() -> list[dict[str, Any]]:
            return [p.to_json() for p in self.repository.doorbusters()]

        result: list[dict[str, Any]] = await cached(self.cache, "doorbusters", self.ttl_s, load)
        return result

    async def listing(self, query: ListQuery) -> dict[str, Any]:
        leaves = await self._leaves(query.category)

        async def load() -> dict[str, Any]:
            page = self.repository.list(leaves, query.sort, query.per_page, query.offset)
            return _page_json(page, query.page, query.per_page)

        key = f"list:{query.category}:{query.sort}:{query.page}:{query.per_page}"
        result: dict[str, Any] = await cached(self.cache, key, self.ttl_s, load)
        return result

    async def search(self, query: SearchQuery) -> dict[str, Any]:
        leaves = await self._leaves(query.category)

        async def load() -> dict[str, Any]:
            page = self.repository.search(query, leaves)
            return _page_json(page, query.page, query.per_page)

        result: dict[str, Any] = await cached(self.cache, f"search:{query.cache_key}", self.ttl_s, load)
        return {**result, "query": query.text}


def _page_json(page: Page, number: int, per_page: int) -> dict[str, Any]:
    return {"items": [p.to_json() for p in page.items], "page": number, "per_page": per_page, "total": page.total}
