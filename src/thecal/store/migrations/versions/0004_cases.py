"""Cases (symptom reports and findings as open → acknowledged → closed, with call-back notes
and the notices sent), allergies, current oral medicines and medication reconciliations.

Revision ID: 0004_cases
Revises: 0003 (0003_scheduling, in main)
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004_cases'
down_revision = '0003'
branch_labels = None
depends_on = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=False)


def _fk(column: str, table: str, source: str) -> sa.ForeignKey:
    return sa.ForeignKey(f'{table}.id', name=op.f(f'fk_{source}_{column}_{table}'))


def upgrade() -> None:
    op.create_table('cases',
        sa.Column('id', _id(), autoincrement=True, nullable=False),
        sa.Column('patient_id', _id(), _fk('patient_id', 'patients', 'cases'), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('source_event_id', sa.String(length=64), nullable=True),
        sa.Column('finding_code', sa.String(length=60), nullable=True),
        sa.Column('urgency', sa.String(length=20), nullable=False),
        sa.Column('urgency_rank', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('opened_at', _ts(), nullable=False),
        sa.Column('opened_by', sa.String(length=100), nullable=False),
        sa.Column('patient_words', sa.Text(), nullable=False),
        sa.Column('symptoms', sa.JSON(), nullable=False),
        sa.Column('advice', sa.JSON(), nullable=False),
        sa.Column('acknowledged_by', sa.String(length=100), nullable=True),
        sa.Column('acknowledged_at', _ts(), nullable=True),
        sa.Column('closed_by', sa.String(length=100), nullable=True),
        sa.Column('closed_at', _ts(), nullable=True),
        sa.Column('outcome', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_cases')),
    )
    op.create_index('ix_cases_patient_status', 'cases', ['patient_id', 'status'])
    op.create_table('case_notes',
        sa.Column('id', _id(), autoincrement=True, nullable=False),
        sa.Column('case_id', _id(), _fk('case_id', 'cases', 'case_notes'), nullable=False),
        sa.Column('at', _ts(), nullable=False),
        sa.Column('author', sa.String(length=100), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_case_notes')),
    )
    op.create_index(op.f('ix_case_notes_case_id'), 'case_notes', ['case_id'])
    op.create_table('case_notices',
        sa.Column('id', _id(), autoincrement=True, nullable=False),
        sa.Column('case_id', _id(), _fk('case_id', 'cases', 'case_notices'), nullable=False),
        sa.Column('at', _ts(), nullable=False),
        sa.Column('channel', sa.String(length=20), nullable=False),
        sa.Column('recipient', sa.String(length=200), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_case_notices')),
    )
    op.create_index(op.f('ix_case_notices_case_id'), 'case_notices', ['case_id'])
    op.create_table('allergies',
        sa.Column('id', _id(), autoincrement=True, nullable=False),
        sa.Column('patient_id', _id(), _fk('patient_id', 'patients', 'allergies'),
                  nullable=False),
        sa.Column('kind', sa.String(length=30), nullable=False),
        sa.Column('substance', sa.String(length=200), nullable=False),
        sa.Column('reaction', sa.Text(), nullable=True),
        sa.Column('recorded_at', _ts(), nullable=False),
        sa.Column('recorded_by', sa.String(length=100), nullable=False),
        sa.Column('withdrawn_at', _ts(), nullable=True),
        sa.Column('withdrawn_by', sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_allergies')),
    )
    op.create_index(op.f('ix_allergies_patient_id'), 'allergies', ['patient_id'])
    op.create_table('medications',
        sa.Column('id', _id(), autoincrement=True, nullable=False),
        sa.Column('patient_id', _id(), _fk('patient_id', 'patients', 'medications'),
                  nullable=False),
        sa.Column('drug', sa.String(length=60), nullable=False),
        sa.Column('dose', sa.String(length=60), nullable=False),
        sa.Column('times_per_day', sa.Integer(), nullable=False),
        sa.Column('daily_dose_mg', sa.Float(), nullable=False),
        sa.Column('recorded_at', _ts(), nullable=False),
        sa.Column('recorded_by', sa.String(length=100), nullable=False),
        sa.Column('stopped_at', _ts(), nullable=True),
        sa.Column('stopped_by', sa.String(length=100), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_medications')),
    )
    op.create_index(op.f('ix_medications_patient_id'), 'medications', ['patient_id'])
    op.create_table('reconciliations',
        sa.Column('id', _id(), autoincrement=True, nullable=False),
        sa.Column('patient_id', _id(), _fk('patient_id', 'patients', 'reconciliations'),
                  nullable=False),
        sa.Column('occasion', sa.String(length=30), nullable=False),
        sa.Column('occasion_at', _ts(), nullable=False),
        sa.Column('at', _ts(), nullable=False),
        sa.Column('by', sa.String(length=100), nullable=False),
        sa.Column('medications', sa.JSON(), nullable=False),
        sa.Column('notes', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reconciliations')),
    )
    op.create_index(op.f('ix_reconciliations_patient_id'), 'reconciliations', ['patient_id'])


def downgrade() -> None:
    for table in ('reconciliations', 'medications', 'allergies', 'case_notices', 'case_notes',
                  'cases'):
        op.drop_table(table)
