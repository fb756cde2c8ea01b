"""The tea shop's audit: its own books against the orders it confirmed to clients.

    doorbuster load ... --audit-cmd "python docs/examples/teashop_audit.py"
    doorbuster integrity runs/<run-id> --host http://127.0.0.1:8090 --audit-cmd "python docs/examples/teashop_audit.py"

Doorbuster passes $DOORBUSTER_TARGET (the shop), $DOORBUSTER_LEDGER (ledger.csv) and
$DOORBUSTER_AUDIT_JSON (where audit.json goes); audit.json has the contract's shape
(docs/contracts.md): {"ok", "checked_at", "invariants": [{"name", "ok", "violations", "details"}]}.
Exit 0 clean, 1 an invariant broken; anything else means the audit itself failed.
"""

import csv
import json
import os
import sys
import urllib.request
from datetime import UTC, datetime

books = json.load(urllib.request.urlopen(os.environ["DOORBUSTER_TARGET"].rstrip("/") + "/admin/export", timeout=10))
ledger_path = os.environ["DOORBUSTER_LEDGER"]
ledger = []
if os.path.exists(ledger_path):  # no ledger.csv: no order was confirmed
    with open(ledger_path, newline="", encoding="utf-8") as file:
        ledger = list(csv.DictReader(file))

lost = [row["order_id"] for row in ledger if row["order_id"] not in books["orders"]]
sold: dict[str, int] = {}
for order in books["orders"].values():
    sold[order["tea"]] = sold.get(order["tea"], 0) + order["qty"]
left = books["left"]
off = [tea for tea, start in books["stock"].items() if left[tea] + sold.get(tea, 0) != start or left[tea] < 0]

invariants = [
    {"name": "orders_kept", "ok": not lost, "violations": len(lost),
     "details": [{"order": o, "problem": "confirmed to a client, missing from the books"} for o in lost[:50]]},
    {"name": "stock_adds_up", "ok": not off, "violations": len(off),
     "details": [{"tea": t, "problem": "left + sold differs from the starting stock"} for t in off]},
]  # fmt: skip
audit = {"ok": not lost and not off, "checked_at": datetime.now(UTC).isoformat(), "invariants": invariants}
with open(os.environ["DOORBUSTER_AUDIT_JSON"], "w", encoding="utf-8") as out:
    json.dump(audit, out, indent=2)
sys.exit(0 if audit["ok"] else 1)
