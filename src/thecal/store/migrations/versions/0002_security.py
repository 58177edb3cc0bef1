"""Security: a keyed event chain, no REPLACE on SQLite, idempotency bound to the request.

* ``events`` gains ``prev_hash`` and ``hash`` (HMAC-SHA-256 under the chain key kept outside
  the database, see ``thecal.store.chainkey``) and ``request_digest`` (what an idempotency key
  was first used for). Existing events are chained in id order.
* The audit trail is re-hashed with the key (its rows were plain SHA-256 before).
* SQLite: a ``BEFORE INSERT`` trigger on ``events`` and on ``audit`` refuses an insert that
  would replace an existing row (``INSERT OR REPLACE`` deletes the old row without firing a
  DELETE trigger).
* ``login_attempts`` gains an index for throttling per account and source.

On PostgreSQL, UPDATE/DELETE/TRUNCATE stay refused by the 0001 triggers; in addition the
application should connect as a role that does not own the tables (``thecal db grant-app-role``).

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

_NO_REPLACE = {
    "events": ("id = NEW.id OR (patient_id = NEW.patient_id AND (seq = NEW.seq "
               "OR event_id = NEW.event_id OR idempotency_key = NEW.idempotency_key))"),
    "audit": "id = NEW.id",
}


def _rechain(bind: Any) -> None:
    """Chain the existing events and re-hash the audit trail under the key."""
    from thecal.store import audit as audit_store
    from thecal.store import events as event_store
    from thecal.store.chainkey import key_of

    key = key_of(bind)
    events = sa.table("events", sa.column("id"), sa.column("prev_hash"), sa.column("hash"))
    previous = audit_store.GENESIS
    for row in list(event_store.iter_events(bind)):
        row = {**row, "prev_hash": previous}
        digest = event_store.event_hash(row, key)
        bind.execute(sa.update(events).where(events.c.id == row["id"])
                     .values(prev_hash=previous, hash=digest))
        previous = digest
    audit = sa.table("audit", sa.column("id"), sa.column("prev_hash"), sa.column("hash"))
    previous = audit_store.GENESIS
    for row in list(audit_store.iter_rows(bind)):
        row = {**row, "prev_hash": previous}
        digest = audit_store.row_hash(row, key)
        bind.execute(sa.update(audit).where(audit.c.id == row["id"])
                     .values(prev_hash=previous, hash=digest))
        previous = digest


def _set_append_only(bind: Any, enabled: bool) -> None:
    for table in ("events", "audit"):
        if bind.dialect.name == "sqlite":
            if enabled:
                for operation in ("UPDATE", "DELETE"):
                    op.execute(
                        f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON "
                        f"{table} BEGIN SELECT RAISE(ABORT, '{table} is append-only: "
                        f"{operation} refused'); END")
            else:
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        else:
            verb = "ENABLE" if enabled else "DISABLE"
            op.execute(f"ALTER TABLE {table} {verb} TRIGGER {table}_append_only")


def upgrade() -> None:
    bind = op.get_bind()
    op.add_column("events", sa.Column("request_digest", sa.String(length=64), nullable=True))
    op.add_column("events", sa.Column("prev_hash", sa.String(length=64), nullable=True))
    op.add_column("events", sa.Column("hash", sa.String(length=64), nullable=True))
    op.create_index("ix_login_attempts_username_client_at", "login_attempts",
                    ["username", "client", "at"])
    _set_append_only(bind, False)
    _rechain(bind)
    _set_append_only(bind, True)
    if bind.dialect.name == "sqlite":
        for table, clash in _NO_REPLACE.items():
            op.execute(
                f"CREATE TRIGGER {table}_no_replace BEFORE INSERT ON {table} "
                f"WHEN EXISTS (SELECT 1 FROM {table} WHERE {clash}) "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: REPLACE refused'); END")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for table in _NO_REPLACE:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_replace")
    op.drop_index("ix_login_attempts_username_client_at", table_name="login_attempts")
    _set_append_only(bind, False)
    with op.batch_alter_table("events") as batch_op:
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("request_digest")
    _set_append_only(bind, True)
