"""`import doorbuster.suite` at the top of a locustfile: our options and hooks, no User class.

Then `locust -f mine.py --host URL --shape steady --shape-args duration=60 --run-dir run`
records mine.py's users into the run folder under our shape and safety rules.
"""

from locust import FastHttpUser  # noqa: F401  (gevent patches the standard library first)

import doorbuster.load.wiring  # noqa: F401  (options and event hooks; defines no User)
