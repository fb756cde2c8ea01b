"""What the catalog accepts as a query, and what it refuses with a message naming the parameter."""

from __future__ import annotations

import pytest

from retailflow.catalog.domain.model import Category, leaves_under, with_counts
from retailflow.catalog.domain.queries import InvalidQuery, ListQuery, SearchQuery, search_words


def test_a_search_query_reads_every_parameter() -> None:
    query = SearchQuery.parse(
        {
            "q": " Wool  Sweater ",
            "category": "apparel",
            "min_price": "1000",
            "max_price": "5000",
            "sort": "price_desc",
            "page": "3",
            "per_page": "10",
        }
    )
    assert query.words == ("wool", "sweater")
    assert query.text == "Wool  Sweater"
    assert (query.category, query.min_price, query.max_price, query.sort) == ("apparel", 1000, 5000, "price_desc")
    assert (query.page, query.per_page, query.offset) == (3, 10, 20)


def test_search_defaults_are_relevance_first_page_of_24() -> None:
    query = SearchQuery.parse({"q": "tent", "category": "", "min_price": "", "sort": ""})
    assert (query.category, query.min_price, query.max_price, query.sort) == (None, None, None, "relevance")
    assert (query.page, query.per_page) == (1, 24)


@pytest.mark.parametrize(
    ("params", "parameter", "message"),
    [
        ({}, "q", "'q' is required"),
        ({"q": "x" * 201}, "q", "'q' is longer than 200 characters"),
        ({"q": "tent", "page": "0"}, "page", "'page' must be between 1 and 10000, got 0"),
        ({"q": "tent", "per_page": "101"}, "per_page", "'per_page' must be between 1 and 100, got 101"),
        ({"q": "tent", "min_price": "-1"}, "min_price", "'min_price' must be between 0 and 1000000000, got -1"),
        ({"q": "tent", "max_price": "1.5"}, "max_price", "'max_price' must be a whole number, got '1.5'"),
        ({"q": "tent", "sort": "random"}, "sort", "'sort' must be one of relevance, price_asc, price_desc, name"),
        ({"q": "tent", "category": "c" * 65}, "category", "'category' is longer than 64 characters"),
    ],
)
def test_a_bad_search_parameter_is_refused_by_name(params: dict[str, str], parameter: str, message: str) -> None:
    with pytest.raises(InvalidQuery, match=message) as caught:
        SearchQuery.parse(params)
    assert caught.value.parameter == parameter


def test_a_price_range_with_min_above_max_is_a_valid_query_not_an_error() -> None:
    query = SearchQuery.parse({"q": "tent", "min_price": "5000", "max_price": "100"})
    assert (query.min_price, query.max_price) == (5000, 100)


def test_search_words_drop_query_syntax_so_no_parser_sees_operators() -> None:
    assert search_words('"wool" OR sweater* -cotton NEAR(x y)') == ("wool", "sweater", "cotton", "near", "x", "y")
    assert search_words("t-shirt, 100% cotton") == ("t", "shirt", "100", "cotton")
    assert search_words("!!! ???") == ()
    assert len(search_words(" ".join(["w"] * 50))) == 12


def test_words_every_product_holds_are_not_searched_for() -> None:
    assert search_words("The wool sweater made for the office") == ("wool", "sweater", "office")
    assert search_words("the and of") == ()


def test_a_listing_query_knows_its_sorts_and_refuses_relevance() -> None:
    assert ListQuery.parse({}) == ListQuery(None, "featured", page=1, per_page=24)
    assert ListQuery.parse({"category": "tents", "sort": "name", "page": "2"}).offset == 24
    with pytest.raises(InvalidQuery, match="'sort' must be one of featured, price_asc, price_desc, name"):
        ListQuery.parse({"sort": "relevance"})


TREE = [
    Category("apparel", "Apparel", None),
    Category("jackets", "Jackets", "apparel"),
    Category("shoes", "Shoes", "apparel"),
    Category("books", "Books", None),
    Category("fiction", "F", "books"),
]


def test_a_department_stands_for_its_subcategories_and_a_leaf_for_itself() -> None:
    assert leaves_under(TREE, "apparel") == ("jackets", "shoes")
    assert leaves_under(TREE, "shoes") == ("shoes",)
    assert leaves_under(TREE, "garden") is None


def test_a_department_counts_the_products_of_its_subcategories() -> None:
    counted = {c.slug: c.product_count for c in with_counts(TREE, {"jackets": 3, "shoes": 4, "fiction": 1})}
    assert counted == {"apparel": 7, "jackets": 3, "shoes": 4, "books": 1, "fiction": 1}
