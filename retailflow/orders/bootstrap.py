"""Wires the orders service's concrete adapters; the only module that knows them."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import Counter
from starlette.applications import Starlette

from retailflow.common.background import BackgroundTasks
from retailflow.common.bus import make_bus
from retailflow.common.config import ServiceConfig
from retailflow.common.db import Database
from retailflow.common.outbox import OutboxRelay
from retailflow.common.store_app import close_bus, create_schema_unless_seeded, create_store_app, opened
from retailflow.common.upstream import Upstream
from retailflow.common.web import ReadyCheck
from retailflow.orders.adapters.carts import RedisCartRepository, SqlCartRepository, create_cart_schema
from retailflow.orders.adapters.event_store import SqlOrderRepository, create_schema
from retailflow.orders.adapters.upstreams import HttpCatalog, HttpInventory, HttpPayments
from retailflow.orders.config import OrdersSettings
from retailflow.orders.entrypoints.http import ERROR_HANDLERS, OrdersApp, routes
from retailflow.orders.service_layer.handlers import Checkout
from retailflow.orders.service_layer.ports import Outcome
from retailflow.orders.service_layer.recovery import run_recovery
from retailflow.orders.service_layer.saga import CheckoutSaga

__all__ = ["create_app", "seed"]


def _database(config: ServiceConfig) -> Database:
    return Database(config.store_url("orders"), schema="orders")


def seed(config: ServiceConfig) -> None:
    """Create the event log, projection, key and cart tables; orders has no fixtures to load."""
    with opened(_database(config)) as db:
        create_schema(db)
        create_cart_schema(db)


def create_app(config: ServiceConfig, settings: OrdersSettings | None = None) -> Starlette:
    settings = settings or OrdersSettings.from_env()
    db = _database(config)
    orders = SqlOrderRepository(db)
    redis_carts = RedisCartRepository(config.cache_url) if config.cache_url else None
    carts = redis_carts or SqlCartRepository(db)
    timeout = settings.upstream_timeout_s
    upstreams = [
        Upstream(name, config.upstream(name), timeout_s=timeout) for name in ("inventory", "payments", "catalog")
    ]
    inventory_up, payments_up, catalog_up = upstreams
    saga = CheckoutSaga(
        orders, HttpInventory(inventory_up), HttpPayments(payments_up), reservation_ttl_s=settings.reservation_ttl_s
    )
    observers: list[Callable[[Outcome], None]] = []

    def observe(outcome: Outcome) -> None:
        for observer in observers:
            observer(outcome)

    checkout = Checkout(orders, carts, saga, duplicate_wait_s=settings.duplicate_wait_s)
    app_services = OrdersApp(orders, carts, HttpCatalog(catalog_up), checkout, observe)
    bus = make_bus(config.bus_url, config.data_dir, config.bus_namespace)
    relay = OutboxRelay(db, bus, "orders")
    background = BackgroundTasks()

    async def start() -> None:
        create_schema_unless_seeded("orders", lambda: create_schema(db), lambda: create_cart_schema(db))
        background.start("outbox-relay", relay.run())
        background.start(
            "saga-recovery",
            run_recovery(orders, saga, older_than_s=settings.stale_after_s, interval_s=settings.recovery_interval_s),
        )

    async def stop() -> None:
        await background.stop()
        for upstream in upstreams:
            await upstream.close()
        if redis_carts is not None:
            await redis_carts.close()
        await close_bus(bus)

    checks: dict[str, ReadyCheck] = {"bus": bus.ping, "background": background.ready}
    if redis_carts is not None:
        checks["carts"] = redis_carts.ping
    app = create_store_app(
        "orders",
        routes(app_services),
        db,
        config,
        ready_checks=checks,
        error_handlers=ERROR_HANDLERS,
        on_start=start,
        on_stop=stop,
    )
    # Placement answers by kind (confirmed, sold_out, payment_declined, ..._unavailable): what a
    # game day watches while it breaks things.
    answers = Counter(
        "orders_checkout_answers_total", "Order placement answers", ["answer"], registry=app.state.registry
    )
    observers.append(lambda outcome: answers.labels(str(outcome.body.get("error", "confirmed"))).inc())
    return app
