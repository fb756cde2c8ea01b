"""The notifications domain: which order events become which message."""
