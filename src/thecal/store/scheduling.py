"""The clinic calendar's tables and store functions (migration ``0003_scheduling``).

``clinic_sessions`` (clinic room or home-visit round) with their staff in
``clinic_session_staff``; ``staff_absences``; ``visit_needs`` (per patient: visit length, home
or clinic, area, needs a physician, preferred weekdays, reminder e-mail); ``appointments``
(booked / cancelled / missed / attended, with the reason the scheduler gave and when a reminder
was sent); ``escalations`` (a patient the clinic could not book in time, or who missed a visit:
shown on the worklist and dashboard until resolved). All mutable; every change is audited by the
service that makes it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    ColumnElement,
    Connection,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    and_,
    select,
    update,
)

from thecal.store.tables import _ID, UTCDateTime, metadata, patients, projections

clinic_sessions = Table(
    "clinic_sessions", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("site_id", ForeignKey("sites.id"), nullable=False, index=True),
    Column("kind", String(10), nullable=False),
    Column("starts_at", UTCDateTime, nullable=False, index=True),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("place", String(200), nullable=False),
    Column("slot_minutes", Integer, nullable=False),
    Column("cancelled", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
)

clinic_session_staff = Table(
    "clinic_session_staff", metadata,
    Column("session_id", ForeignKey("clinic_sessions.id"), primary_key=True),
    Column("user_id", ForeignKey("users.id"), primary_key=True),
)

staff_absences = Table(
    "staff_absences", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("user_id", ForeignKey("users.id"), nullable=False, index=True),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("reason", Text, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
)

visit_needs = Table(
    "visit_needs", metadata,
    Column("patient_id", ForeignKey("patients.id"), primary_key=True),
    Column("visit_minutes", Integer, nullable=False),
    Column("home_visit", Boolean, nullable=False),
    Column("area", String(100), nullable=False),
    Column("needs_physician", Boolean, nullable=False),
    Column("preferred_weekdays", String(20), nullable=False),
    Column("email", String(200), nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
)

appointments = Table(
    "appointments", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("patient_id", ForeignKey("patients.id"), nullable=False, index=True),
    Column("session_id", ForeignKey("clinic_sessions.id"), nullable=False, index=True),
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("status", String(20), nullable=False),
    Column("reason", Text, nullable=False),
    Column("booked_by", String(100), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("reminder_sent_at", UTCDateTime, nullable=True),
)

escalations = Table(
    "escalations", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("patient_id", ForeignKey("patients.id"), nullable=False, index=True),
    Column("kind", String(40), nullable=False),
    Column("detail", Text, nullable=False),
    Column("escalate_to", String(100), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("resolved_at", UTCDateTime, nullable=True),
)

ACTIVE = ("booked",)


def _new_id(result: Any) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def add_session(conn: Connection, *, site_id: int, kind: str, starts_at: datetime, ends_at: datetime,
                place: str, slot_minutes: int, staff_user_ids: list[int], now: datetime) -> int:
    sid = _new_id(conn.execute(clinic_sessions.insert().values(
        site_id=site_id, kind=kind, starts_at=starts_at, ends_at=ends_at, place=place,
        slot_minutes=slot_minutes, cancelled=False, created_at=now)))
    for uid in staff_user_ids:
        conn.execute(clinic_session_staff.insert().values(session_id=sid, user_id=uid))
    return sid


def sessions_between(conn: Connection, site_id: int, start: datetime, end: datetime) -> list[dict[str, Any]]:
    rows = [dict(r) for r in conn.execute(
        select(clinic_sessions).where(clinic_sessions.c.site_id == site_id, clinic_sessions.c.cancelled.is_(False),
                                      clinic_sessions.c.starts_at >= start, clinic_sessions.c.starts_at < end)
        .order_by(clinic_sessions.c.starts_at, clinic_sessions.c.id)).mappings()]
    staff: dict[int, list[int]] = {}
    if rows:
        for link in conn.execute(select(clinic_session_staff).where(
                clinic_session_staff.c.session_id.in_([r["id"] for r in rows]))).mappings():
            staff.setdefault(int(link["session_id"]), []).append(int(link["user_id"]))
    for r in rows:
        r["staff"] = sorted(staff.get(int(r["id"]), []))
    return rows


def get_session(conn: Connection, session_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(clinic_sessions).where(clinic_sessions.c.id == session_id)).mappings().first()
    if row is None:
        return None
    out = dict(row)
    out["staff"] = sorted(int(r[0]) for r in conn.execute(
        select(clinic_session_staff.c.user_id).where(clinic_session_staff.c.session_id == session_id)))
    return out


def add_absence(conn: Connection, *, user_id: int, starts_at: datetime, ends_at: datetime, reason: str | None,
                now: datetime) -> int:
    return _new_id(conn.execute(staff_absences.insert().values(
        user_id=user_id, starts_at=starts_at, ends_at=ends_at, reason=reason, created_at=now)))


def absences_between(conn: Connection, start: datetime, end: datetime) -> list[dict[str, Any]]:
    return [dict(r) for r in conn.execute(select(staff_absences).where(
        staff_absences.c.starts_at < end, staff_absences.c.ends_at > start)).mappings()]


def set_visit_needs(conn: Connection, patient_id: int, values: dict[str, Any], now: datetime) -> None:
    exists = conn.execute(select(visit_needs.c.patient_id).where(visit_needs.c.patient_id == patient_id)).first()
    if exists:
        conn.execute(update(visit_needs).where(visit_needs.c.patient_id == patient_id).values(**values, updated_at=now))
    else:
        conn.execute(visit_needs.insert().values(patient_id=patient_id, **values, updated_at=now))


def visit_needs_for(conn: Connection, patient_ids: list[int]) -> dict[int, dict[str, Any]]:
    if not patient_ids:
        return {}
    return {int(r["patient_id"]): dict(r) for r in conn.execute(
        select(visit_needs).where(visit_needs.c.patient_id.in_(patient_ids))).mappings()}


def add_appointment(conn: Connection, *, patient_id: int, session_id: int, starts_at: datetime, ends_at: datetime,
                    reason: str, booked_by: str, now: datetime) -> int:
    return _new_id(conn.execute(appointments.insert().values(
        patient_id=patient_id, session_id=session_id, starts_at=starts_at, ends_at=ends_at, status="booked",
        reason=reason, booked_by=booked_by, created_at=now, updated_at=now)))


def get_appointment(conn: Connection, appointment_id: int) -> dict[str, Any] | None:
    row = conn.execute(select(appointments).where(appointments.c.id == appointment_id)).mappings().first()
    return dict(row) if row else None


def update_appointment(conn: Connection, appointment_id: int, now: datetime, **values: Any) -> None:
    conn.execute(update(appointments).where(appointments.c.id == appointment_id).values(**values, updated_at=now))


def active_appointments(conn: Connection, *, patient_ids: list[int] | None = None, session_ids: list[int] | None = None,
                        start: datetime | None = None, end: datetime | None = None) -> list[dict[str, Any]]:
    clauses: list[ColumnElement[bool]] = [appointments.c.status.in_(ACTIVE)]
    if patient_ids is not None:
        clauses.append(appointments.c.patient_id.in_(patient_ids))
    if session_ids is not None:
        clauses.append(appointments.c.session_id.in_(session_ids))
    if start is not None:
        clauses.append(appointments.c.starts_at >= start)
    if end is not None:
        clauses.append(appointments.c.starts_at < end)
    return [dict(r) for r in conn.execute(select(appointments).where(and_(*clauses))
                                          .order_by(appointments.c.starts_at, appointments.c.id)).mappings()]


def add_escalation(conn: Connection, *, patient_id: int, kind: str, detail: str, escalate_to: str,
                   now: datetime) -> int:
    open_same = conn.execute(select(escalations.c.id).where(
        escalations.c.patient_id == patient_id, escalations.c.kind == kind,
        escalations.c.resolved_at.is_(None))).first()
    if open_same is not None:
        conn.execute(update(escalations).where(escalations.c.id == open_same[0]).values(detail=detail))
        return int(open_same[0])
    key = conn.execute(escalations.insert().values(
        patient_id=patient_id, kind=kind, detail=detail, escalate_to=escalate_to, created_at=now)).inserted_primary_key
    assert key is not None
    return int(key[0])


def open_escalations(conn: Connection, patient_ids: list[int]) -> list[dict[str, Any]]:
    if not patient_ids:
        return []
    return [dict(r) for r in conn.execute(select(escalations).where(
        escalations.c.patient_id.in_(patient_ids), escalations.c.resolved_at.is_(None))
        .order_by(escalations.c.created_at)).mappings()]


def resolve_escalations(conn: Connection, patient_id: int, kinds: tuple[str, ...], now: datetime) -> None:
    conn.execute(update(escalations).where(escalations.c.patient_id == patient_id, escalations.c.kind.in_(kinds),
                                           escalations.c.resolved_at.is_(None)).values(resolved_at=now))


# ---------------------------------------------------------------- refill-due dates (projection summary)

def refill_due_by(conn: Connection, patient_id: int) -> datetime | None:
    """The conservative refill-due date the projection summary keeps (None: nothing due)."""
    due: datetime | None = conn.execute(select(projections.c.refill_due_by).where(
        projections.c.patient_id == patient_id)).scalar()
    return due


def due_patients(conn: Connection, visible: ColumnElement[bool], until: datetime) -> list[dict[str, Any]]:
    """id, mrn, display_name and refill_due_by of the visible patients due by ``until``, earliest first."""
    stmt = (select(patients.c.id, patients.c.mrn, patients.c.display_name, projections.c.refill_due_by)
            .select_from(patients.join(projections, projections.c.patient_id == patients.c.id))
            .where(visible, projections.c.refill_due_by.is_not(None), projections.c.refill_due_by <= until)
            .order_by(projections.c.refill_due_by, patients.c.id))
    return [dict(r) for r in conn.execute(stmt).mappings()]
