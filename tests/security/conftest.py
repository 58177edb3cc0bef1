"""Fixtures of the security suite: the small clinic (``world``) on SQLite — the modules whose
findings depend on the database (tamper, throttle race) put it on both back ends —, the app
over it, and bearer tokens for every role (shared with the API suite: :mod:`app_client`)."""

from app_client import client, tokens, world

__all__ = ["client", "tokens", "world"]
