"""Initial clinic schema: records, append-only events and audit, sessions.

UPDATE and DELETE on ``events`` and ``audit`` are refused by the database itself: SQLite
triggers that ``RAISE(ABORT)``; on PostgreSQL a trigger function that raises, for row UPDATE
and DELETE and for TRUNCATE (safety-requirements AU-2).

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def _id() -> sa.types.TypeEngine[int]:
    """Ids: BIGINT on PostgreSQL, INTEGER (the rowid) on SQLite."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table('audit',
    sa.Column('id', _id(), autoincrement=True, nullable=False),
    sa.Column('at', sa.String(length=40), nullable=False),
    sa.Column('actor', sa.String(length=100), nullable=False),
    sa.Column('actor_role', sa.String(length=20), nullable=True),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('entity', sa.String(length=40), nullable=True),
    sa.Column('entity_id', sa.String(length=64), nullable=True),
    sa.Column('patient_id', sa.BigInteger(), nullable=True),
    sa.Column('event_id', sa.String(length=64), nullable=True),
    sa.Column('field', sa.String(length=100), nullable=True),
    sa.Column('old_value', sa.Text(), nullable=True),
    sa.Column('new_value', sa.Text(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit'))
    )
    op.create_table('login_attempts',
    sa.Column('id', _id(), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('at', sa.DateTime(timezone=False), nullable=False),
    sa.Column('success', sa.Boolean(), nullable=False),
    sa.Column('client', sa.String(length=100), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_login_attempts'))
    )
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_login_attempts_username_at', ['username', 'at'], unique=False)

    op.create_table('sites',
    sa.Column('id', _id(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('settings', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=False), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sites')),
    sa.UniqueConstraint('name', name=op.f('uq_sites_name'))
    )
    op.create_table('patients',
    sa.Column('id', _id(), autoincrement=True, nullable=False),
    sa.Column('site_id', _id(), nullable=False),
    sa.Column('mrn', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('born', sa.String(length=10), nullable=False),
    sa.Column('sex', sa.String(length=20), nullable=True),
    sa.Column('weight_kg', sa.Float(), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('etiology', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=False), nullable=False),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_patients_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patients')),
    sa.UniqueConstraint('site_id', 'mrn', name='uq_patients_site_mrn')
    )
    op.create_table('events',
    sa.Column('id', _id(), autoincrement=True, nullable=False),
    sa.Column('patient_id', _id(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('at', sa.DateTime(timezone=False), nullable=False),
    sa.Column('author', sa.String(length=100), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('corrects', sa.String(length=64), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=False), nullable=False),
    sa.Column('idempotency_key', sa.String(length=100), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'],
        name=op.f('fk_events_patient_id_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_events')),
    sa.UniqueConstraint('patient_id', 'event_id', name='uq_events_patient_event_id'),
    sa.UniqueConstraint('patient_id', 'idempotency_key', name='uq_events_patient_idempotency'),
    sa.UniqueConstraint('patient_id', 'seq', name='uq_events_patient_seq')
    )
    op.create_table('implants',
    sa.Column('id', _id(), autoincrement=True, nullable=False),
    sa.Column('patient_id', _id(), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('pump_model', sa.String(length=64), nullable=False),
    sa.Column('pump_serial', sa.String(length=64), nullable=True),
    sa.Column('catheter_model', sa.String(length=64), nullable=True),
    sa.Column('catheter_length_cm', sa.Float(), nullable=True),
    sa.Column('implanted_at', sa.DateTime(timezone=False), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'],
        name=op.f('fk_implants_patient_id_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_implants'))
    )
    with op.batch_alter_table('implants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_implants_patient_id'), ['patient_id'], unique=False)

    op.create_table('projections',
    sa.Column('patient_id', _id(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=False), nullable=False),
    sa.Column('low_reservoir_alarm_at', sa.DateTime(timezone=False), nullable=True),
    sa.Column('empty_at', sa.DateTime(timezone=False), nullable=True),
    sa.Column('refill_due_by', sa.DateTime(timezone=False), nullable=True),
    sa.Column('elective_replacement_at', sa.DateTime(timezone=False), nullable=True),
    sa.Column('alarm_priority', sa.Integer(), nullable=False),
    sa.Column('open_findings', sa.Integer(), nullable=False),
    sa.Column('finding_severity', sa.Integer(), nullable=False),
    sa.Column('triage_urgency', sa.Integer(), nullable=False),
    sa.Column('triage_at', sa.DateTime(timezone=False), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'],
        name=op.f('fk_projections_patient_id_patients')),
    sa.PrimaryKeyConstraint('patient_id', name=op.f('pk_projections'))
    )
    op.create_table('users',
    sa.Column('id', _id(), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=100), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('site_id', _id(), nullable=True),
    sa.Column('patient_id', _id(), nullable=True),
    sa.Column('password_hash', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=False), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'],
        name=op.f('fk_users_patient_id_patients')),
    sa.ForeignKeyConstraint(['site_id'], ['sites.id'], name=op.f('fk_users_site_id_sites')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('api_tokens',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', _id(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=False), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=False), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=False), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users')),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_api_tokens'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('care_team',
    sa.Column('patient_id', _id(), nullable=False),
    sa.Column('user_id', _id(), nullable=False),
    sa.Column('team_role', sa.String(length=40), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=False), nullable=False),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'],
        name=op.f('fk_care_team_patient_id_patients')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_care_team_user_id_users')),
    sa.PrimaryKeyConstraint('patient_id', 'user_id', name=op.f('pk_care_team'))
    )
    op.create_table('caregiver_links',
    sa.Column('caregiver_user_id', _id(), nullable=False),
    sa.Column('patient_id', _id(), nullable=False),
    sa.Column('linked_at', sa.DateTime(timezone=False), nullable=False),
    sa.ForeignKeyConstraint(['caregiver_user_id'], ['users.id'],
        name=op.f('fk_caregiver_links_caregiver_user_id_users')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'],
        name=op.f('fk_caregiver_links_patient_id_patients')),
    sa.PrimaryKeyConstraint('caregiver_user_id', 'patient_id', name=op.f('pk_caregiver_links'))
    )
    op.create_table('pending',
    sa.Column('id', _id(), autoincrement=True, nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('patient_id', _id(), nullable=False),
    sa.Column('proposed_by', _id(), nullable=False),
    sa.Column('expected_version', sa.Integer(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=False), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=False), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('decided_by', _id(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=False), nullable=True),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_pending_decided_by_users')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'],
        name=op.f('fk_pending_patient_id_patients')),
    sa.ForeignKeyConstraint(['proposed_by'], ['users.id'],
        name=op.f('fk_pending_proposed_by_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pending')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_pending_token_hash'))
    )
    op.create_table('sessions',
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('user_id', _id(), nullable=False),
    sa.Column('csrf_token', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=False), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=False), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=False), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sessions_user_id_users')),
    sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_sessions'))
    )
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sessions_user_id'), ['user_id'], unique=False)
    _append_only()


def downgrade() -> None:
    _drop_append_only()
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sessions_user_id'))

    op.drop_table('sessions')
    op.drop_table('pending')
    op.drop_table('caregiver_links')
    op.drop_table('care_team')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))

    op.drop_table('api_tokens')
    op.drop_table('users')
    op.drop_table('projections')
    with op.batch_alter_table('implants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_implants_patient_id'))

    op.drop_table('implants')
    op.drop_table('events')
    op.drop_table('patients')
    op.drop_table('sites')
    with op.batch_alter_table('login_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_login_attempts_username_at')

    op.drop_table('login_attempts')
    op.drop_table('audit')


APPEND_ONLY = ("events", "audit")


def _append_only() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for table in APPEND_ONLY:
            for operation in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{operation.lower()} BEFORE {operation} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {operation} refused'); END"
                )
        return
    op.execute(
        "CREATE FUNCTION thecal_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP "
        "USING ERRCODE = 'insufficient_privilege'; END $$"
    )
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION thecal_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION thecal_refuse_change()"
        )


def _drop_append_only() -> None:
    bind = op.get_bind()
    for table in APPEND_ONLY:
        if bind.dialect.name == "sqlite":
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    if bind.dialect.name != "sqlite":
        op.execute("DROP FUNCTION IF EXISTS thecal_refuse_change()")
