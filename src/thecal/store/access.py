"""Row changes that end someone's access: deactivate, revoke sessions and tokens, unlink.

Rows only; who may do it, and the audit row that says it was done, are the service's
(``thecal.service.admin``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, and_, delete, update

from thecal.store.tables import api_tokens, care_team, caregiver_links, sessions, users


def set_user_active(conn: Connection, user_id: int, active: bool) -> bool:
    result = conn.execute(update(users).where(users.c.id == user_id).values(active=active))
    return result.rowcount == 1


def revoke_user_sessions(conn: Connection, user_id: int, at: datetime) -> int:
    result = conn.execute(update(sessions).where(and_(sessions.c.user_id == user_id,
                                                      sessions.c.revoked_at.is_(None)))
                          .values(revoked_at=at))
    return int(result.rowcount)


def revoke_user_tokens(conn: Connection, user_id: int, at: datetime) -> int:
    result = conn.execute(update(api_tokens).where(and_(api_tokens.c.user_id == user_id,
                                                        api_tokens.c.revoked_at.is_(None)))
                          .values(revoked_at=at))
    return int(result.rowcount)


def unlink_caregiver(conn: Connection, caregiver_user_id: int, patient_id: int) -> bool:
    result = conn.execute(delete(caregiver_links).where(and_(
        caregiver_links.c.caregiver_user_id == caregiver_user_id,
        caregiver_links.c.patient_id == patient_id)))
    return result.rowcount == 1


def remove_care_team(conn: Connection, patient_id: int, user_id: int) -> bool:
    result = conn.execute(delete(care_team).where(and_(care_team.c.patient_id == patient_id,
                                                       care_team.c.user_id == user_id)))
    return result.rowcount == 1
