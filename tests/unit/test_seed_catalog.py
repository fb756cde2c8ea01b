"""The seeded catalog generator every service seeds from."""

from __future__ import annotations

import re
import statistics
import time

import pytest

from retailflow.seed import words
from retailflow.seed.catalog import DOORBUSTER_UNITS, generate


@pytest.fixture(scope="module")
def catalog():
    return generate()


def test_same_seed_gives_identical_catalogs(catalog):
    again = generate(seed=42)
    assert again.products == catalog.products
    assert again.stock == catalog.stock
    assert again.customers == catalog.customers
    assert again.categories == catalog.categories
    assert again.search_terms() == catalog.search_terms()


def test_different_seed_gives_different_products_and_stock(catalog):
    other = generate(seed=43)
    assert [p.sku for p in other.products] == [p.sku for p in catalog.products]  # SKUs are stable ids
    differing = sum(a != b for a, b in zip(other.products, catalog.products, strict=True))
    assert differing > 9_000
    assert other.stock != catalog.stock


def test_default_catalog_has_ten_thousand_products_plus_five_doorbusters(catalog):
    regular = [p for p in catalog.products if not p.doorbuster]
    assert len(regular) == 10_000
    assert [p.sku for p in catalog.doorbusters] == ["DB-0001", "DB-0002", "DB-0003", "DB-0004", "DB-0005"]
    assert all(catalog.stock[p.sku] == DOORBUSTER_UNITS == 20 for p in catalog.doorbusters)
    assert regular[0].sku == "SKU-000001" and regular[-1].sku == "SKU-010000"
    assert len(catalog.by_sku) == len(catalog.products), "SKUs must be unique"
    assert set(catalog.stock) == set(catalog.by_sku)


def test_products_sit_in_leaf_categories_of_a_two_level_tree(catalog):
    slugs = [c.slug for c in catalog.categories]
    assert len(slugs) == len(set(slugs)), "category slugs must be unique"
    departments = {c.slug for c in catalog.categories if c.parent is None}
    leaves = {c.slug for c in catalog.categories if c.parent is not None}
    assert len(departments) == 8
    assert len(leaves) >= 30
    assert all(c.parent in departments for c in catalog.categories if c.parent is not None)
    assert {p.category for p in catalog.products} == leaves


def test_prices_stay_in_each_categorys_band_and_spread_out(catalog):
    bands = {s.slug: (s.price_low, s.price_high) for d in words.DEPARTMENTS for s in d.subcategories}
    for p in catalog.products:
        if p.doorbuster:
            continue
        low, high = bands[p.category]
        assert isinstance(p.price_cents, int)
        assert low - 100 <= p.price_cents <= high + 99, p
        assert p.price_cents % 100 == 99
    laptops = [p.price_cents for p in catalog.products if p.category == "laptops"]
    assert max(laptops) > 4 * min(laptops)


def test_stock_is_skewed_with_a_long_tail(catalog):
    units = [n for sku, n in catalog.stock.items() if not sku.startswith("DB-")]
    assert min(units) >= 20
    assert max(units) > 20 * statistics.median(units)


def test_names_and_descriptions_read_like_a_shop(catalog):
    p = catalog.by_sku["SKU-000001"]
    assert p.name.startswith(p.brand + " ")
    assert len(p.name.split()) >= 5
    assert p.brand in p.description
    assert re.fullmatch(r"[A-Z][^\n]{40,400}\.", p.description)


def test_search_terms_each_occur_in_some_product_name(catalog):
    terms = catalog.search_terms()
    assert len(terms) > 200
    names = [p.name.lower() for p in catalog.products]
    for term in terms[:50] + terms[-50:]:
        assert any(term.lower() in name for name in names), term
    assert any(" " in t for t in terms), "multi-word phrases are part of the mix"


def test_customers_have_unique_ids_and_emails(catalog):
    assert len(catalog.customers) == 1_000
    assert len({c.id for c in catalog.customers}) == 1_000
    assert len({c.email for c in catalog.customers}) == 1_000
    assert all(c.email.endswith("@example.com") for c in catalog.customers)


def test_generating_ten_thousand_products_takes_well_under_two_seconds():
    started = time.process_time()
    generate(seed=7)
    assert time.process_time() - started < 2.0


def test_size_follows_the_products_argument():
    small = generate(seed=1, products=50, doorbusters=2, customers=3)
    assert len(small.products) == 52
    assert len(small.customers) == 3


def test_nonsense_sizes_are_refused_with_the_values_named():
    with pytest.raises(ValueError, match=r"need products >= 1.*got 0, 5, 1000"):
        generate(products=0)
