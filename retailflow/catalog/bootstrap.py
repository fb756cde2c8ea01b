"""Wires the catalog's concrete adapters; the only module that knows them."""

from __future__ import annotations

from starlette.applications import Starlette

from retailflow.catalog.adapters.repository import CatalogRepository, make_repository
from retailflow.catalog.domain.model import Category
from retailflow.catalog.entrypoints.http import ERROR_HANDLERS, routes
from retailflow.catalog.service_layer.views import CatalogViews
from retailflow.common.cache import make_cache
from retailflow.common.config import ServiceConfig
from retailflow.common.db import Database
from retailflow.common.errors import ConfigError
from retailflow.common.store_app import create_store_app, opened

__all__ = ["create_app", "seed"]


def _repository(config: ServiceConfig) -> CatalogRepository:
    return make_repository(Database(config.store_url("catalog"), schema="catalog"))


def seed(config: ServiceConfig) -> None:
    """Create the schema and load the seeded catalog (RF_SEED, RF_PRODUCTS) into an empty store.

    A store already holding another seed's or size's catalog is refused: inventory seeds its stock
    from the same seed data, and the two must describe the same products.
    """
    from retailflow.seed.catalog import generate

    origin = f"seed={config.seed} products={config.products}"
    repository = _repository(config)
    with opened(repository.db):
        repository.create_schema()
        if not repository.is_empty():
            stored = repository.origin()
            if stored != origin:
                raise ConfigError(
                    f"the catalog store {repository.db.redacted_url} holds a catalog of {stored or 'unknown origin'}, "
                    f"but RF_SEED/RF_PRODUCTS ask for {origin}; use a fresh data dir or database"
                )
            return
        catalog = generate(seed=config.seed, products=config.products)
        repository.load(
            (Category(c.slug, c.name, c.parent) for c in catalog.categories),
            catalog.products,
            origin,
        )


def create_app(config: ServiceConfig) -> Starlette:
    repository = _repository(config)
    # The data is a function of (seed, size): keyed by both, a shared Redis never serves another catalog.
    cache = make_cache(config.cache_url, prefix=f"catalog:{config.seed}:{config.products}:")
    views = CatalogViews(repository, cache)

    # The cache is not a readiness dependency: without Redis the catalog still answers, from the store.
    return create_store_app(
        "catalog", routes(views), repository.db, config, error_handlers=ERROR_HANDLERS, on_stop=cache.close
    )
