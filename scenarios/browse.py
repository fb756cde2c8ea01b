"""Browse: home -> category pages (paginating) -> product pages -> sometimes add to cart and leave."""

from __future__ import annotations

from urllib.parse import quote

from locust import FastHttpUser  # noqa: F401  (gevent patches first)

from doorbuster.journeys import PacedUser, check_json
from doorbuster.scenarios.storefront import NEXT_RE, SKU_RE, check_page, shop_data, skewed

__all__ = ["BrowseShopper", "view_product"]

ADD_TO_CART_SHARE = 0.2


def view_product(user: PacedUser, sku: str) -> bool:
    """The product page and the stock call its page makes; both must show this product."""
    with user.client.get(f"/p/{quote(sku)}", name="GET /p/[sku]", catch_response=True) as resp:
        if check_page(resp, "product", f'data-sku="{sku}"', "<h1>") is None:
            return False
    with user.client.get(f"/api/products/{quote(sku)}", name="GET /api/products/[sku]", catch_response=True) as resp:
        body = check_json(resp, 200, "sku", "stock")
        if body is None:
            return False
        if body["sku"] != sku or not isinstance(body["stock"].get("available"), int):
            resp.failure(f"product {sku}: answer is for {body['sku']!r} or has no stock.available")
            return False
    return True


class BrowseShopper(PacedUser):
    journey = "browse"
    requests_per_iteration = 8.0
    think_pauses = 5.0

    def run_journey(self) -> None:
        with self.client.get("/", name="GET /", catch_response=True) as resp:
            if check_page(resp, "home", 'href="/c/') is None:
                return
        with self.client.get("/api/categories", name="GET /api/categories", catch_response=True) as resp:
            if check_json(resp) is None:
                return
        data = shop_data(self.host)
        if data is None:
            return
        self.think()
        slug = skewed(self.rng, data.categories, scale=0.3)
        skus: list[str] = []
        page = 1
        while True:
            url = f"/c/{quote(slug)}" + (f"?page={page}" if page > 1 else "")
            with self.client.get(url, name="GET /c/[slug]", catch_response=True) as resp:
                text = check_page(resp, "category")
                if text is None:
                    return
                found = SKU_RE.findall(text)
                has_next = bool(NEXT_RE.search(text))
            skus += found
            if not has_next or self.rng.random() > 0.4:
                break
            page += 1
            self.think()
        if not skus:
            return
        for _ in range(self.rng.choice((1, 2, 2, 3))):
            self.think()
            sku = skewed(self.rng, skus)
            if not view_product(self, sku):
                return
        if self.rng.random() < ADD_TO_CART_SHARE:
            self.think()
            with self.client.post("/api/carts", name="POST /api/carts", catch_response=True) as resp:
                cart = check_json(resp, 201, "cart_id")
            if cart is None:
                return
            item = {"sku": sku, "qty": 1}
            url = f"/api/carts/{quote(cart['cart_id'])}/items"
            with self.client.post(url, json=item, name="POST /api/carts/[cart_id]/items", catch_response=True) as resp:
                body = check_json(resp, 200, "items")
                if body is not None and not any(i.get("sku") == sku for i in body["items"]):
                    resp.failure(f"cart does not hold {sku} after adding it")
            # ...and leaves: an abandoned cart, as most are
