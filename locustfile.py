"""Doorbuster's journeys for `locust -f locustfile.py --host http://127.0.0.1:PORT`.

Only imports: every User class imported here becomes a user (browse, search, checkout).
Importing a journey wires the load engine (doorbuster/load/): --shape and --shape-args (the
open model; without them users come from -u or the web UI form), --traffic-profile, --run-dir.
"""

from locust import FastHttpUser  # noqa: F401  (gevent patches the standard library first)

from doorbuster.scenarios.browse import BrowseShopper
from doorbuster.scenarios.checkout import CheckoutShopper
from doorbuster.scenarios.search import SearchShopper

__all__ = ["BrowseShopper", "CheckoutShopper", "SearchShopper"]
