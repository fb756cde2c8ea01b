"""Doorbuster's journeys for `locust -f locustfile.py --host http://127.0.0.1:PORT`.

Only imports: every User class imported here becomes a user (browse, search, checkout),
and importing them wires the shapes (--shape), the profile (--traffic-profile) and the recording
(--run-dir); see scenarios/.
"""

from scenarios.browse import BrowseShopper
from scenarios.checkout import CheckoutShopper
from scenarios.search import SearchShopper

__all__ = ["BrowseShopper", "CheckoutShopper", "SearchShopper"]
