"""A plain Locust script, as you may already have one: it runs as is under Doorbuster.

    doorbuster load --host http://127.0.0.1:8090 --locustfile docs/examples/closed_locustfile.py \
        --shape steady --shape-args multiplier=2,duration=15s --profile docs/examples/teashop_profile.yaml

Its users wait their own wait_time (the closed model): the shape sets how many run, and the
report says their latency is not corrected for coordinated omission.
"""

from locust import FastHttpUser, between, task


class Shopper(FastHttpUser):
    wait_time = between(0.5, 1.5)

    @task(3)
    def teas(self) -> None:
        self.client.get("/teas")

    @task
    def sencha(self) -> None:
        self.client.get("/teas/sencha", name="/teas/[code]")
