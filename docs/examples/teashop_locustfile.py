"""The tea shop's journeys, on Doorbuster's public journeys API (doorbuster.journeys).

    doorbuster load --host http://127.0.0.1:8090 --locustfile docs/examples/teashop_locustfile.py \
        --profile docs/examples/teashop_profile.yaml --shape ramp --shape-args steps=1/2,hold=20s

Each PacedUser names its journey (the profile's mix uses the name), states what an iteration
costs (it sizes the user pool) and implements run_journey(). Iterations start when the plan
says, and latency is measured from that intended start.
"""

import uuid

from doorbuster.journeys import PacedUser, business_answer, check_json, check_text, confirmed_order


class TeaJourney(PacedUser):
    abstract = True  # not a journey of its own: what both journeys share
    requests_per_iteration = 2
    think_pauses = 1

    def teas(self) -> list[dict[str, object]] | None:
        """Every journey opens the list of teas; None when the shop did not answer it properly."""
        with self.client.get("/teas", name="GET /teas", catch_response=True) as resp:
            return check_json(resp, 200)


class TeaBrowser(TeaJourney):
    journey = "browse"

    def run_journey(self) -> None:
        teas = self.teas()
        if not teas:
            return
        self.think()
        code = self.rng.choice(teas)["code"]
        with self.client.get(f"/teas/{code}", name="GET /teas/[code]", catch_response=True) as resp:
            check_text(resp, f'data-tea="{code}"')  # a 200 with the wrong page is a failure


class TeaBuyer(TeaJourney):
    journey = "buy"

    def run_journey(self) -> None:
        if self.teas() is None:
            return
        self.think()
        tea = self.rng.choice(["sencha", "assam", "gyokuro"])
        card = "tok_declined" if self.rng.random() < 0.05 else "tok_ok"
        key = str(uuid.UUID(int=self.rng.getrandbits(128)))
        with self.client.post(
            "/orders", json={"tea": tea, "qty": 1, "card": card}, headers={"Order-Key": key},
            name="POST /orders", catch_response=True,
        ) as resp:  # fmt: skip
            if resp.status_code in (402, 409):
                answer = check_json(resp, resp.status_code, "reason")
                if answer is not None and answer["reason"] in ("card_declined", "out_of_stock"):
                    business_answer(resp, answer["reason"])  # the shop said no on purpose: not an error
                elif answer is not None:
                    resp.failure(f"status {resp.status_code} with reason {answer['reason']!r}")
                return
            order = check_json(resp, 201, "order", "qty", "total_cents")
            if order is not None:
                # into ledger.csv, which the tea shop's audit checks against its own books
                items = [{"sku": tea, "qty": order["qty"]}]
                confirmed_order(self, resp, order["order"], key, items, order["total_cents"])
