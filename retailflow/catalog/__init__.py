"""The catalog service: products, categories and full-text search, read-through cached."""
