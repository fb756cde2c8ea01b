"""Products and categories as the catalog serves them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Category", "Page", "Product", "could_be_sku", "leaves_under", "with_counts"]


@dataclass(frozen=True)
class Product:
    sku: str
    name: str
    description: str
    category: str
    price_cents: int
    brand: str
    doorbuster: bool = False

    def to_json(self) -> dict[str, Any]:
        """The product shape of docs/contracts.md (section 2)."""
        return {
            "sku": self.sku,
            "name": self.name,
            "description": self.description,
            "category": self.category,
            "price_cents": self.price_cents,
            "brand": self.brand,
            "doorbuster": self.doorbuster,
        }


def could_be_sku(text: str) -> bool:
    """Whether a store could hold this sku: 1-64 printable characters. Anything else is unknown
    without asking the store (PostgreSQL refuses a NUL byte outright)."""
    return 0 < len(text) <= 64 and text.isprintable()


@dataclass(frozen=True)
class Category:
    slug: str
    name: str
    parent: str | None  # a department's slug; None for a department
    product_count: int = 0

    def to_json(self) -> dict[str, Any]:
        return {"slug": self.slug, "name": self.name, "parent": self.parent, "product_count": self.product_count}


@dataclass(frozen=True)
class Page:
    """One page of a listing or a search, with the total across all pages."""

    items: Sequence[Product]
    total: int


def leaves_under(categories: Sequence[Category], slug: str) -> tuple[str, ...] | None:
    """The leaf categories a slug stands for: itself, or a department's children; None if unknown."""
    children = tuple(c.slug for c in categories if c.parent == slug)
    if children:
        return children
    if any(c.slug == slug for c in categories):
        return (slug,)
    return None


def with_counts(categories: Sequence[Category], leaf_counts: Mapping[str, int]) -> list[Category]:
    """The tree with product counts, a department counting the products of its leaves."""
    totals = dict(leaf_counts)
    for c in categories:
        if c.parent is not None:
            totals[c.parent] = totals.get(c.parent, 0) + leaf_counts.get(c.slug, 0)
    return [Category(c.slug, c.name, c.parent, totals.get(c.slug, 0)) for c in categories]
