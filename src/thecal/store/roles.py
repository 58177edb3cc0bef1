"""PostgreSQL: the application's database role, which does not own the tables.

Migrations run as the owner (the role that created the tables; it can create, alter and drop
them, triggers included). The server connects as a second role, made here, that may read and
write the mutable tables and only SELECT and INSERT on ``events`` and ``audit``: it cannot
UPDATE, DELETE or TRUNCATE them, and, not being the owner, cannot drop or disable the
append-only triggers. :func:`grant_app_role` is idempotent (run it after every upgrade so new
tables are granted too).
"""

from __future__ import annotations

import re
from typing import Final

from sqlalchemy import Connection, text

from thecal.errors import InputError
from thecal.store.tables import APPEND_ONLY_TABLES, metadata

_NAME: Final = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _quoted(name: str, what: str) -> str:
    if not _NAME.match(name):
        raise InputError(f"{name[:40]!r} is not a plain PostgreSQL name", where=what,
                         fix="use lower-case letters, digits and _")
    return f'"{name}"'


def grant_app_role(conn: Connection, role: str, *, create: bool = True) -> None:
    """Give ``role`` what the server needs and nothing more; make it (LOGIN) if missing."""
    if conn.dialect.name != "postgresql":
        raise InputError("database roles are a PostgreSQL feature", where="database",
                         fix="on SQLite, protect the database file's permissions instead")
    quoted = _quoted(role, "role")
    schema = str(conn.execute(text("SELECT current_schema()")).scalar_one())
    qschema = _quoted(schema, "schema")
    exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first()
    if exists is None:
        if not create:
            raise InputError(f"no database role {role!r}", where="role",
                             fix="create it, or leave out --no-create")
        # roles are cluster-wide: another schema's setup may make it at the same moment
        conn.execute(text(f"DO $$ BEGIN CREATE ROLE {quoted} LOGIN; "
                          "EXCEPTION WHEN duplicate_object THEN NULL; END $$"))
    owner = conn.execute(text("SELECT tableowner FROM pg_tables WHERE schemaname = :s "
                              "AND tablename = 'events'"), {"s": schema}).scalar()
    if owner == role:
        raise InputError(f"role {role!r} owns the tables; the server must use another role",
                         where="role", fix="pick a role that did not run the migrations")
    conn.execute(text(f"GRANT USAGE ON SCHEMA {qschema} TO {quoted}"))
    for table in metadata.sorted_tables:
        name = f"{qschema}.{_quoted(table.name, 'table')}"
        if table.name in APPEND_ONLY_TABLES:
            conn.execute(text(f"REVOKE ALL ON {name} FROM {quoted}"))
            conn.execute(text(f"GRANT SELECT, INSERT ON {name} TO {quoted}"))
        else:
            conn.execute(text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {name} TO {quoted}"))
    conn.execute(text(f"GRANT SELECT ON {qschema}.alembic_version TO {quoted}"))
    conn.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {qschema} TO {quoted}"))
