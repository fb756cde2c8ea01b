"""Search: a query (real catalog terms, some misses and typos) -> filter/sort -> paginate -> product."""

from __future__ import annotations

from urllib.parse import urlencode

from locust import FastHttpUser  # noqa: F401  (gevent patches first)

from doorbuster.journeys import PacedUser, check_json
from doorbuster.scenarios.browse import view_product
from doorbuster.scenarios.storefront import MISSES, SKU_RE, TOTAL_RE, check_page, shop_data, skewed, typo

__all__ = ["SearchShopper"]

SORTS = ("price_asc", "price_desc", "name")


class SearchShopper(PacedUser):
    journey = "search"
    requests_per_iteration = 3.5
    think_pauses = 3.0

    def query(self) -> tuple[str, bool]:
        """A query and whether it is a real catalog term (so results are expected)."""
        data = shop_data(self.host)
        miss, typos = self.profile.search_miss_share, self.profile.search_typo_share
        roll = self.rng.random()
        if roll < miss or data is None:
            return self.rng.choice(MISSES), False
        term = skewed(self.rng, data.terms, scale=0.2)
        if roll < miss + typos:
            return typo(self.rng, term), False
        return term, True

    def run_journey(self) -> None:
        q, real = self.query()
        with self.client.get(f"/search?{urlencode({'q': q})}", name="GET /search", catch_response=True) as resp:
            text = check_page(resp, "search", "data-total=")
            if text is None:
                return
            match = TOTAL_RE.search(text)
            total = int(match.group(1)) if match else 0
            skus = SKU_RE.findall(text)
            if real and total == 0:
                resp.failure(f"search for catalog term {q!r} found nothing")
                return
        if total == 0:
            return  # a miss: the shopper gives up
        self.think()
        sort = self.rng.choice(SORTS)
        params = {"q": q, "sort": sort, "per_page": 24}
        with self.client.get(f"/api/search?{urlencode(params)}", name="GET /api/search", catch_response=True) as resp:
            body = check_json(resp, 200, "items", "total", "query")
            if body is None:
                return
            if not check_sorted(resp, body["items"], sort):
                return
            skus = [p["sku"] for p in body["items"]] or skus
        if total > 24 and self.rng.random() < 0.4:
            self.think()
            params = {"q": q, "sort": sort, "page": 2}
            with self.client.get(f"/search?{urlencode(params)}", name="GET /search", catch_response=True) as resp:
                text = check_page(resp, "search", "data-total=")
                if text is None:
                    return
                skus = SKU_RE.findall(text) or skus
        if skus and self.rng.random() < 0.9:
            self.think()
            view_product(self, skewed(self.rng, skus))


def check_sorted(resp: object, items: list[dict[str, object]], sort: str) -> bool:
    """Results must come in the order asked for (a 200 in the wrong order is a failure)."""
    if sort == "name":
        keys = [str(p.get("name", "")).lower() for p in items]
    else:
        keys = [int(p.get("price_cents", 0)) for p in items]  # type: ignore[call-overload]
    if sort == "price_desc":
        keys = keys[::-1]
    if keys != sorted(keys):
        resp.failure(f"results are not sorted by {sort}")  # type: ignore[attr-defined]
        return False
    return True
