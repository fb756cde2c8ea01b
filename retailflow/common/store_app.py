"""The wiring every service with a store repeats, in one place: open the store for a block, and
build an app whose lifespan holds it open and whose /readyz asks it first.

Each bootstrap still chooses its own adapters and background work; what is the same in all of
them (connect, start, serve, stop, close the store last; a schema made at start-up unless the
seed job made it; a bus closed without failing the shutdown) lives here once, so no service can
forget a step or do them in another order.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from typing import Protocol

from starlette.applications import Starlette
from starlette.routing import BaseRoute

from retailflow.common.bus import Bus
from retailflow.common.config import ServiceConfig
from retailflow.common.db import Database, DatabaseError
from retailflow.common.handled import handled
from retailflow.common.web import ErrorHandler, ReadyCheck, create_service_app

__all__ = ["close_bus", "create_schema_unless_seeded", "create_store_app", "opened", "seed_schema"]

Step = Callable[[], Awaitable[None]]


class SchemaStore(Protocol):
    """A service's store that knows its own tables."""

    db: Database

    def create_schema(self) -> None: ...


@contextmanager
def opened(db: Database) -> Iterator[Database]:
    """`db` connected for the block and closed after it, whatever happens in between."""
    db.connect()
    try:
        yield db
    finally:
        db.close()


def seed_schema(store: SchemaStore) -> None:
    """The seed of a service with no fixtures to load: open its store, create its tables, close it."""
    with opened(store.db):
        store.create_schema()


def create_schema_unless_seeded(service: str, *creates: Callable[[], None]) -> None:
    """Create the service's tables at start-up; a failure is logged, not raised.

    Normally the seed job made them; a replica started alone still works, and one that started
    beside a running seed job must not die on the race.
    """
    try:
        for create in creates:
            create()
    except DatabaseError:
        logging.getLogger(f"retailflow.{service}").warning(
            "creating the %s schema failed; assuming the seed job made it", service, exc_info=True
        )


async def close_bus(bus: Bus) -> None:
    """Close the bus at shutdown; a failure is reported (counted and logged), never raised."""
    try:
        await bus.close()
    except Exception as exc:  # shutting down anyway: say so, and let the rest close
        handled("bus.close", exc)


def create_store_app(
    service: str,
    routes: Sequence[BaseRoute],
    db: Database,
    config: ServiceConfig,
    *,
    ready_checks: Mapping[str, ReadyCheck] | None = None,
    error_handlers: Mapping[type[Exception], ErrorHandler] | None = None,
    on_start: Step | None = None,
    on_stop: Step | None = None,
) -> Starlette:
    """`create_service_app` for a service that serves while its store `db` is open.

    The lifespan connects `db`, awaits `on_start`, serves, then awaits `on_stop` (also after a
    failed start, to undo what it began) and closes `db` last, even if `on_stop` fails. /readyz
    checks the store first, then `ready_checks`.
    """

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        db.connect()
        try:
            if on_start is not None:
                await on_start()
            yield
        finally:
            try:
                if on_stop is not None:
                    await on_stop()
            finally:
                db.close()

    async def store_ready() -> bool:
        return db.ping()

    return create_service_app(
        service,
        routes,
        ready_checks={"store": store_ready, **(ready_checks or {})},
        lifespan=lifespan,
        max_body_bytes=config.max_body_bytes,
        error_handlers=error_handlers,
    )
