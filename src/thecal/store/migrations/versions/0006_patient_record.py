"""Subscribable calendar links per patient (the token stored hashed, revocable).

Revision ID: 0006
Revises: 0003 (the coordinator chains it after issue 11's 0004 and 0005)
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005_refill_records'
branch_labels = None
depends_on = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table('calendar_links',
        sa.Column('id', _id(), autoincrement=True, nullable=False),
        sa.Column('patient_id', _id(),
                  sa.ForeignKey('patients.id', name=op.f('fk_calendar_links_patient_id_patients')),
                  nullable=False),
        sa.Column('token_hash', sa.String(64), nullable=False),
        sa.Column('created_by', sa.String(100), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=False), nullable=False),
        sa.Column('revoked_by', sa.String(100), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=False), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_links')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_calendar_links_token_hash')))
    op.create_index('ix_calendar_links_patient_id', 'calendar_links', ['patient_id'])


def downgrade() -> None:
    op.drop_index('ix_calendar_links_patient_id', table_name='calendar_links')
    op.drop_table('calendar_links')
