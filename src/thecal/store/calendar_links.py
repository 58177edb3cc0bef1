"""Subscribable calendar links: one row per link, the token kept only as its SHA-256 hash.

A link lets a calendar application fetch one patient's feed without a session; whoever holds
the URL can read it, so the token is never stored in clear (a stolen database gives no working
URL) and a link is revoked by setting ``revoked_at`` (the row stays, for the audit trail).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Connection, ForeignKey, String, Table, insert, select, update

from thecal.store.tables import _ID, UTCDateTime, metadata

calendar_links = Table(
    "calendar_links", metadata,
    Column("id", _ID, primary_key=True, autoincrement=True),
    Column("patient_id", ForeignKey("patients.id"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_by", String(100), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_by", String(100), nullable=True),
    Column("revoked_at", UTCDateTime, nullable=True),
)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def add_link(conn: Connection, *, patient_id: int, token: str, created_by: str,
             at: datetime) -> int:
    result = conn.execute(insert(calendar_links).values(
        patient_id=patient_id, token_hash=token_hash(token), created_by=created_by,
        created_at=at))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def links_of(conn: Connection, patient_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(select(calendar_links).where(calendar_links.c.patient_id == patient_id)
                        .order_by(calendar_links.c.id))
    return [dict(r._mapping) for r in rows]


def active_link(conn: Connection, token: str) -> dict[str, Any] | None:
    """The link of ``token`` if it exists and is not revoked."""
    row = conn.execute(select(calendar_links).where(
        calendar_links.c.token_hash == token_hash(token),
        calendar_links.c.revoked_at.is_(None))).first()
    return dict(row._mapping) if row else None


def revoke_link(conn: Connection, *, patient_id: int, link_id: int, revoked_by: str,
                at: datetime) -> bool:
    """Revoke one active link of the patient; False when there is none with that id."""
    result = conn.execute(update(calendar_links).where(
        calendar_links.c.id == link_id, calendar_links.c.patient_id == patient_id,
        calendar_links.c.revoked_at.is_(None)).values(revoked_by=revoked_by, revoked_at=at))
    return bool(result.rowcount)
