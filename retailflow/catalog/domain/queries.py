"""What a shopper may ask of the catalog, validated before any store sees it.

Rules live here, not in the HTTP layer, so every entrypoint (and every store) gets the same
answer to "is this a sensible query?".
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from retailflow.catalog.domain.errors import CatalogError

__all__ = [
    "LIST_SORTS",
    "MAX_PAGE",
    "MAX_PER_PAGE",
    "MAX_PRICE",
    "SEARCH_SORTS",
    "InvalidQuery",
    "ListQuery",
    "SearchQuery",
    "search_words",
]

MAX_PER_PAGE = 100
MAX_PAGE = 10_000
MAX_PRICE = 10**9  # cents
MAX_QUERY_LENGTH = 200
MAX_WORDS = 12
SEARCH_SORTS = ("relevance", "price_asc", "price_desc", "name")
LIST_SORTS = ("featured", "price_asc", "price_desc", "name")
_WORD = re.compile(r"\w+", re.UNICODE)
# Words that every product's text holds say nothing about which product a shopper wants, and
# matching all of them costs a scan of the whole catalog: English stop words (PostgreSQL's
# 'english' configuration drops them too) and the filler of the generated descriptions.
STOP_WORDS = frozenset(
    _WORD.findall(
        "a an and are as at be by for from has have in is it its of on or our that the this to with "
        "they made feature features built part range"
    )
)


class InvalidQuery(CatalogError):
    """A query the catalog refuses; the message names the parameter and what it must be."""

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message)
        self.parameter = parameter


def search_words(text: str) -> tuple[str, ...]:
    """The words of a search, lower-cased, without stop words: operators and punctuation never
    reach a query parser."""
    words = (w.lower() for w in _WORD.findall(text))
    return tuple(w for w in words if w not in STOP_WORDS)[:MAX_WORDS]


def _optional_int(params: Mapping[str, str], key: str, low: int, high: int) -> int | None:
    raw = params.get(key)
    if raw is None or raw.strip() == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise InvalidQuery(key, f"'{key}' must be a whole number, got {raw[:40]!r}") from None
    if not low <= value <= high:
        raise InvalidQuery(key, f"'{key}' must be between {low} and {high}, got {value}")
    return value


def _int(params: Mapping[str, str], key: str, default: int, low: int, high: int) -> int:
    value = _optional_int(params, key, low, high)
    return default if value is None else value


def _sort(params: Mapping[str, str], allowed: tuple[str, ...]) -> str:
    sort = params.get("sort") or allowed[0]
    if sort not in allowed:
        raise InvalidQuery("sort", f"'sort' must be one of {', '.join(allowed)}, got {sort[:40]!r}")
    return sort


def _category(params: Mapping[str, str]) -> str | None:
    category = params.get("category") or None
    if category is not None and len(category) > 64:
        raise InvalidQuery("category", "'category' is longer than 64 characters")
    return category


def _paging(params: Mapping[str, str]) -> dict[str, int]:
    """The page number and size a listing or a search asks for, checked against their bounds."""
    return {"page": _int(params, "page", 1, 1, MAX_PAGE), "per_page": _int(params, "per_page", 24, 1, MAX_PER_PAGE)}


@dataclass(frozen=True, kw_only=True)
class _Paged:
    """What listings and searches share about pages: which page, its size, and its first row."""

    page: int = 1
    per_page: int = 24

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


@dataclass(frozen=True)
class ListQuery(_Paged):
    """A category page (or all products): `category` may be a department or a leaf."""

    category: str | None = None
    sort: str = "featured"

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> ListQuery:
        return cls(category=_category(params), sort=_sort(params, LIST_SORTS), **_paging(params))


@dataclass(frozen=True)
class SearchQuery(_Paged):
    """A full-text search: every word must match (stemmed); filters narrow, sort orders."""

    text: str
    words: tuple[str, ...]
    category: str | None = None
    min_price: int | None = None
    max_price: int | None = None
    sort: str = "relevance"

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> SearchQuery:
        text = params.get("q") or ""
        if not text:
            raise InvalidQuery("q", "'q' is required: the words to search for")
        if len(text) > MAX_QUERY_LENGTH:
            raise InvalidQuery("q", f"'q' is longer than {MAX_QUERY_LENGTH} characters")
        # min_price above max_price is a valid question with no answer: an empty page, not an error.
        return cls(
            text=text.strip(),
            words=search_words(text),
            category=_category(params),
            min_price=_optional_int(params, "min_price", 0, MAX_PRICE),
            max_price=_optional_int(params, "max_price", 0, MAX_PRICE),
            sort=_sort(params, SEARCH_SORTS),
            **_paging(params),
        )

    @property
    def cache_key(self) -> str:
        words = " ".join(self.words)
        return f"{words}|{self.category}|{self.min_price}|{self.max_price}|{self.sort}|{self.page}|{self.per_page}"
