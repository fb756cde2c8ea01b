"""The catalog's model: pure data and rules, importing nothing outside the standard library."""
