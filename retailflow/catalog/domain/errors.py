"""The catalog's one exception base and the refusals a shopper can meet."""

from __future__ import annotations

__all__ = ["CatalogError", "UnknownCategory", "UnknownProduct"]


class CatalogError(Exception):
    """Base of the catalog's domain errors; the message is a sentence for the shopper."""


class UnknownProduct(CatalogError):
    def __init__(self, sku: str) -> None:
        super().__init__(f"no product with sku {sku[:64]!r}")
        self.sku = sku


class UnknownCategory(CatalogError):
    def __init__(self, slug: str) -> None:
        super().__init__(f"no category {slug[:64]!r}")
        self.slug = slug
