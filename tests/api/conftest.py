"""Fixtures for the API tests: a small clinic on SQLite, the app, a client, role tokens
(shared with the security suite: :mod:`app_client`)."""

from app_client import client, tokens, world

__all__ = ["client", "tokens", "world"]
