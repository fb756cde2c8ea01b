"""Doorbuster's hooks and options for any locustfile, and no User class of its own.

`locust -f <this file>,mine.py --shape steady ...` (or `import doorbuster.suite` at the top of
mine.py) gives mine.py's users our shapes, profiles, recording, safety rules and run folder;
`doorbuster load --locustfile mine.py` does this for you. Nothing here is a user, so
RetailFlow's journeys never reach someone else's shop.
"""

from locust import FastHttpUser  # noqa: F401  (gevent patches the standard library first)

import doorbuster.load.wiring  # noqa: F401  (options and event hooks; defines no User)
