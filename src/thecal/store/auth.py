"""Sessions, API tokens, login attempts and pending confirmations (rows only, no policy).

Tokens are stored as SHA-256 hex of the random token; the token itself is never stored.
Policy (expiry, throttling, who may confirm) lives in ``thecal.service``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, select, update

from thecal.store.tables import api_tokens, login_attempts, patients, pending, sessions

Row = dict[str, Any]


def insert_session(conn: Connection, token_hash: str, user_id: int, csrf_token: str,
                   at: datetime) -> None:
    conn.execute(insert(sessions).values(token_hash=token_hash, user_id=user_id,
                                         csrf_token=csrf_token, created_at=at, last_seen_at=at))


def get_session(conn: Connection, token_hash: str) -> Row | None:
    row = conn.execute(select(sessions).where(sessions.c.token_hash == token_hash)
                       ).mappings().first()
    return dict(row) if row is not None else None


def touch_session(conn: Connection, token_hash: str, at: datetime) -> None:
    conn.execute(update(sessions).where(sessions.c.token_hash == token_hash)
                 .values(last_seen_at=at))


def revoke_session(conn: Connection, token_hash: str, at: datetime) -> None:
    conn.execute(update(sessions).where(and_(sessions.c.token_hash == token_hash,
                                             sessions.c.revoked_at.is_(None)))
                 .values(revoked_at=at))


def purge_sessions_before(conn: Connection, before: datetime) -> None:
    """Forget sessions created before ``before`` (all of them expired long ago)."""
    conn.execute(delete(sessions).where(sessions.c.created_at < before))


def insert_api_token(conn: Connection, token_hash: str, user_id: int, name: str, at: datetime,
                     expires_at: datetime) -> None:
    conn.execute(insert(api_tokens).values(token_hash=token_hash, user_id=user_id, name=name,
                                           created_at=at, expires_at=expires_at))


def get_api_token(conn: Connection, token_hash: str) -> Row | None:
    row = conn.execute(select(api_tokens).where(api_tokens.c.token_hash == token_hash)
                       ).mappings().first()
    return dict(row) if row is not None else None


def revoke_api_token(conn: Connection, token_hash: str, at: datetime) -> None:
    conn.execute(update(api_tokens).where(api_tokens.c.token_hash == token_hash)
                 .values(revoked_at=at))


def record_login_attempt(conn: Connection, username: str, at: datetime, success: bool,
                         client: str | None) -> int:
    """Add an attempt; returns its id (a claimed attempt is recorded as failed, then marked)."""
    return int(conn.execute(insert(login_attempts).values(
        username=username[:100], at=at, success=success,
        client=(client or "")[:100] or None).returning(login_attempts.c.id)).scalar_one())


def mark_attempt_succeeded(conn: Connection, attempt_id: int) -> None:
    conn.execute(update(login_attempts).where(login_attempts.c.id == attempt_id)
                 .values(success=True))


def purge_attempts_before(conn: Connection, before: datetime) -> None:
    conn.execute(delete(login_attempts).where(login_attempts.c.at < before))


def failures_since(conn: Connection, username: str, since: datetime, client: str | None = None
                   ) -> tuple[int, datetime | None]:
    """Failed attempts for ``username`` (from ``client``) since ``since`` and after the last
    success from there; and the time of the last one."""
    where_client = (login_attempts.c.client == ((client or "")[:100] or None)
                    if client is not None else login_attempts.c.id.is_not(None))
    if client is not None and not (client or "")[:100]:
        where_client = login_attempts.c.client.is_(None)
    name = username[:100]
    last_success = conn.execute(select(func.max(login_attempts.c.at)).where(and_(
        login_attempts.c.username == name, where_client,
        login_attempts.c.success.is_(True)))).scalar()
    start = max(since, last_success) if last_success is not None else since
    row = conn.execute(select(func.count(), func.max(login_attempts.c.at)).where(and_(
        login_attempts.c.username == name, where_client, login_attempts.c.success.is_(False),
        login_attempts.c.at > start))).one()
    return int(row[0]), row[1]


def insert_pending(conn: Connection, *, token_hash: str, kind: str, patient_id: int,
                   proposed_by: int, expected_version: int, payload: dict[str, Any],
                   at: datetime, expires_at: datetime, event_id: str | None = None) -> int:
    return int(conn.execute(insert(pending).values(
        token_hash=token_hash, kind=kind, patient_id=patient_id, proposed_by=proposed_by,
        expected_version=expected_version, payload=payload, created_at=at,
        expires_at=expires_at, status="open", event_id=event_id).returning(pending.c.id)
    ).scalar_one())


def get_pending(conn: Connection, *, pending_id: int | None = None,
                token_hash: str | None = None) -> Row | None:
    stmt = select(pending)
    if pending_id is not None:
        stmt = stmt.where(pending.c.id == pending_id)
    elif token_hash is not None:
        stmt = stmt.where(pending.c.token_hash == token_hash)
    else:
        return None
    row = conn.execute(stmt).mappings().first()
    return dict(row) if row is not None else None


def open_pending_for(conn: Connection, patient_id: int) -> list[Row]:
    stmt = select(pending).where(and_(pending.c.patient_id == patient_id,
                                      pending.c.status == "open")).order_by(pending.c.id)
    return [dict(r) for r in conn.execute(stmt).mappings()]


def decide_pending(conn: Connection, pending_id: int, status: str, user_id: int,
                   at: datetime, *, reason: str | None = None,
                   corrective_action: str | None = None) -> bool:
    result = conn.execute(update(pending).where(and_(pending.c.id == pending_id,
                                                     pending.c.status == "open"))
                          .values(status=status, decided_by=user_id, decided_at=at,
                                  decision_reason=reason, corrective_action=corrective_action))
    return result.rowcount == 1


def open_confirmations(conn: Connection, visible: Any = None) -> list[Row]:
    """Open second-clinician confirmations of recorded refills (``event_id`` set), oldest
    first, with the patient's name; ``visible`` is a WHERE clause on ``patients`` (None:
    every patient)."""
    stmt = (select(pending, patients.c.display_name.label("patient_name"))
            .join(patients, patients.c.id == pending.c.patient_id)
            .where(and_(pending.c.status == "open", pending.c.event_id.is_not(None))))
    if visible is not None:
        stmt = stmt.where(visible)
    return [dict(r) for r in conn.execute(stmt.order_by(pending.c.expires_at, pending.c.id))
            .mappings()]


def confirmation_for_event(conn: Connection, patient_id: int, event_id: str) -> Row | None:
    """The (latest) confirmation row of a recorded refill, whatever its status."""
    row = conn.execute(select(pending).where(and_(
        pending.c.patient_id == patient_id, pending.c.event_id == event_id))
        .order_by(pending.c.id.desc())).mappings().first()
    return dict(row) if row is not None else None


def mark_escalated(conn: Connection, pending_id: int, at: datetime) -> bool:
    """Set ``escalated_at`` once (True: this call escalated it)."""
    result = conn.execute(update(pending).where(and_(pending.c.id == pending_id,
                                                     pending.c.escalated_at.is_(None)))
                          .values(escalated_at=at))
    return result.rowcount == 1


def mark_notified(conn: Connection, pending_id: int, at: datetime | None, detail: str) -> None:
    conn.execute(update(pending).where(pending.c.id == pending_id)
                 .values(notified_at=at, notify_detail=detail[:2000]))
