"""The clinic calendar: sessions and their staff, staff absences, visit needs, appointments, escalations.

Revision ID: 0003
Revises: 0001 (the coordinator chains it after 0002_security at merge)
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _ts() -> sa.DateTime:
    return sa.DateTime(timezone=False)


def upgrade() -> None:
    op.create_table('clinic_sessions',
        sa.Column('id', _id(), autoincrement=True, nullable=False),
        sa.Column('site_id', _id(), sa.ForeignKey('sites.id', name=op.f('fk_clinic_sessions_site_id_sites')),
                  nullable=False),
        sa.Column('kind', sa.String(10), nullable=False),
        sa.Column('starts_at', _ts(), nullable=False),
        sa.Column('ends_at', _ts(), nullable=False),
        sa.Column('place', sa.String(200), nullable=False),
        sa.Column('slot_minutes', sa.Integer(), nullable=False),
        sa.Column('cancelled', sa.Boolean(), nullable=False),
        sa.Column('created_at', _ts(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_clinic_sessions')))
    op.create_index('ix_clinic_sessions_site_id', 'clinic_sessions', ['site_id'])
    op.create_index('ix_clinic_sessions_starts_at', 'clinic_sessions', ['starts_at'])
    op.create_table('clinic_session_staff',
        sa.Column('session_id', _id(), sa.ForeignKey(
            'clinic_sessions.id', name=op.f('fk_clinic_session_staff_session_id_clinic_sessions')), nullable=False),
        sa.Column('user_id', _id(), sa.ForeignKey('users.id', name=op.f('fk_clinic_session_staff_user_id_users')),
                  nullable=False),
        sa.PrimaryKeyConstraint('session_id', 'user_id', name=op.f('pk_clinic_session_staff')))
    op.create_table('staff_absences',
        sa.Column('id', _id(), autoincrement=True, nullable=False),
        sa.Column('user_id', _id(), sa.ForeignKey('users.id', name=op.f('fk_staff_absences_user_id_users')),
                  nullable=False),
        sa.Column('starts_at', _ts(), nullable=False),
        sa.Column('ends_at', _ts(), nullable=False),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('created_at', _ts(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_absences')))
    op.create_index('ix_staff_absences_user_id', 'staff_absences', ['user_id'])
    op.create_table('visit_needs',
        sa.Column('patient_id', _id(), sa.ForeignKey('patients.id', name=op.f('fk_visit_needs_patient_id_patients')),
                  nullable=False),
        sa.Column('visit_minutes', sa.Integer(), nullable=False),
        sa.Column('home_visit', sa.Boolean(), nullable=False),
        sa.Column('area', sa.String(100), nullable=False),
        sa.Column('needs_physician', sa.Boolean(), nullable=False),
        sa.Column('preferred_weekdays', sa.String(20), nullable=False),
        sa.Column('email', sa.String(200), nullable=True),
        sa.Column('updated_at', _ts(), nullable=False),
        sa.PrimaryKeyConstraint('patient_id', name=op.f('pk_visit_needs')))
    op.create_table('appointments',
        sa.Column('id', _id(), autoincrement=True, nullable=False),
        sa.Column('patient_id', _id(), sa.ForeignKey('patients.id', name=op.f('fk_appointments_patient_id_patients')),
                  nullable=False),
        sa.Column('session_id', _id(), sa.ForeignKey(
            'clinic_sessions.id', name=op.f('fk_appointments_session_id_clinic_sessions')), nullable=False),
        sa.Column('starts_at', _ts(), nullable=False),
        sa.Column('ends_at', _ts(), nullable=False),
        sa.Column('status', sa.String(20), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('booked_by', sa.String(100), nullable=False),
        sa.Column('created_at', _ts(), nullable=False),
        sa.Column('updated_at', _ts(), nullable=False),
        sa.Column('reminder_sent_at', _ts(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_appointments')))
    op.create_index('ix_appointments_patient_id', 'appointments', ['patient_id'])
    op.create_index('ix_appointments_session_id', 'appointments', ['session_id'])
    op.create_table('escalations',
        sa.Column('id', _id(), autoincrement=True, nullable=False),
        sa.Column('patient_id', _id(), sa.ForeignKey('patients.id', name=op.f('fk_escalations_patient_id_patients')),
                  nullable=False),
        sa.Column('kind', sa.String(40), nullable=False),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.Column('escalate_to', sa.String(100), nullable=False),
        sa.Column('created_at', _ts(), nullable=False),
        sa.Column('resolved_at', _ts(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_escalations')))
    op.create_index('ix_escalations_patient_id', 'escalations', ['patient_id'])


def downgrade() -> None:
    for table in ('escalations', 'appointments', 'visit_needs', 'staff_absences', 'clinic_session_staff',
                  'clinic_sessions'):
        op.drop_table(table)
