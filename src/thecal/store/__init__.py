"""The clinic's database: tables, event store, audit chain, migrations.

``db`` finds and opens the database (SQLite by default, PostgreSQL by URL), ``migrate`` runs
the Alembic migrations shipped in ``migrations/``, ``tables`` declares the schema, and
``records``, ``events``, ``auth`` and ``audit`` are the row-level functions the service layer
calls inside its transactions. Nothing here decides policy (who may, what is valid).
"""
