"""Pytest configuration: shared fixtures live in botkit.py."""

pytest_plugins = ["botkit"]
