"""Use cases: turn an order event into one stored message."""
