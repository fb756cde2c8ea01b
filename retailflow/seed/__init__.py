"""The shop's seed data: one deterministic catalog (categories, products, stock, doorbusters,
customers) that every service's init job loads from the same seed."""
