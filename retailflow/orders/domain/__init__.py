"""The orders domain: pure Python, no framework, no driver."""
