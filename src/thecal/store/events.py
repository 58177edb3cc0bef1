"""The event store: each patient's timeline, append-only, with a version per patient.

An event row keeps the timeline v1 event dict (``data``, JSON) and typed columns for queries
(type, UTC time, seq, author, reason, corrects). ``seq`` is the patient's version after the
append: appending with a stale expected version is a conflict, caught twice (the
compare-and-set on ``patients.version`` and the unique ``(patient_id, seq)``).

The projection summary (``projections``) is rebuilt in the same transaction as every append,
so the worklist can sort thousands of patients without replaying their timelines.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from thecal.store.tables import events, projections

Row = dict[str, Any]


def list_events(conn: Connection, patient_id: int) -> list[Row]:
    """The stored events of a patient in append order (``seq``)."""
    stmt = select(events).where(events.c.patient_id == patient_id).order_by(events.c.seq)
    return [dict(r) for r in conn.execute(stmt).mappings()]


def get_event(conn: Connection, patient_id: int, event_id: str) -> Row | None:
    """One stored event of a patient by its event id."""
    row = conn.execute(select(events).where(events.c.patient_id == patient_id,
                                            events.c.event_id == event_id)).mappings().first()
    return dict(row) if row is not None else None


def event_by_idempotency_key(conn: Connection, patient_id: int, key: str) -> Row | None:
    row = conn.execute(select(events).where(events.c.patient_id == patient_id,
                                            events.c.idempotency_key == key)).mappings().first()
    return dict(row) if row is not None else None


def insert_event(conn: Connection, *, patient_id: int, seq: int, data: dict[str, Any],
                 event_id: str, type_: str, at: datetime, author: str, reason: str | None,
                 corrects: str | None, recorded_at: datetime,
                 idempotency_key: str | None) -> Row:
    values = {"patient_id": patient_id, "seq": seq, "data": data, "event_id": event_id,
              "type": type_, "at": at, "author": author, "reason": reason,
              "corrects": corrects, "recorded_at": recorded_at,
              "idempotency_key": idempotency_key}
    row_id = conn.execute(insert(events).values(**values).returning(events.c.id)).scalar_one()
    return {"id": int(row_id), **values}


def get_projection(conn: Connection, patient_id: int) -> Row | None:
    row = conn.execute(select(projections).where(projections.c.patient_id == patient_id)
                       ).mappings().first()
    return dict(row) if row is not None else None


def put_projection(conn: Connection, patient_id: int, values: dict[str, Any]) -> None:
    """Insert or replace the projection summary row of a patient."""
    exists = conn.execute(select(projections.c.patient_id)
                          .where(projections.c.patient_id == patient_id)).first()
    if exists:
        conn.execute(update(projections).where(projections.c.patient_id == patient_id)
                     .values(**values))
    else:
        conn.execute(insert(projections).values(patient_id=patient_id, **values))
