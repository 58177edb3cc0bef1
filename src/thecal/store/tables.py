"""The clinic's tables (SQLAlchemy Core), shared by the migrations and the store functions.

Mutable tables: sites, users, patients (with ``version``, the timeline length), care-team and
caregiver links, implants, sessions, API tokens, login attempts, pending confirmations and the
projection summary. Append-only tables (refused by database triggers, see
``migrations/versions/0001_initial.py``): ``events`` and ``audit``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """An aware UTC datetime stored as naive UTC (the same on SQLite and PostgreSQL)."""

    impl = DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store: pass an aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # pragma: no cover - defensive, SQLite returns datetime
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC)


metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})

# BigInteger ids become INTEGER PRIMARY KEY (the rowid) on SQLite.
_ID = BigInteger().with_variant(Integer(), "sqlite")

sites = Table(
    "sites", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("settings", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

users = Table(
    "users", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("username", String(100), nullable=False, unique=True),
    Column("display_name", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("site_id", ForeignKey("sites.id"), nullable=True),
    Column("patient_id", ForeignKey("patients.id"), nullable=True),
    Column("password_hash", Text, nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime, nullable=False),
)

patients = Table(
    "patients", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("site_id", ForeignKey("sites.id"), nullable=False),
    Column("mrn", String(64), nullable=False),
    Column("display_name", String(200), nullable=False),
    Column("born", String(10), nullable=False),
    Column("sex", String(20), nullable=True),
    Column("weight_kg", Float, nullable=True),
    Column("timezone", String(64), nullable=False),
    Column("etiology", String(40), nullable=False),
    Column("version", Integer, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("site_id", "mrn", name="uq_patients_site_mrn"),
)

care_team = Table(
    "care_team", metadata,
    Column("patient_id", ForeignKey("patients.id"), primary_key=True),
    Column("user_id", ForeignKey("users.id"), primary_key=True),
    Column("team_role", String(40), nullable=False),
    Column("added_at", UTCDateTime, nullable=False),
)

caregiver_links = Table(
    "caregiver_links", metadata,
    Column("caregiver_user_id", ForeignKey("users.id"), primary_key=True),
    Column("patient_id", ForeignKey("patients.id"), primary_key=True),
    Column("linked_at", UTCDateTime, nullable=False),
)

implants = Table(
    "implants", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("patient_id", ForeignKey("patients.id"), nullable=False, index=True),
    Column("event_id", String(64), nullable=False),
    Column("pump_model", String(64), nullable=False),
    Column("pump_serial", String(64), nullable=True),
    Column("catheter_model", String(64), nullable=True),
    Column("catheter_length_cm", Float, nullable=True),
    Column("implanted_at", UTCDateTime, nullable=False),
)

events = Table(
    "events", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("patient_id", ForeignKey("patients.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("type", String(40), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("author", String(100), nullable=False),
    Column("reason", Text, nullable=True),
    Column("corrects", String(64), nullable=True),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("idempotency_key", String(100), nullable=True),
    Column("data", JSON, nullable=False),
    Column("request_digest", String(64), nullable=True),  # what the idempotency key was for
    Column("prev_hash", String(64), nullable=True),  # the event chain (0002_security)
    Column("hash", String(64), nullable=True),
    UniqueConstraint("patient_id", "seq", name="uq_events_patient_seq"),
    UniqueConstraint("patient_id", "event_id", name="uq_events_patient_event_id"),
    UniqueConstraint("patient_id", "idempotency_key", name="uq_events_patient_idempotency"),
)

projections = Table(
    "projections", metadata,
    Column("patient_id", ForeignKey("patients.id"), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("computed_at", UTCDateTime, nullable=False),
    Column("low_reservoir_alarm_at", UTCDateTime, nullable=True),
    Column("empty_at", UTCDateTime, nullable=True),
    Column("refill_due_by", UTCDateTime, nullable=True),
    Column("elective_replacement_at", UTCDateTime, nullable=True),
    Column("alarm_priority", Integer, nullable=False, default=0),
    Column("open_findings", Integer, nullable=False, default=0),
    Column("finding_severity", Integer, nullable=False, default=0),
    Column("triage_urgency", Integer, nullable=False, default=0),
    Column("triage_at", UTCDateTime, nullable=True),
    Column("data", JSON, nullable=False),
)

sessions = Table(
    "sessions", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", ForeignKey("users.id"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_seen_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
)

api_tokens = Table(
    "api_tokens", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", ForeignKey("users.id"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime, nullable=True),
)

login_attempts = Table(
    "login_attempts", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("username", String(100), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("success", Boolean, nullable=False),
    Column("client", String(100), nullable=True),
    Index("ix_login_attempts_username_at", "username", "at"),
)

pending = Table(
    "pending", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("kind", String(40), nullable=False),
    Column("patient_id", ForeignKey("patients.id"), nullable=False),
    Column("proposed_by", ForeignKey("users.id"), nullable=False),
    Column("expected_version", Integer, nullable=False),
    Column("payload", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("status", String(20), nullable=False),
    Column("decided_by", ForeignKey("users.id"), nullable=True),
    Column("decided_at", UTCDateTime, nullable=True),
    # 0005_refill_records: the refill already recorded, the escalation and the decision
    Column("event_id", String(64), nullable=True),
    Column("escalated_at", UTCDateTime, nullable=True),
    Column("notified_at", UTCDateTime, nullable=True),
    Column("notify_detail", Text, nullable=True),
    Column("decision_reason", Text, nullable=True),
    Column("corrective_action", Text, nullable=True),
)

audit = Table(
    "audit", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("at", String(40), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("actor_role", String(20), nullable=True),
    Column("action", String(60), nullable=False),
    Column("outcome", String(20), nullable=False),
    Column("entity", String(40), nullable=True),
    Column("entity_id", String(64), nullable=True),
    Column("patient_id", BigInteger, nullable=True),
    Column("event_id", String(64), nullable=True),
    Column("field", String(100), nullable=True),
    Column("old_value", Text, nullable=True),
    Column("new_value", Text, nullable=True),
    Column("reason", Text, nullable=True),
    Column("detail", Text, nullable=True),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

# --- cases, allergies, oral medicines, reconciliations (migration 0004_cases) ---------------

cases = Table(
    "cases", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("patient_id", ForeignKey("patients.id"), nullable=False),
    Column("kind", String(20), nullable=False),  # symptoms | finding
    Column("source_event_id", String(64), nullable=True),
    Column("finding_code", String(60), nullable=True),
    Column("urgency", String(20), nullable=False),
    Column("urgency_rank", Integer, nullable=False),
    Column("status", String(20), nullable=False),  # open | acknowledged | closed
    Column("opened_at", UTCDateTime, nullable=False),
    Column("opened_by", String(100), nullable=False),
    Column("patient_words", Text, nullable=False),
    Column("symptoms", JSON, nullable=False),
    Column("advice", JSON, nullable=False),
    Column("acknowledged_by", String(100), nullable=True),
    Column("acknowledged_at", UTCDateTime, nullable=True),
    Column("closed_by", String(100), nullable=True),
    Column("closed_at", UTCDateTime, nullable=True),
    Column("outcome", Text, nullable=True),
    Index("ix_cases_patient_status", "patient_id", "status"),
)

case_notes = Table(
    "case_notes", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("case_id", ForeignKey("cases.id"), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False),
    Column("author", String(100), nullable=False),
    Column("kind", String(20), nullable=False),  # call-back | note
    Column("text", Text, nullable=False),
)

case_notices = Table(
    "case_notices", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("case_id", ForeignKey("cases.id"), nullable=False, index=True),
    Column("at", UTCDateTime, nullable=False),
    Column("channel", String(20), nullable=False),  # inbox | email
    Column("recipient", String(200), nullable=False),
    Column("status", String(20), nullable=False),  # sent | failed | not-configured
    Column("detail", Text, nullable=True),
)

allergies = Table(
    "allergies", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("patient_id", ForeignKey("patients.id"), nullable=False, index=True),
    Column("kind", String(30), nullable=False),  # allergy | no-known-allergies
    Column("substance", String(200), nullable=False),
    Column("reaction", Text, nullable=True),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("recorded_by", String(100), nullable=False),
    Column("withdrawn_at", UTCDateTime, nullable=True),
    Column("withdrawn_by", String(100), nullable=True),
)

medications = Table(
    "medications", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("patient_id", ForeignKey("patients.id"), nullable=False, index=True),
    Column("drug", String(60), nullable=False),
    Column("dose", String(60), nullable=False),
    Column("times_per_day", Integer, nullable=False),
    Column("daily_dose_mg", Float, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    Column("recorded_by", String(100), nullable=False),
    Column("stopped_at", UTCDateTime, nullable=True),
    Column("stopped_by", String(100), nullable=True),
)

reconciliations = Table(
    "reconciliations", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("patient_id", ForeignKey("patients.id"), nullable=False, index=True),
    Column("occasion", String(30), nullable=False),  # implant | pump-replacement | admission
    Column("occasion_at", UTCDateTime, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("by", String(100), nullable=False),
    Column("medications", JSON, nullable=False),
    Column("notes", Text, nullable=True),
)

APPEND_ONLY_TABLES = ("events", "audit")
