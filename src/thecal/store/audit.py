"""The audit trail: append-only rows, hash-chained with HMAC-SHA-256 (safety-requirements AU-1..5).

Each row's ``hash`` is HMAC-SHA-256, under the chain key kept outside the database
(:mod:`thecal.store.chainkey`), over the previous row's hash and the row's canonical JSON
(every column but ``hash``, keys sorted, UTC time as ISO text). :func:`verify_chain` recomputes
the chain and names the first row that does not match; the database refuses UPDATE, DELETE and
REPLACE on the table (triggers, and on PostgreSQL the application's role lacks the privilege),
so the chain is the second line of defence. Without the key a forged row cannot be re-hashed,
and the newest rows' removal shows against an anchor (:mod:`thecal.store.anchor`). Writers are
serialised by the engine (SQLite ``BEGIN IMMEDIATE``, a PostgreSQL advisory lock), so the chain
has no forks. The event log has its own chain of the same kind (:mod:`thecal.store.events`).

Values written here are kept small and free of secrets: never a password or token
(AU-5); old/new values are JSON text.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from sqlalchemy import Connection, func, insert, select

from thecal.store.chainkey import key_of
from thecal.store.tables import audit

GENESIS: Final = "0" * 64
_FIELDS: Final = ("id", "at", "actor", "actor_role", "action", "outcome", "entity", "entity_id",
                  "patient_id", "event_id", "field", "old_value", "new_value", "reason",
                  "detail", "prev_hash")


@dataclass(frozen=True)
class AuditEntry:
    """What happened, before it is chained: who did what to which record, and the outcome."""

    actor: str
    action: str
    outcome: str = "ok"
    actor_role: str | None = None
    entity: str | None = None
    entity_id: str | None = None
    patient_id: int | None = None
    event_id: str | None = None
    field: str | None = None
    old_value: Any = None
    new_value: Any = None
    reason: str | None = None
    detail: str | None = None


def _json_or_none(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _clean(text: str | None, limit: int = 2000) -> str | None:
    """Keep log text on one line and bounded (log-injection, ASVS 7.3.1)."""
    if text is None:
        return None
    flat = text.replace("\r", "\\r").replace("\n", "\\n")
    return flat[:limit]


def canonical(row: dict[str, Any]) -> str:
    """The canonical text of a row (every field but ``hash``) that the hash covers."""
    return json.dumps({name: row.get(name) for name in _FIELDS}, sort_keys=True,
                      ensure_ascii=False, separators=(",", ":"))


def chain_hash(key: bytes, prev_hash: str, text: str) -> str:
    """HMAC-SHA-256 of the previous hash and a row's canonical text, hex."""
    return hmac.new(key, (prev_hash + "\n" + text).encode("utf-8"), hashlib.sha256).hexdigest()


def row_hash(row: dict[str, Any], key: bytes) -> str:
    return chain_hash(key, str(row["prev_hash"]), canonical(row))


def _last(conn: Connection) -> tuple[int, str]:
    """The id and hash of the newest row (0 and the genesis hash for an empty trail)."""
    row = conn.execute(select(audit.c.id, audit.c.hash).order_by(audit.c.id.desc())
                       .limit(1)).first()
    return (int(row[0]), str(row[1])) if row is not None else (0, GENESIS)


def append(conn: Connection, entry: AuditEntry, at: datetime) -> int:
    """Add one chained row in the caller's transaction; return its id.

    The id is chosen here (last id + 1) so that it can be part of the hashed text; writers are
    serialised, so two transactions never pick the same id (if they did, the primary key
    would refuse the second).
    """
    if at.tzinfo is None:
        raise ValueError("audit time must be timezone-aware")
    last_id, last_hash = _last(conn)
    row: dict[str, Any] = {
        "id": last_id + 1,
        "at": at.astimezone(UTC).isoformat(timespec="microseconds"),
        "actor": _clean(entry.actor, 100),
        "actor_role": entry.actor_role,
        "action": entry.action,
        "outcome": entry.outcome,
        "entity": entry.entity,
        "entity_id": entry.entity_id,
        "patient_id": entry.patient_id,
        "event_id": entry.event_id,
        "field": entry.field,
        "old_value": _clean(_json_or_none(entry.old_value), 20000),
        "new_value": _clean(_json_or_none(entry.new_value), 20000),
        "reason": _clean(entry.reason),
        "detail": _clean(entry.detail),
        "prev_hash": last_hash,
    }
    row["hash"] = row_hash(row, key_of(conn))
    conn.execute(insert(audit).values(**row))
    return int(row["id"])


@dataclass(frozen=True)
class ChainReport:
    """The result of :func:`verify_chain`: rows checked and the first broken row, if any."""

    rows: int
    broken_id: int | None = None
    problem: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_id is None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "rows": self.rows, "broken_id": self.broken_id,
                "problem": self.problem}


def iter_rows(conn: Connection, batch: int = 5000) -> Iterator[dict[str, Any]]:
    """All audit rows in id order, in batches (bounded memory)."""
    last_id = 0
    while True:
        rows = conn.execute(select(audit).where(audit.c.id > last_id)
                            .order_by(audit.c.id).limit(batch)).mappings().all()
        if not rows:
            return
        for row in rows:
            yield dict(row)
        last_id = int(rows[-1]["id"])


def verify_chain(conn: Connection, key: bytes | None = None) -> ChainReport:
    """Recompute every hash; name the first row whose content or link does not match."""
    key = key if key is not None else key_of(conn)
    previous = GENESIS
    count = 0
    for row in iter_rows(conn):
        count += 1
        if row["prev_hash"] != previous:
            return ChainReport(count, int(row["id"]),
                               "its prev_hash does not match the hash of the row before it "
                               "(a row was removed, inserted or reordered)")
        if not hmac.compare_digest(row_hash(row, key), str(row["hash"])):
            return ChainReport(count, int(row["id"]),
                               "its content does not match its hash (the row was altered)")
        previous = str(row["hash"])
    return ChainReport(count)


def head(conn: Connection) -> tuple[int, int, str]:
    """(rows, newest id, newest hash) of the trail; (0, 0, genesis) when empty."""
    count = int(conn.execute(select(func.count()).select_from(audit)).scalar_one())
    last_id, last_hash = _last(conn)
    return count, last_id, last_hash


def rows_for_patient(conn: Connection, patient_id: int, limit: int = 200) -> list[dict[str, Any]]:
    """The newest audit rows about one patient (for an access report)."""
    rows = conn.execute(select(audit).where(audit.c.patient_id == patient_id)
                        .order_by(audit.c.id.desc()).limit(limit)).mappings().all()
    return [dict(r) for r in rows]
