"""The worklist's SQL shortcut orders patients exactly as scoring every patient would."""

from __future__ import annotations

from datetime import timedelta

import pytest

from thecal.demo import LOGINS, create_demo
from thecal.service import Clinic, FrozenClock, login, worklist
from thecal.service.worklist import item_of, ordered
from thecal.store import worklist as worklist_store


@pytest.mark.parametrize("days_later", [0, 9, 40, 200])
def test_worklist_matches_scoring_every_patient(clinic: Clinic, clock: FrozenClock,
                                                days_later: int) -> None:
    create_demo(clinic, patients_count=16)
    user, _, password = LOGINS[0]
    actor = login(clinic, user, password).actor
    clock.advance(timedelta(days=days_later))  # alarms start sounding, refills fall due
    now = clinic.now()
    with clinic.engine.connect() as conn:
        naive = ordered([item_of(row, now) for row in worklist_store.all_rows(conn)])
    got = worklist(clinic, actor, limit=1000)
    assert [i.patient_id for i in got] == [i.patient_id for i in naive]
    assert [i.priority for i in got] == [i.priority for i in naive]
    top = worklist(clinic, actor, limit=5)
    assert [i.patient_id for i in top] == [i.patient_id for i in naive[:5]]


def test_every_priority_rule_has_its_sql_condition() -> None:
    from thecal.clinical.worklist import PRIORITY_RULES

    assert set(worklist_store.RULE_CONDITIONS) == {rule.code for rule in PRIORITY_RULES}
