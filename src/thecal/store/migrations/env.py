"""Alembic environment, configured in code: the connection comes from ``thecal.store.migrate``.

No ``alembic.ini`` is needed: :func:`thecal.store.migrate.upgrade` builds the configuration,
opens a transaction and hands its connection over in ``config.attributes["connection"]``.
"""

from __future__ import annotations

from alembic import context

from thecal.store.tables import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only through thecal.store.migrate
    raise RuntimeError("run migrations through thecal.store.migrate.upgrade(engine)")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
