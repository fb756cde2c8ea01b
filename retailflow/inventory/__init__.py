"""Inventory: stock and reservations, the source of truth for stock; dual-writes to legacy."""
