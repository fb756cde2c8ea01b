"""Locustfiles shipped in the package, alone in their folder: Locust puts a locustfile's folder on
sys.path while it loads it, and no module of the engine may shadow another module then."""
