"""A tiny tea shop to try "Your own shop" on (README): `python docs/examples/teashop.py 8090`.

Not RetailFlow: its own routes, its own checkout (POST /orders with an Order-Key header) and
its own answers (409 out_of_stock, 402 card_declined). `/admin/export` is what its audit
reads. Standard library only; state lives in memory.

`--sabotage` makes it lose every third order it confirms (the client gets its 201, the books
never see it): only the shop's own audit can tell, and the game day's verdict is then NO-GO.
"""

import itertools
import json
import sys
import threading
import uuid
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STOCK = {"sencha": 500, "assam": 500, "gyokuro": 10}  # gyokuro: the rare one everybody wants
PRICE_CENTS = {"sencha": 900, "assam": 700, "gyokuro": 4200}
SABOTAGE = "--sabotage" in sys.argv
confirmations = itertools.count(1)
left = dict(STOCK)
orders: dict[str, dict[str, object]] = {}
answers: dict[str, tuple[int, dict[str, object]]] = {}  # Order-Key -> first answer (idempotent)
lock = threading.Lock()


class TeaShop(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, status: int, body: object, kind: str = "application/json") -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path == "/teas":
            with lock:
                return self.reply(200, [{"code": c, "price_cents": PRICE_CENTS[c], "left": n} for c, n in left.items()])
        if self.path.startswith("/teas/") and self.path[6:] in STOCK:
            code = self.path[6:]
            return self.reply(200, f'<main data-tea="{code}"><h1>{code}</h1></main>'.encode(), "text/html")
        if self.path == "/admin/export":
            with lock:
                return self.reply(200, {"stock": STOCK, "left": left, "orders": orders})
        self.reply(404, {"reason": "not_found"})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        key = self.headers.get("Order-Key")
        code, qty = body.get("tea"), int(body.get("qty", 1))
        if self.path != "/orders" or not key or code not in STOCK or qty < 1:
            return self.reply(400, {"reason": "bad_order"})
        with lock:
            if key not in answers:
                if body.get("card") == "tok_declined":
                    answers[key] = (402, {"reason": "card_declined"})
                elif left[code] < qty:
                    answers[key] = (409, {"reason": "out_of_stock", "tea": code})
                else:
                    left[code] -= qty
                    order = {
                        "order": uuid.uuid4().hex[:12],
                        "tea": code,
                        "qty": qty,
                        "total_cents": PRICE_CENTS[code] * qty,
                        "at": datetime.now(UTC).isoformat(),
                    }
                    if SABOTAGE and next(confirmations) % 3 == 0:  # confirmed to the client, never kept
                        left[code] += qty
                    else:
                        orders[str(order["order"])] = order
                    answers[key] = (201, order)
            status, answer = answers[key]
        self.reply(status, answer)

    def log_message(self, *args: object) -> None:
        pass


if __name__ == "__main__":
    port = next((int(arg) for arg in sys.argv[1:] if arg.isdigit()), 8090)
    server = ThreadingHTTPServer(("127.0.0.1", port), TeaShop)
    server.daemon_threads = True
    print(f"tea shop on http://127.0.0.1:{server.server_port}" + (" (sabotaged)" if SABOTAGE else ""), flush=True)
    server.serve_forever()
