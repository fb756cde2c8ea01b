"""The names and limits the shop and the suite must agree on, written once.

The shop imports this module and so does the suite (the audit writes these invariant names,
the report judges them; the load writes the ledger, the audit reads it). It imports nothing,
so the shop can be deployed without the suite and the suite can read it without starting
anything. Files that cannot import Python (docs/contracts.md) repeat the literals, and
tests/unit/test_contracts.py checks that they still match.
"""

from __future__ import annotations

__all__ = [
    "INVARIANTS",
    "KEY_LENGTH",
    "LEDGER_COLUMNS",
    "LEDGER_ORDERS_EXIST",
    "LEGACY_CONVERGENCE",
    "MAX_QTY",
    "NO_CAPTURE_WITHOUT_ORDER",
    "NO_DOUBLE_CAPTURE",
    "NO_DOUBLE_CONFIRMATION",
    "NO_NEGATIVE_STOCK",
    "PROJECTION_REPLAY",
    "STOCK_CONSERVATION",
]

# The audit's invariants (audit.json), in the order the audit checks and the report lists them.
LEDGER_ORDERS_EXIST = "ledger_orders_exist"
NO_DOUBLE_CONFIRMATION = "no_double_confirmation"
NO_DOUBLE_CAPTURE = "no_double_capture"
NO_CAPTURE_WITHOUT_ORDER = "no_capture_without_order"
STOCK_CONSERVATION = "stock_conservation"
NO_NEGATIVE_STOCK = "no_negative_stock"
LEGACY_CONVERGENCE = "legacy_convergence"
PROJECTION_REPLAY = "projection_replay"
INVARIANTS = (
    LEDGER_ORDERS_EXIST,
    NO_DOUBLE_CONFIRMATION,
    NO_DOUBLE_CAPTURE,
    NO_CAPTURE_WITHOUT_ORDER,
    STOCK_CONSERVATION,
    NO_NEGATIVE_STOCK,
    LEGACY_CONVERGENCE,
    PROJECTION_REPLAY,
)

# ledger.csv: every order the shop confirmed to a client, written by the load, read by the audit.
LEDGER_COLUMNS = ("order_id", "idempotency_key", "items", "total_cents", "confirmed_ts", "journey")

# The shop's API limits, enforced at the gateway and again by the service that owns them.
KEY_LENGTH = 200  # characters of an Idempotency-Key
MAX_QTY = 100  # units per cart line; a bigger order is a wholesale enquiry, not a checkout

# The port a store URL of the services profile means when it names none (RF_DB_URL and the
# like): the shop connects there, and the game day's preflight checks that something listens.
STORE_DEFAULT_PORTS = {
    "postgresql": 5432,
    "postgres": 5432,
    "mysql": 3306,
    "mariadb": 3306,
    "redis": 6379,
    "amqp": 5672,
    "nats": 4222,
}
