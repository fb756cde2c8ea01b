"""`python -m doorbuster.load.locustfile_check FILE`: what Locust's loader finds in a locustfile.

Run by `doorbuster load --locustfile` in a child process before any load (a locustfile is a
program: importing it patches and starts things). Its last stdout line is JSON:
{"users": [names]} or {"error": sentence}.
"""

import json
import sys

from locust import FastHttpUser  # noqa: F401  (gevent patches the standard library first)
from locust.util.load_locustfile import load_locustfile

from doorbuster.load.closed_users import plain_user_classes
from doorbuster.load.errors import LoadError


def describe(path: str) -> dict[str, object]:
    try:
        users, _shapes = load_locustfile(path)
    except SystemExit as exc:
        return {"error": f"it exited ({exc.code}) while being imported"}
    except Exception as exc:  # a user's program: whatever it raises is the answer
        return {"error": f"importing it raised {type(exc).__name__}: {exc}"}
    if not users:
        return {"error": "defines no User class (Locust would find no user to run)"}
    try:
        plain_user_classes(users.values())
    except LoadError as exc:
        return {"error": str(exc)}
    return {"users": sorted(users)}


if __name__ == "__main__":
    print(json.dumps(describe(sys.argv[1])), flush=True)
