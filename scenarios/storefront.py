"""What RetailFlow's journeys know about a storefront that speaks its contract (docs/contracts.md,
section 2): its pages' markers, and its catalog learned from the shop itself.

The shop's data (categories, products, search terms, doorbusters) is learned once per generator
process, so the journeys work against any shop that speaks the contract, not only RetailFlow.
These warm-up calls bypass Locust on purpose: they are not shopper traffic and must not count
in the run. No User class lives here (every imported User class becomes a user).
"""

from __future__ import annotations

import json
import logging
import random
import re
import urllib.request
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gevent.lock

from doorbuster.journeys import check_text

__all__ = ["MISSES", "NEXT_RE", "SKU_RE", "TOTAL_RE", "ShopData", "check_page", "shop_data", "skewed", "typo"]

log = logging.getLogger("doorbuster.load")

SKU_RE = re.compile(r'<li class="card" data-sku="([^"]+)"')
NEXT_RE = re.compile(r'rel="next"')
TOTAL_RE = re.compile(r'data-total="(\d+)"')

# Queries for things a shop like this does not sell: shoppers search for them anyway.
MISSES = ("unicorn saddle", "flux capacitor", "zzzx", "moon rock", "horse armor", "teleporter pad")


@dataclass(frozen=True)
class ShopData:
    categories: tuple[str, ...]  # slugs with products, most products first
    family: dict[str, frozenset[str]]  # slug -> itself and every category below it
    products: tuple[dict[str, Any], ...]  # a sample of the catalog, listing order
    doorbusters: tuple[dict[str, Any], ...]
    terms: tuple[str, ...]  # real words of product names and brands, most frequent first


_lock = gevent.lock.Semaphore()
_cache: dict[str, ShopData] = {}


def _get(base: str, path: str) -> Any:
    with urllib.request.urlopen(base.rstrip("/") + path, timeout=10) as resp:
        return json.loads(resp.read())


def shop_data(host: str | None) -> ShopData | None:
    """The shop's data, fetched once per process; None if the shop does not answer yet."""
    if not host:
        return None
    if host in _cache:
        return _cache[host]
    with _lock:
        if host in _cache:
            return _cache[host]
        try:
            categories = _get(host, "/api/categories")
            products: list[dict[str, Any]] = []
            for page in (1, 2, 3):
                products += _get(host, f"/api/products?per_page=100&page={page}")["items"]
            doorbusters = _get(host, "/api/doorbusters")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.error("doorbuster: cannot learn the shop's catalog from %s: %s", host, exc)
            return None
        ranked = sorted(
            (c for c in categories if c.get("product_count", 0) > 0),
            key=lambda c: -int(c.get("product_count", 0)),
        )
        words: Counter[str] = Counter()
        for product in products:
            # whole words of names and whole brands: what a shopper would type
            for word in str(product.get("name", "")).split():
                if len(word) >= 4 and word.isalpha():
                    words[word.lower()] += 1
            if product.get("brand"):
                words[str(product["brand"]).lower()] += 1
        data = ShopData(
            categories=tuple(c["slug"] for c in ranked),
            family=_families(categories),
            products=tuple(p for p in products if not p.get("doorbuster")),
            doorbusters=tuple(doorbusters),
            terms=tuple(word for word, _ in words.most_common(200)),
        )
        if not data.categories or not data.products or not data.terms:
            log.error("doorbuster: the shop at %s has no categories, products or names to search", host)
            return None
        _cache[host] = data
        return data


def _families(categories: list[dict[str, Any]]) -> dict[str, frozenset[str]]:
    parents = {c["slug"]: c.get("parent") for c in categories}
    family: dict[str, set[str]] = {slug: {slug} for slug in parents}
    for slug in parents:
        parent, seen = parents.get(slug), {slug}
        while parent and parent not in seen:
            family.setdefault(parent, {parent}).add(slug)
            seen.add(parent)
            parent = parents.get(parent)
    return {slug: frozenset(members) for slug, members in family.items()}


def skewed(rng: random.Random, items: Sequence[Any], scale: float = 0.15) -> Any:
    """Pick from `items` (most popular first) with a long tail: a few items get most picks."""
    index = int(rng.expovariate(1.0 / max(1.0, scale * len(items))))
    return items[min(index, len(items) - 1)]


def typo(rng: random.Random, term: str) -> str:
    if len(term) < 4:
        return term + term[-1]
    i = rng.randrange(len(term) - 1)
    return term[:i] + term[i + 1] + term[i] + term[i + 2 :]


def check_page(resp: Any, kind: str, *needles: str) -> str | None:
    """The text of a 200 page of this kind that shows every needle, or None (request failed)."""
    return check_text(resp, *needles, page=kind)
