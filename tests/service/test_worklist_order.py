"""The worklist's SQL shortcut orders patients exactly as scoring every patient would."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from thecal.demo import LOGINS, create_demo
from thecal.service import Clinic, FrozenClock, login, worklist
from thecal.service.worklist import score
from thecal.store.tables import patients, projections


@pytest.mark.parametrize("days_later", [0, 9, 40, 200])
def test_worklist_matches_scoring_every_patient(clinic: Clinic, clock: FrozenClock,
                                                days_later: int) -> None:
    create_demo(clinic, patients_count=16)
    user, _, password = LOGINS[0]
    actor = login(clinic, user, password).actor
    clock.advance(timedelta(days=days_later))  # alarms start sounding, refills fall due
    now = clinic.now()
    with clinic.engine.connect() as conn:
        rows = [dict(r) for r in conn.execute(
            select(patients.c.id, projections).select_from(
                patients.outerjoin(projections, projections.c.patient_id == patients.c.id))
        ).mappings()]
    far = now + timedelta(days=100 * 365)
    naive = sorted(rows, key=lambda r: (-score(r, now)[0], r["refill_due_by"] or far, r["id"]))
    got = worklist(clinic, actor, limit=1000)
    assert [i.patient_id for i in got] == [r["id"] for r in naive]
    assert [i.urgency for i in got] == [score(r, now)[0] for r in naive]
    top = worklist(clinic, actor, limit=5)
    assert [i.patient_id for i in top] == [r["id"] for r in naive[:5]]
