"""Notifications: a message to the customer for every order that was confirmed or failed."""
