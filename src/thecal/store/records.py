"""Sites, users, patients, care-team and caregiver links, implants: plain rows as dicts.

Functions take the caller's connection (the service owns the transaction) and return plain
dicts; a missing row is ``None``, never an exception, so the service decides 404 vs 403.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, insert, or_, select, update

from thecal.store.tables import care_team, caregiver_links, events, implants, patients, sites, users

Row = dict[str, Any]


def _one(conn: Connection, stmt: Any) -> Row | None:
    row = conn.execute(stmt).mappings().first()
    return dict(row) if row is not None else None


# ---------------------------------------------------------------- sites

def insert_site(conn: Connection, name: str, settings: dict[str, Any], at: datetime) -> Row:
    site_id = conn.execute(insert(sites).values(name=name, settings=settings, created_at=at)
                           .returning(sites.c.id)).scalar_one()
    return {"id": int(site_id), "name": name, "settings": settings, "created_at": at}


def get_site(conn: Connection, site_id: int) -> Row | None:
    return _one(conn, select(sites).where(sites.c.id == site_id))


def site_by_name(conn: Connection, name: str) -> Row | None:
    return _one(conn, select(sites).where(sites.c.name == name))


def update_site_settings(conn: Connection, site_id: int, settings: dict[str, Any]) -> None:
    conn.execute(update(sites).where(sites.c.id == site_id).values(settings=settings))


# ---------------------------------------------------------------- users

def insert_user(conn: Connection, *, username: str, display_name: str, role: str,
                password_hash: str, at: datetime, site_id: int | None = None,
                patient_id: int | None = None) -> Row:
    user_id = conn.execute(insert(users).values(
        username=username, display_name=display_name, role=role, site_id=site_id,
        patient_id=patient_id, password_hash=password_hash, active=True, created_at=at,
    ).returning(users.c.id)).scalar_one()
    return {"id": int(user_id), "username": username, "display_name": display_name,
            "role": role, "site_id": site_id, "patient_id": patient_id, "active": True}


def get_user(conn: Connection, user_id: int) -> Row | None:
    return _one(conn, select(users).where(users.c.id == user_id))


def user_by_name(conn: Connection, username: str) -> Row | None:
    return _one(conn, select(users).where(users.c.username == username))


def list_users(conn: Connection, site_id: int | None = None) -> list[Row]:
    stmt = select(users.c.id, users.c.username, users.c.display_name, users.c.role,
                  users.c.site_id, users.c.patient_id, users.c.active).order_by(users.c.id)
    if site_id is not None:
        stmt = stmt.where(users.c.site_id == site_id)
    return [dict(r) for r in conn.execute(stmt).mappings()]


# ---------------------------------------------------------------- patients

PATIENT_FIELDS = ("mrn", "display_name", "born", "sex", "weight_kg", "timezone", "etiology")


def insert_patient(conn: Connection, *, site_id: int, at: datetime, **fields: Any) -> Row:
    values = {key: fields.get(key) for key in PATIENT_FIELDS}
    patient_id = conn.execute(insert(patients).values(site_id=site_id, version=0, created_at=at,
                                                      **values)
                              .returning(patients.c.id)).scalar_one()
    return {"id": int(patient_id), "site_id": site_id, "version": 0, **values}


def get_patient(conn: Connection, patient_id: int) -> Row | None:
    return _one(conn, select(patients).where(patients.c.id == patient_id))


def patient_by_mrn(conn: Connection, site_id: int, mrn: str) -> Row | None:
    return _one(conn, select(patients).where(and_(patients.c.site_id == site_id,
                                                  patients.c.mrn == mrn)))


def set_patient_version(conn: Connection, patient_id: int, expected: int, new: int) -> bool:
    """Compare-and-set the timeline version; False when someone else moved it first."""
    result = conn.execute(update(patients)
                          .where(and_(patients.c.id == patient_id, patients.c.version == expected))
                          .values(version=new))
    return result.rowcount == 1


def visible_patient_ids_clause(user: Row) -> Any:
    """A WHERE clause selecting the patients a clinician/nurse/pharmacist may see."""
    in_team = select(care_team.c.patient_id).where(care_team.c.user_id == user["id"])
    clauses = [patients.c.id.in_(in_team)]
    if user.get("site_id") is not None:
        clauses.append(patients.c.site_id == user["site_id"])
    return or_(*clauses)


def list_patients_where(conn: Connection, clause: Any, limit: int | None = None) -> list[Row]:
    stmt = select(patients).where(clause).order_by(patients.c.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [dict(r) for r in conn.execute(stmt).mappings()]


def patients_of_site(conn: Connection, site_id: int) -> list[Row]:
    return list_patients_where(conn, patients.c.site_id == site_id)


def list_patients_by_ids(conn: Connection, ids: Sequence[int]) -> list[Row]:
    if not ids:
        return []
    return [dict(r) for r in conn.execute(select(patients).where(patients.c.id.in_(list(ids)))
                                          .order_by(patients.c.id)).mappings()]


# ---------------------------------------------------------------- links

def in_care_team(conn: Connection, patient_id: int, user_id: int) -> bool:
    return conn.execute(select(care_team.c.user_id).where(and_(
        care_team.c.patient_id == patient_id, care_team.c.user_id == user_id))).first() is not None


def add_care_team(conn: Connection, patient_id: int, user_id: int, team_role: str,
                  at: datetime) -> None:
    conn.execute(insert(care_team).values(patient_id=patient_id, user_id=user_id,
                                          team_role=team_role, added_at=at))


def care_team_of(conn: Connection, patient_id: int) -> list[Row]:
    stmt = (select(users.c.id.label("user_id"), users.c.username, users.c.display_name,
                   users.c.role, care_team.c.team_role, care_team.c.added_at)
            .join(users, users.c.id == care_team.c.user_id)
            .where(care_team.c.patient_id == patient_id).order_by(users.c.id))
    return [dict(r) for r in conn.execute(stmt).mappings()]


def caregiver_linked(conn: Connection, caregiver_user_id: int, patient_id: int) -> bool:
    return conn.execute(select(caregiver_links.c.patient_id).where(and_(
        caregiver_links.c.caregiver_user_id == caregiver_user_id,
        caregiver_links.c.patient_id == patient_id))).first() is not None


def linked_patient_ids(conn: Connection, caregiver_user_id: int) -> list[int]:
    stmt = select(caregiver_links.c.patient_id).where(
        caregiver_links.c.caregiver_user_id == caregiver_user_id)
    return [int(r) for r in conn.execute(stmt).scalars()]


def link_caregiver(conn: Connection, caregiver_user_id: int, patient_id: int,
                   at: datetime) -> None:
    conn.execute(insert(caregiver_links).values(caregiver_user_id=caregiver_user_id,
                                                patient_id=patient_id, linked_at=at))


# ---------------------------------------------------------------- implants

def add_implant(conn: Connection, *, patient_id: int, event_id: str, pump_model: str,
                pump_serial: str | None, catheter_model: str | None,
                catheter_length_cm: float | None, implanted_at: datetime) -> None:
    conn.execute(insert(implants).values(
        patient_id=patient_id, event_id=event_id, pump_model=pump_model, pump_serial=pump_serial,
        catheter_model=catheter_model, catheter_length_cm=catheter_length_cm,
        implanted_at=implanted_at))


def implants_of(conn: Connection, patient_id: int) -> list[Row]:
    stmt = select(implants).where(implants.c.patient_id == patient_id).order_by(implants.c.id)
    return [dict(r) for r in conn.execute(stmt).mappings()]


def update_implant(conn: Connection, patient_id: int, event_id: str | None,
                   **values: Any) -> None:
    """Change the implant row of ``event_id`` (None: the latest implant) — a corrected implant
    or pump replacement, or a catheter revision (the events stay as they were appended)."""
    rows = implants_of(conn, patient_id)
    row = (rows[-1] if rows else None) if event_id is None else next(
        (r for r in rows if r["event_id"] == event_id), None)
    if row is not None and values:
        conn.execute(update(implants).where(implants.c.id == row["id"]).values(**values))


def symptom_reports_since(conn: Connection, visible: Any, since: datetime, limit: int
                          ) -> list[Row]:
    """The newest symptom reports (``symptoms`` events) of the visible patients since ``since``,
    each with the patient's ``display_name``."""
    stmt = (select(events.c.patient_id, events.c.event_id, events.c.at, events.c.author,
                   events.c.data, patients.c.display_name)
            .select_from(events.join(patients, patients.c.id == events.c.patient_id))
            .where(events.c.type == "symptoms", events.c.at >= since, visible)
            .order_by(events.c.at.desc()).limit(limit))
    return [dict(r) for r in conn.execute(stmt).mappings()]
