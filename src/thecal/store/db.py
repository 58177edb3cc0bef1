"""Database location and engine: SQLite by default (WAL, synchronous=FULL), PostgreSQL by URL.

The default is a SQLite file in the user's data folder (platformdirs); ``THECAL_DATABASE_URL``
or an explicit URL (``--database``) overrides it. Every SQLite connection gets, through an
engine event, ``journal_mode=WAL``, ``synchronous=FULL``, ``foreign_keys=ON``,
``recursive_triggers=ON`` (so REPLACE's implicit delete meets the append-only triggers) and a
busy timeout (safety-requirements DU-1, LD-1), and every transaction starts with ``BEGIN
IMMEDIATE`` so writers queue on the busy timeout instead of failing half-way. On PostgreSQL
every transaction first takes one advisory lock, which serialises writers so the audit hash
chain stays a chain (AU-2).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Final

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import NullPool

from thecal.errors import InputError

ENV_VAR: Final = "THECAL_DATABASE_URL"
SQLITE_BUSY_TIMEOUT_MS: Final = 10_000
WRITE_LOCK_KEY: Final = 0x7468_6563  # "thec": one advisory lock for clinic writes


def default_database_path() -> Path:
    """``<user data dir>/thecal/thecal.sqlite3`` (platformdirs)."""
    from platformdirs import user_data_dir

    return Path(user_data_dir("thecal", appauthor=False)) / "thecal.sqlite3"


def database_url(explicit: str | None = None) -> str:
    """The URL to use: ``explicit``, else ``$THECAL_DATABASE_URL``, else the default file."""
    if explicit:
        return normalise_url(explicit)
    from_env = os.environ.get(ENV_VAR)
    if from_env:
        return normalise_url(from_env)
    path = default_database_path()
    return f"sqlite:///{path}"


def normalise_url(url: str) -> str:
    """Accept ``postgresql://`` and ``postgres://`` as psycopg 3; refuse other back ends."""
    text = url.strip()
    if text.startswith("postgres://"):
        text = "postgresql://" + text[len("postgres://"):]
    if text.startswith("postgresql://"):
        text = "postgresql+psycopg://" + text[len("postgresql://"):]
    try:
        parsed = make_url(text)
    except ArgumentError as exc:
        raise InputError(f"{url!r} is not a database URL", where="database",
                         fix="use sqlite:///path/to/file.sqlite3 or "
                             "postgresql+psycopg://user@host/dbname") from exc
    if parsed.get_backend_name() not in {"sqlite", "postgresql"}:
        raise InputError(f"unsupported database {parsed.get_backend_name()!r}",
                         where="database", fix="use SQLite or PostgreSQL")
    if parsed.get_backend_name() == "postgresql" and parsed.get_driver_name() != "psycopg":
        raise InputError("PostgreSQL is used through psycopg 3", where="database",
                         fix="write the URL as postgresql+psycopg://...")
    return text


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event issue BEGIN IMMEDIATE instead of pysqlite's deferred BEGIN.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
        # REPLACE's implicit delete then fires the append-only DELETE triggers too
        cursor.execute("PRAGMA recursive_triggers = ON")
    finally:
        cursor.close()


def _sqlite_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _postgres_begin(connection: Any) -> None:
    connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine with the durability settings of this module on every connection."""
    url = normalise_url(url)
    parsed = make_url(url)
    engine: Engine
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, poolclass=NullPool if database in {"", ":memory:"}
                               else None, connect_args={"check_same_thread": False,
                                                        "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        engine = create_engine(url, echo=echo, pool_pre_ping=True)
        event.listen(engine, "begin", _postgres_begin)
    return engine
