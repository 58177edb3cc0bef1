"""The event store: each patient's timeline, append-only, with a version per patient.

An event row keeps the timeline v1 event dict (``data``, JSON) and typed columns for queries
(type, UTC time, seq, author, reason, corrects). ``seq`` is the patient's version after the
append: appending with a stale expected version is a conflict, caught twice (the
compare-and-set on ``patients.version`` and the unique ``(patient_id, seq)``).

Every event row is chained like the audit trail: ``hash`` is HMAC-SHA-256 (the chain key
outside the database) over the previous event's hash and the row's canonical content, so
:func:`verify_events` detects an event whose content was changed, removed or replaced. The row
id is chosen here (newest id + 1; writers are serialised) so that it is part of the hash.
``request_digest`` binds an idempotency key to the request that used it first.

The projection summary (``projections``) is rebuilt in the same transaction as every append,
so the worklist can sort thousands of patients without replaying their timelines.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import Connection, func, insert, select, update

from thecal.store.audit import GENESIS, ChainReport, chain_hash
from thecal.store.chainkey import key_of
from thecal.store.tables import events, projections

_FIELDS: Final = ("id", "patient_id", "seq", "event_id", "type", "at", "author", "reason",
                  "corrects", "recorded_at", "idempotency_key", "request_digest", "data",
                  "prev_hash")

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


def _iso(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    return value


def canonical(row: dict[str, Any]) -> str:
    """The text an event's hash covers: every column but ``hash``, keys sorted."""
    return json.dumps({name: _iso(row.get(name)) for name in _FIELDS}, sort_keys=True,
                      ensure_ascii=False, separators=(",", ":"), default=str)


def event_hash(row: dict[str, Any], key: bytes) -> str:
    return chain_hash(key, str(row["prev_hash"]), canonical(row))


def _last(conn: Connection) -> tuple[int, str]:
    row = conn.execute(select(events.c.id, events.c.hash).order_by(events.c.id.desc())
                       .limit(1)).first()
    return (int(row[0]), str(row[1] or GENESIS)) if row is not None else (0, GENESIS)


def insert_event(conn: Connection, *, patient_id: int, seq: int, data: dict[str, Any],
                 event_id: str, type_: str, at: datetime, author: str, reason: str | None,
                 corrects: str | None, recorded_at: datetime,
                 idempotency_key: str | None, request_digest: str | None = None) -> Row:
    last_id, last_hash = _last(conn)
    values: dict[str, Any] = {
        "id": last_id + 1, "patient_id": patient_id, "seq": seq, "data": data,
        "event_id": event_id, "type": type_, "at": at, "author": author, "reason": reason,
        "corrects": corrects, "recorded_at": recorded_at, "idempotency_key": idempotency_key,
        "request_digest": request_digest, "prev_hash": last_hash}
    values["hash"] = event_hash(values, key_of(conn))
    conn.execute(insert(events).values(**values))
    return values


def iter_events(conn: Connection, batch: int = 2000) -> Iterator[Row]:
    """Every event row in id order, in batches (bounded memory)."""
    last_id = 0
    while True:
        rows = conn.execute(select(events).where(events.c.id > last_id)
                            .order_by(events.c.id).limit(batch)).mappings().all()
        if not rows:
            return
        for row in rows:
            yield dict(row)
        last_id = int(rows[-1]["id"])


def verify_events(conn: Connection, key: bytes | None = None) -> ChainReport:
    """Recompute every event's hash; name the first event row that does not match."""
    key = key if key is not None else key_of(conn)
    previous = GENESIS
    count = 0
    for row in iter_events(conn):
        count += 1
        if row["prev_hash"] != previous:
            return ChainReport(count, int(row["id"]),
                               "its prev_hash does not match the hash of the event before it "
                               "(an event was removed, inserted or reordered)")
        if not hmac.compare_digest(event_hash(row, key), str(row["hash"])):
            return ChainReport(count, int(row["id"]),
                               "its content does not match its hash (the event was altered)")
        previous = str(row["hash"])
    return ChainReport(count)


def head(conn: Connection) -> tuple[int, int, str]:
    """(rows, newest id, newest hash) of the event log; (0, 0, genesis) when empty."""
    count = int(conn.execute(select(func.count()).select_from(events)).scalar_one())
    last_id, last_hash = _last(conn)
    return count, last_id, last_hash


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
