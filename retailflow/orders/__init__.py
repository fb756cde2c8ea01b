"""Orders: carts, event-sourced orders and the checkout saga."""
