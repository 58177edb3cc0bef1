"""Cases, their call-back notes and notices; allergies, oral medicines, reconciliations.

Plain rows as dicts on the caller's connection (the service owns the transaction); a missing
row is ``None``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, insert, select, update

from thecal.store.tables import (
    allergies,
    case_notes,
    case_notices,
    cases,
    medications,
    patients,
    reconciliations,
)

Row = dict[str, Any]


def _rows(conn: Connection, stmt: Any) -> list[Row]:
    return [dict(r) for r in conn.execute(stmt).mappings()]


# ---------------------------------------------------------------- cases

def insert_case(conn: Connection, **values: Any) -> int:
    return int(conn.execute(insert(cases).values(**values).returning(cases.c.id)).scalar_one())


def get_case(conn: Connection, case_id: int) -> Row | None:
    row = conn.execute(select(cases).where(cases.c.id == case_id)).mappings().first()
    return dict(row) if row is not None else None


def set_case_status(conn: Connection, case_id: int, expected: str, **values: Any) -> bool:
    """Compare-and-set the status; False when someone else moved the case first."""
    result = conn.execute(update(cases).where(and_(cases.c.id == case_id,
                                                   cases.c.status == expected))
                          .values(**values))
    return result.rowcount == 1


def cases_of(conn: Connection, patient_id: int, *, include_closed: bool = True) -> list[Row]:
    stmt = select(cases).where(cases.c.patient_id == patient_id)
    if not include_closed:
        stmt = stmt.where(cases.c.status != "closed")
    return _rows(conn, stmt.order_by(cases.c.urgency_rank.desc(), cases.c.opened_at.desc()))


def inbox_cases(conn: Connection, visible: Any, *, since: datetime, limit: int) -> list[Row]:
    """The visible patients' cases not closed, and those closed since ``since``, each with the
    patient's ``display_name``: not closed first, gravest first, newest first."""
    stmt = (select(cases, patients.c.display_name)
            .select_from(cases.join(patients, patients.c.id == cases.c.patient_id))
            .where(visible, (cases.c.status != "closed") | (cases.c.closed_at >= since))
            .order_by((cases.c.status == "closed"), cases.c.urgency_rank.desc(),
                      cases.c.opened_at.desc())
            .limit(limit))
    return _rows(conn, stmt)


def add_case_note(conn: Connection, case_id: int, at: datetime, author: str, kind: str,
                  text: str) -> None:
    conn.execute(insert(case_notes).values(case_id=case_id, at=at, author=author, kind=kind,
                                           text=text))


def notes_of(conn: Connection, case_ids: list[int]) -> list[Row]:
    if not case_ids:
        return []
    return _rows(conn, select(case_notes).where(case_notes.c.case_id.in_(case_ids))
                 .order_by(case_notes.c.at, case_notes.c.id))


def add_notice(conn: Connection, case_id: int, at: datetime, channel: str, recipient: str,
               status: str, detail: str | None) -> None:
    conn.execute(insert(case_notices).values(case_id=case_id, at=at, channel=channel,
                                             recipient=recipient, status=status, detail=detail))


def notices_of(conn: Connection, case_ids: list[int]) -> list[Row]:
    if not case_ids:
        return []
    return _rows(conn, select(case_notices).where(case_notices.c.case_id.in_(case_ids))
                 .order_by(case_notices.c.at, case_notices.c.id))


# ---------------------------------------------------------------- allergies

def add_allergy(conn: Connection, patient_id: int, kind: str, substance: str,
                reaction: str | None, at: datetime, by: str) -> int:
    return int(conn.execute(insert(allergies).values(
        patient_id=patient_id, kind=kind, substance=substance, reaction=reaction,
        recorded_at=at, recorded_by=by).returning(allergies.c.id)).scalar_one())


def allergies_of(conn: Connection, patient_id: int) -> list[Row]:
    """The allergy statements in force (not withdrawn), oldest first."""
    return _rows(conn, select(allergies).where(allergies.c.patient_id == patient_id,
                                               allergies.c.withdrawn_at.is_(None))
                 .order_by(allergies.c.recorded_at, allergies.c.id))


def withdraw_allergies(conn: Connection, patient_id: int, kind: str, at: datetime,
                       by: str) -> None:
    conn.execute(update(allergies).where(allergies.c.patient_id == patient_id,
                                         allergies.c.kind == kind,
                                         allergies.c.withdrawn_at.is_(None))
                 .values(withdrawn_at=at, withdrawn_by=by))


# ---------------------------------------------------------------- oral medicines

def add_medication(conn: Connection, patient_id: int, drug: str, dose: str, times_per_day: int,
                   daily_dose_mg: float, at: datetime, by: str) -> int:
    return int(conn.execute(insert(medications).values(
        patient_id=patient_id, drug=drug, dose=dose, times_per_day=times_per_day,
        daily_dose_mg=daily_dose_mg, recorded_at=at, recorded_by=by)
        .returning(medications.c.id)).scalar_one())


def current_medications(conn: Connection, patient_id: int) -> list[Row]:
    return _rows(conn, select(medications).where(medications.c.patient_id == patient_id,
                                                 medications.c.stopped_at.is_(None))
                 .order_by(medications.c.recorded_at, medications.c.id))


def stop_medication(conn: Connection, patient_id: int, medication_id: int, at: datetime,
                    by: str) -> bool:
    result = conn.execute(update(medications).where(
        medications.c.id == medication_id, medications.c.patient_id == patient_id,
        medications.c.stopped_at.is_(None)).values(stopped_at=at, stopped_by=by))
    return result.rowcount == 1


def add_reconciliation(conn: Connection, patient_id: int, occasion: str, occasion_at: datetime,
                       at: datetime, by: str, meds: list[str],
                       notes: str | None) -> int:
    return int(conn.execute(insert(reconciliations).values(
        patient_id=patient_id, occasion=occasion, occasion_at=occasion_at, at=at, by=by,
        medications=meds, notes=notes).returning(reconciliations.c.id)).scalar_one())


def reconciliations_of(conn: Connection, patient_id: int) -> list[Row]:
    return _rows(conn, select(reconciliations).where(reconciliations.c.patient_id == patient_id)
                 .order_by(reconciliations.c.at, reconciliations.c.id))
