"""The shop's edge: storefront pages, the public `/api`, circuit breakers and rate limiting."""
