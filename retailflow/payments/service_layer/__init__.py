"""Use cases: authorize, capture, void."""
