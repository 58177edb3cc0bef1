"""The key of the hash chains (HMAC-SHA-256), kept in a file outside the database.

Whoever can write the database but not read this file cannot forge a row and re-hash the rows
after it: every hash of the audit trail and of the event log is an HMAC under this key.

Where the key lives:

* ``$THECAL_CHAIN_KEY_FILE`` when set (a server names a path the database account cannot read);
* else, for a SQLite file ``x.sqlite3``, the file ``x.sqlite3.chain-key`` beside it;
* else (PostgreSQL, in-memory SQLite) ``<user config dir>/thecal/chain-<digest of the URL>.key``.

The file is created on first use with ``O_EXCL`` and mode 0600 (owner read/write only); an
existing key file that group or others may read or write is refused with the command that
fixes it. The key is 32 random bytes, stored hex-encoded on one line.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import stat
from pathlib import Path
from typing import Final

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import URL, make_url

from thecal.errors import InputError

ENV_VAR: Final = "THECAL_CHAIN_KEY_FILE"
KEY_BYTES: Final = 32
_cache: dict[str, bytes] = {}


def _url_text(url: URL) -> str:
    """The database's address without the account: the owner and the app role share one key."""
    return url.set(username=None, password=None).render_as_string(hide_password=True)


def key_path_for(url: URL | str) -> Path:
    """Where the chain key of the database at ``url`` is kept (see the module docstring)."""
    parsed = make_url(url) if isinstance(url, str) else url
    explicit = os.environ.get(ENV_VAR)
    if explicit:
        return Path(explicit).expanduser()
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return Path(str(parsed.database)).expanduser().with_name(
            Path(str(parsed.database)).name + ".chain-key")
    from platformdirs import user_config_dir

    digest = hashlib.sha256(_url_text(parsed).encode()).hexdigest()[:16]
    return Path(user_config_dir("thecal", appauthor=False)) / f"chain-{digest}.key"


def _read(path: Path) -> bytes:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InputError(f"the chain key file {path} may be read or written by others",
                         where="chain key", fix=f"run: chmod 600 {path}")
    text = path.read_text(encoding="ascii").strip()
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise InputError(f"the chain key file {path} does not hold a {KEY_BYTES}-byte hex key",
                         where="chain key", fix="restore the key file from its backup")
    return key


def _create(path: Path) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(KEY_BYTES)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return _read(path)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key.hex() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    return key


def load_key(url: URL | str, *, create: bool = True) -> bytes:
    """The key for the database at ``url`` (made on first use when ``create``)."""
    parsed = make_url(url) if isinstance(url, str) else url
    path = key_path_for(parsed)
    cache_key = f"{path}|{_url_text(parsed)}"
    cached = _cache.get(cache_key)
    if cached is not None:
        return cached
    if path.exists():
        key = _read(path)
    elif create:
        key = _create(path)
    else:
        raise InputError(f"no chain key at {path}", where="chain key",
                         fix=f"restore the key file, or set {ENV_VAR} to its path")
    _cache[cache_key] = key
    return key


def key_of(conn: Connection | Engine) -> bytes:
    """The chain key of the database ``conn`` talks to."""
    engine = conn.engine if isinstance(conn, Connection) else conn
    return load_key(engine.url)


def forget_cached_keys() -> None:
    """Drop the in-process cache (tests that move or remove a key file)."""
    _cache.clear()
