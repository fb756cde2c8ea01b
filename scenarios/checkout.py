"""Checkout: find products -> add to cart -> view cart -> checkout (Idempotency-Key) -> pay -> confirmation.

A share of checkouts (profile: doorbuster_share) race for the limited-stock doorbuster SKUs;
"sold out" (409) and a declined payment (402) are correct business answers, not errors.
Every order the shop confirms goes to the ledger, which the audit checks against the shop.
"""

from __future__ import annotations

import uuid
from urllib.parse import quote, urlencode

from locust import FastHttpUser  # noqa: F401  (gevent patches first)

from doorbuster.journeys import PacedUser, business_answer, check_json, confirmed_order
from doorbuster.scenarios.storefront import ShopData, check_page, shop_data, skewed

__all__ = ["CheckoutShopper"]

# A client retries a placement that got no answer (or a 5xx) with the same key: the shop
# must answer the first outcome, so the ledger never holds one order twice.
PLACE_ATTEMPTS = 3


class CheckoutShopper(PacedUser):
    journey = "checkout"
    requests_per_iteration = 8.2
    think_pauses = 4.0

    def run_journey(self) -> None:
        data = shop_data(self.host)
        if data is None:
            with self.client.get("/", name="GET /", catch_response=True) as resp:
                check_page(resp, "home")
            return
        doorbuster = bool(data.doorbusters) and self.rng.random() < self.profile.doorbuster_share
        wanted = self.pick_items(data, doorbuster=doorbuster)
        if not wanted:
            return
        self.think()
        sku = str(wanted[0]["sku"])
        with self.client.get(f"/p/{quote(sku)}", name="GET /p/[sku]", catch_response=True) as resp:
            if check_page(resp, "product", f'data-sku="{sku}"') is None:
                return
        with self.client.post("/api/carts", name="POST /api/carts", catch_response=True) as resp:
            cart = check_json(resp, 201, "cart_id")
        if cart is None:
            return
        cart_id = cart["cart_id"]
        for item in wanted:
            url = f"/api/carts/{quote(cart_id)}/items"
            with self.client.post(url, json=item, name="POST /api/carts/[cart_id]/items", catch_response=True) as resp:
                body = check_json(resp, 200, "items")
                if body is None:
                    return
                if not any(i.get("sku") == item["sku"] for i in body["items"]):
                    resp.failure(f"cart does not hold {item['sku']} after adding it")
                    return
        self.think()
        query = urlencode({"cart_id": cart_id})
        needles = [f'data-sku="{i["sku"]}"' for i in wanted]
        with self.client.get(f"/cart?{query}", name="GET /cart", catch_response=True) as resp:
            if check_page(resp, "cart", f'data-cart-id="{cart_id}"', *needles) is None:
                return
        self.think()
        with self.client.get(f"/checkout?{query}", name="GET /checkout", catch_response=True) as resp:
            if check_page(resp, "checkout", *needles) is None:
                return
        order_id = self.place_order(cart_id, wanted)
        if order_id is None:
            return
        self.think()
        with self.client.get(f"/orders/{quote(order_id)}", name="GET /orders/[order_id]", catch_response=True) as resp:
            check_page(resp, "order", f'data-order-id="{order_id}"', 'data-status="confirmed"')

    def pick_items(self, data: ShopData, *, doorbuster: bool) -> list[dict[str, object]]:
        """What the shopper came for: one doorbuster, or one or two popular products."""
        if doorbuster:
            product = self.rng.choice(data.doorbusters)
            with self.client.get("/api/doorbusters", name="GET /api/doorbusters", catch_response=True) as resp:
                body = check_json(resp)
                if body is None:
                    return []
                if not any(p.get("sku") == product["sku"] for p in body):
                    resp.failure(f"doorbuster {product['sku']} is missing from /api/doorbusters")
                    return []
            return [{"sku": product["sku"], "qty": 1}]
        category = skewed(self.rng, data.categories, scale=0.3)
        params = urlencode({"category": category, "page": 1, "per_page": 24})
        with self.client.get(f"/api/products?{params}", name="GET /api/products", catch_response=True) as resp:
            body = check_json(resp, 200, "items", "total")
            if body is None:
                return []
            items = [p for p in body["items"] if not p.get("doorbuster")]
            allowed = data.family.get(category, frozenset({category}))
            if any(p.get("category") not in allowed for p in items):
                resp.failure(f"products of category {category!r} include another category")
                return []
        if not items:
            return []
        count = 1 if self.rng.random() < 0.7 else 2
        chosen = {skewed(self.rng, items)["sku"] for _ in range(count)}
        return [{"sku": sku, "qty": self.rng.choice((1, 1, 1, 2))} for sku in sorted(chosen)]

    def place_order(self, cart_id: str, wanted: list[dict[str, object]]) -> str | None:
        key = str(uuid.UUID(int=self.rng.getrandbits(128)))
        body = {"cart_id": cart_id, "payment_token": "tok_visa", "customer_id": f"shopper-{self.rng.randrange(1000)}"}
        headers = {"Idempotency-Key": key}
        for attempt in range(PLACE_ATTEMPTS):
            with self.client.post(
                "/api/orders", json=body, headers=headers, name="POST /api/orders", catch_response=True
            ) as resp:
                status = resp.status_code
                if status in (409, 402):
                    answer = check_json(resp, status, "error")
                    expected = "sold_out" if status == 409 else "payment_declined"
                    if answer is not None and answer["error"] != expected:
                        resp.failure(f"status {status} with error {answer['error']!r}, expected {expected!r}")
                    elif answer is not None:
                        business_answer(resp, expected)
                    return None  # nothing was bought
                if status == 0 or status >= 500:
                    resp.failure(f"no answer to the order (status {status}), attempt {attempt + 1}")
                    continue  # retry with the same key
                order = check_json(resp, 201, "order_id", "status", "items", "total_cents")
                if order is None:
                    return None
                if order["status"] != "confirmed":
                    resp.failure(f"order {order['order_id']} is {order['status']!r}, expected 'confirmed'")
                    return None
                bought = {(i.get("sku"), i.get("qty")) for i in order["items"]}
                if bought != {(i["sku"], i["qty"]) for i in wanted}:
                    resp.failure(f"order {order['order_id']} holds {sorted(bought)}, the cart held {wanted}")
                    return None
                items = [{"sku": i["sku"], "qty": i["qty"]} for i in order["items"]]
                confirmed_order(self, resp, order["order_id"], key, items, order["total_cents"])
            return str(order["order_id"])
        return None
