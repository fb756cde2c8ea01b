"""The suite's journeys as one locustfile: `doorbuster load` points Locust here.

Only imports: every User class imported here becomes a user. It lives in the package so that
an installed wheel has it; the repository's root locustfile.py imports the same classes.
"""

from locust import FastHttpUser  # noqa: F401  (gevent patches the standard library first)

from doorbuster.scenarios.browse import BrowseShopper
from doorbuster.scenarios.checkout import CheckoutShopper
from doorbuster.scenarios.search import SearchShopper

__all__ = ["BrowseShopper", "CheckoutShopper", "SearchShopper"]
