"""The public query strings, validated and made canonical (one cache key per distinct question)."""

from __future__ import annotations

from urllib.parse import quote, urlencode

from starlette.requests import Request

from retailflow.common.errors import BadRequest, NotFound
from retailflow.common.web import query_int

__all__ = ["LIST_SORTS", "SEARCH_SORTS", "listing_query", "path_id", "search_query", "to_query_string"]

# the catalog's orders: a listing has no relevance, a search has no "featured"
LIST_SORTS = ("featured", "price_asc", "price_desc", "name")
SEARCH_SORTS = ("relevance", "price_asc", "price_desc", "name")
MAX_PAGE = 10_000
MAX_PER_PAGE = 100
MAX_PRICE = 10**9
ID_LENGTH = 128


def _text(request: Request, key: str, max_length: int) -> str:
    value = request.query_params.get(key, "").strip()
    if len(value) > max_length:
        raise BadRequest(f"query parameter '{key}' is longer than {max_length} characters")
    return value


def _sort(request: Request, sorts: tuple[str, ...]) -> str:
    sort = request.query_params.get("sort", "")
    if sort and sort not in sorts:
        raise BadRequest(f"query parameter 'sort' must be one of {', '.join(sorts)}, got {sort[:40]!r}")
    return sort


def listing_query(request: Request, *, per_page: int = 24, sorts: tuple[str, ...] = LIST_SORTS) -> dict[str, str | int]:
    """`category`, `page`, `per_page`, `sort` of a product listing."""
    return {
        "category": _text(request, "category", 64),
        "page": query_int(request, "page", 1, minimum=1, maximum=MAX_PAGE),
        "per_page": query_int(request, "per_page", per_page, minimum=1, maximum=MAX_PER_PAGE),
        "sort": _sort(request, sorts),
    }


def search_query(request: Request, *, per_page: int = 24) -> dict[str, str | int]:
    """`q` plus the listing's filters and the price range (integer cents)."""
    query: dict[str, str | int] = {
        "q": _text(request, "q", 200),
        **listing_query(request, per_page=per_page, sorts=SEARCH_SORTS),
    }
    for key in ("min_price", "max_price"):
        if request.query_params.get(key, "") != "":
            query[key] = query_int(request, key, 0, minimum=0, maximum=MAX_PRICE)
    return query


def to_query_string(query: dict[str, str | int]) -> str:
    """Non-empty parameters in a fixed order: the upstream call and the cache key."""
    return urlencode(sorted((k, v) for k, v in query.items() if v != ""))


def path_id(request: Request, key: str, what: str) -> str:
    """A path parameter made safe to put into an upstream path; an absurd one cannot exist."""
    value = str(request.path_params[key])
    if not value or len(value) > ID_LENGTH:
        raise NotFound(f"no {what} {value[:40]!r}")
    return quote(value, safe="")
