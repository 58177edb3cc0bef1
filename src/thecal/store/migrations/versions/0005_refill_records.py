"""Refill records: a pending confirmation points at the refill already recorded, is escalated
(never expired) and is decided with a reason and a corrective action.

Revision ID: 0005_refill_records
Revises: 0004_cases
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005_refill_records'
down_revision = '0004_cases'
branch_labels = None
depends_on = None

_COLUMNS = (
    ('event_id', lambda: sa.String(length=64)),
    ('escalated_at', lambda: sa.DateTime(timezone=False)),
    ('notified_at', lambda: sa.DateTime(timezone=False)),
    ('notify_detail', lambda: sa.Text()),
    ('decision_reason', lambda: sa.Text()),
    ('corrective_action', lambda: sa.Text()),
)


def upgrade() -> None:
    with op.batch_alter_table('pending') as batch:
        for name, kind in _COLUMNS:
            batch.add_column(sa.Column(name, kind(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('pending') as batch:
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)
