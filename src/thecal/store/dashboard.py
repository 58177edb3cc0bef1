"""The dashboard's queries over the case register and the second signatures, as they stood at
an instant (the dashboard compares now with a week before).

Plain rows as dicts on the caller's connection (the service owns the transaction); ``visible``
is a WHERE clause on ``patients`` (the actor's patients).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, or_, select

from thecal.store.tables import cases, patients, pending, projections, users

Row = dict[str, Any]

_PATIENT = (patients.c.mrn, patients.c.display_name, projections.c.refill_due_by)


def _joined(table: Any) -> Any:
    return (table.join(patients, patients.c.id == table.c.patient_id)
            .outerjoin(projections, projections.c.patient_id == patients.c.id))


def open_cases_at(conn: Connection, visible: ColumnElement[bool], at: datetime, *,
                  urgency: str) -> list[Row]:
    """The visible patients' cases of ``urgency`` not closed at ``at`` (opened by then, closed
    after it or not at all), oldest first, each with the patient's record number, name and
    refill date."""
    stmt = (select(cases, *_PATIENT).select_from(_joined(cases))
            .where(visible, cases.c.urgency == urgency, cases.c.opened_at <= at,
                   or_(cases.c.closed_at.is_(None), cases.c.closed_at > at))
            .order_by(cases.c.opened_at, cases.c.id))
    return [dict(r) for r in conn.execute(stmt).mappings()]


def confirmations_at(conn: Connection, visible: ColumnElement[bool], at: datetime) -> list[Row]:
    """The visible patients' second-signature confirmations of recorded refills still open at
    ``at`` (created by then, decided after it or not at all), earliest due first, each with the
    patient's record number, name and refill date and who entered it (``entered_by``)."""
    stmt = (select(pending, *_PATIENT, users.c.display_name.label("entered_by"))
            .select_from(_joined(pending).join(users, users.c.id == pending.c.proposed_by))
            .where(visible, pending.c.event_id.is_not(None), pending.c.created_at <= at,
                   or_(pending.c.status == "open",
                       and_(pending.c.decided_at.is_not(None), pending.c.decided_at > at)))
            .order_by(pending.c.expires_at, pending.c.id))
    return [dict(r) for r in conn.execute(stmt).mappings()]
