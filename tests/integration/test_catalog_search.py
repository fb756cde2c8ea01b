"""Full-text search, filters, sorting and pagination, on SQLite FTS5 and on PostgreSQL full-text.

The same assertions run against both stores: the services profile must answer a shopper as the
embedded one does.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from retailflow.catalog.adapters.repository import CatalogRepository, make_repository
from retailflow.catalog.bootstrap import seed
from retailflow.catalog.domain.model import Product, leaves_under
from retailflow.catalog.domain.queries import SearchQuery
from retailflow.common.config import ServiceConfig
from retailflow.common.db import Database
from retailflow.common.errors import ConfigError
from retailflow.seed.catalog import Catalog, generate
from tests.support.servers import fresh_postgres

SEED, SIZE = 42, 2000


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return generate(seed=SEED, products=SIZE)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.services)])
def repo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[CatalogRepository]:
    data_dir: Path = tmp_path_factory.mktemp("catalog")
    if request.param == "sqlite":
        yield from _seeded(ServiceConfig("catalog", data_dir=data_dir, seed=SEED, products=SIZE))
        return
    with fresh_postgres() as url:  # a fresh database for this module, dropped afterwards
        yield from _seeded(ServiceConfig("catalog", data_dir=data_dir, seed=SEED, products=SIZE, db_url=url))


def _seeded(config: ServiceConfig) -> Iterator[CatalogRepository]:
    seed(config)
    seed(config)  # seeding twice must not duplicate anything: the runtime may re-run its init job
    repository = make_repository(Database(config.store_url("catalog"), schema="catalog").connect())
    try:
        yield repository
    finally:
        repository.db.close()


def search(repo: CatalogRepository, **params: object) -> tuple[list[Product], int]:
    query = SearchQuery.parse({k: str(v) for k, v in params.items()})
    leaves = leaves_under(repo.categories(), query.category) if query.category else None
    page = repo.search(query, leaves)
    return list(page.items), page.total


def search_all(repo: CatalogRepository, **params: object) -> tuple[list[Product], int]:
    """Every result, page by page (per_page 100), checking the total stays the same on every page."""
    items: list[Product] = []
    totals = set()
    page = 1
    while True:
        chunk, total = search(repo, page=page, per_page=100, **params)
        totals.add(total)
        items.extend(chunk)
        if len(chunk) < 100:
            break
        page += 1
    assert len(totals) == 1, f"the total changed between pages: {totals}"
    return items, totals.pop()


def model_word(product: Product) -> str:
    return product.name[len(product.brand) + 1 :].split()[0]


def test_a_products_distinctive_name_words_find_it_first(repo: CatalogRepository, catalog: Catalog) -> None:
    words = Counter(w.lower() for p in catalog.products for w in re.findall(r"\w+", p.name))
    distinctive = [p for p in catalog.products[::97] if words[model_word(p).lower()] == 1][:15]
    assert len(distinctive) >= 10
    for product in distinctive:
        noun = product.name.split()[-1]
        items, total = search(repo, q=f"{model_word(product)} {noun}")
        assert items and items[0].sku == product.sku, (product.name, [p.name for p in items[:3]])
        assert total == 1


def test_a_word_in_the_name_ranks_above_a_word_only_in_the_description(repo: CatalogRepository) -> None:
    items, _ = search_all(repo, q="travel")  # a use in descriptions, and a noun ("travel guide") in names
    in_name = [i for i, p in enumerate(items) if "travel" in p.name.lower()]
    assert in_name, "the catalog has travel guides"
    assert in_name == list(range(len(in_name))), "every name match comes before the description-only matches"
    assert len(items) > len(in_name)


def test_every_word_of_a_query_must_match_and_plurals_match_singulars(repo: CatalogRepository) -> None:
    items, total = search_all(repo, q="wool sweaters")
    assert total == len(items) > 5
    for p in items:
        text = f"{p.name} {p.brand} {p.description}".lower()
        assert "wool" in text and "sweater" in text, p.name
    singular, _ = search_all(repo, q="wool sweater")
    assert {p.sku for p in singular} == {p.sku for p in items}


def test_category_and_price_filters_narrow_the_unfiltered_results_exactly(repo: CatalogRepository) -> None:
    everything, _ = search_all(repo, q="leather")
    departments = {p.category for p in everything}
    assert len(departments) > 3, "leather occurs across departments"
    apparel = set(leaves_under(repo.categories(), "apparel") or ())
    expected = {p.sku for p in everything if p.category in apparel and 3000 <= p.price_cents <= 9000}
    filtered, total = search_all(repo, q="leather", category="apparel", min_price=3000, max_price=9000)
    assert {p.sku for p in filtered} == expected
    assert total == len(expected) > 0
    cheap, _ = search_all(repo, q="leather", max_price=2000)
    assert {p.sku for p in cheap} == {p.sku for p in everything if p.price_cents <= 2000}
    none, total = search(repo, q="leather", min_price=9000, max_price=3000)
    assert (none, total) == ([], 0)


@pytest.mark.parametrize(
    ("sort", "key", "reverse"),
    [
        ("price_asc", lambda p: p.price_cents, False),
        ("price_desc", lambda p: p.price_cents, True),
        ("name", lambda p: p.name.lower(), False),
    ],
)
def test_sorting_orders_the_same_results(repo: CatalogRepository, sort: str, key, reverse: bool) -> None:
    by_relevance, total = search_all(repo, q="cotton")
    ordered, sorted_total = search_all(repo, q="cotton", sort=sort)
    assert sorted_total == total
    assert {p.sku for p in ordered} == {p.sku for p in by_relevance}
    assert [key(p) for p in ordered] == sorted((key(p) for p in ordered), reverse=reverse)


def test_pages_tile_the_results_without_overlap_and_past_the_end_is_empty(repo: CatalogRepository) -> None:
    whole, total = search_all(repo, q="camera", sort="price_asc")
    assert total > 10
    pages = [search(repo, q="camera", sort="price_asc", page=n, per_page=7) for n in range(1, total // 7 + 2)]
    tiled = [p.sku for items, _ in pages for p in items]
    assert tiled == [p.sku for p in whole]
    assert all(t == total for _, t in pages)
    beyond, beyond_total = search(repo, q="camera", page=total + 1, per_page=7)
    assert beyond == [] and beyond_total == total


def test_a_query_without_matches_or_without_words_finds_nothing(repo: CatalogRepository) -> None:
    assert search(repo, q="zzzxqy") == ([], 0)
    assert search(repo, q="?!* ()") == ([], 0)
    assert search(repo, q="the made from") == ([], 0)  # stop words only: no full-catalog scan
    # Quotes and OR are not operators: "zzzxqy" must still match, so nothing does.
    assert search(repo, q='sweater" OR "zzzxqy') == ([], 0)
    assert search(repo, q="sweater OR -zzzxqy") == ([], 0)


def test_category_listing_counts_and_orders_like_the_fixtures(repo: CatalogRepository, catalog: Catalog) -> None:
    jackets = [p for p in catalog.products if p.category == "jackets"]
    page = repo.list(("jackets",), "featured", 100, 0)
    assert page.total == len(jackets)
    assert [p.sku for p in page.items] == [p.sku for p in jackets][:100]
    leaves = leaves_under(repo.categories(), "apparel") or ()
    by_price = repo.list(leaves, "price_desc", 50, 0)
    assert by_price.total == sum(1 for p in catalog.products if p.category in leaves)
    prices = [p.price_cents for p in by_price.items]
    assert prices == sorted(prices, reverse=True)
    assert prices[0] == max(p.price_cents for p in catalog.products if p.category in leaves)


def test_the_store_holds_exactly_the_seeded_catalog(repo: CatalogRepository, catalog: Catalog) -> None:
    assert repo.list(None, "featured", 1, 0).total == len(catalog.products)
    assert repo.get("SKU-000123") == Product(**vars(catalog.by_sku["SKU-000123"]))
    assert [p.sku for p in repo.doorbusters()] == [p.sku for p in catalog.doorbusters]
    assert sorted(p.sku for p in repo.get_many(["DB-0002", "SKU-000001", "missing"])) == ["DB-0002", "SKU-000001"]


def test_seeding_a_store_that_holds_another_catalog_is_refused(repo: CatalogRepository) -> None:
    assert repo.origin() == f"seed={SEED} products={SIZE}"
    if repo.db.dialect == "sqlite":
        other = ServiceConfig("catalog", data_dir=Path(repo.db.url.removeprefix("sqlite:///")).parent, seed=SEED + 1)
    else:
        other = ServiceConfig("catalog", seed=SEED + 1, db_url=repo.db.url)
    with pytest.raises(ConfigError, match=rf"holds a catalog of seed={SEED} products={SIZE}, but .* seed={SEED + 1}"):
        seed(other)
