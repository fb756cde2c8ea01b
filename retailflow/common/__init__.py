"""What every RetailFlow service shares: config, app factory, stores, cache, bus, outbox."""
