"""Databases for tests and benchmarks: a fresh SQLite file, or a fresh PostgreSQL schema.

PostgreSQL is looked for at ``$THECAL_TEST_POSTGRES`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``). Each call of :func:`fresh_postgres`
creates its own schema (``thecal_<random>``) and returns a URL whose connections use it
(``options=-csearch_path=...``), so concurrent runs never collide; :func:`drop_postgres`
removes it.
"""

from __future__ import annotations

import os
import secrets
import socket
from typing import Final
from urllib.parse import quote

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

DEFAULT_POSTGRES: Final = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def postgres_base_url() -> str:
    return os.environ.get("THECAL_TEST_POSTGRES", DEFAULT_POSTGRES)


def postgres_unavailable_reason() -> str | None:
    """None when PostgreSQL answers; else why not (for a pytest skip message)."""
    url = make_url(postgres_base_url())
    host, port = url.host or "127.0.0.1", url.port or 5432
    try:
        with socket.create_connection((host, port), timeout=1.0):
            pass
    except OSError as exc:
        return f"PostgreSQL not reachable at {host}:{port} ({exc}); set THECAL_TEST_POSTGRES"
    engine = create_engine(postgres_base_url())
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except OperationalError as exc:
        return f"PostgreSQL at {host}:{port} refused the connection: {exc.orig}"
    finally:
        engine.dispose()
    return None


def fresh_postgres() -> str:
    """Create an empty schema and return a URL that uses it."""
    schema = f"thecal_{secrets.token_hex(6)}"
    engine = create_engine(postgres_base_url(), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    finally:
        engine.dispose()
    base = postgres_base_url()
    joiner = "&" if "?" in base else "?"
    return f"{base}{joiner}options={quote(f'-csearch_path={schema}')}"


def schema_of(url: str) -> str | None:
    options = make_url(url).query.get("options")
    text_ = options if isinstance(options, str) else (options[0] if options else "")
    prefix = "-csearch_path="
    return text_[len(prefix):] if text_.startswith(prefix) else None


def drop_postgres(url: str) -> None:
    schema = schema_of(url)
    if not schema or not schema.startswith("thecal_"):
        return
    engine = create_engine(postgres_base_url(), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        engine.dispose()
