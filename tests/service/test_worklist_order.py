"""The worklist's SQL shortcut orders patients exactly as scoring every patient would."""

from __future__ import annotations

from datetime import timedelta

import pytest

from thecal.demo import LOGINS, create_demo
from thecal.service import Clinic, FrozenClock, login, worklist
from thecal.service.escalation import escalate_overdue
from thecal.service.worklist import confirmation_states, item_of, ordered
from thecal.store import worklist as worklist_store


@pytest.mark.parametrize("days_later", [0, 9, 40, 200])
def test_worklist_matches_scoring_every_patient(clinic: Clinic, clock: FrozenClock,
                                                days_later: int) -> None:
    create_demo(clinic, patients_count=16)
    user, _, password = LOGINS[0]
    actor = login(clinic, user, password).actor
    clock.advance(timedelta(days=days_later))  # alarms start sounding, refills fall due
    now = clinic.now()
    escalate_overdue(clinic)  # as worklist() does first
    with clinic.engine.connect() as conn:
        # the demo's open second signatures (issue 11) are facts of every patient's rule
        states = confirmation_states(conn, now)
        assert states  # the demo has one
        naive = ordered([item_of(row, now, states.get(row.patient_id, ()))
                         for row in worklist_store.all_rows(conn)])
    got = worklist(clinic, actor, limit=1000)
    assert [i.patient_id for i in got] == [i.patient_id for i in naive]
    assert [i.priority for i in got] == [i.priority for i in naive]
    top = worklist(clinic, actor, limit=5)
    assert [i.patient_id for i in top] == [i.patient_id for i in naive[:5]]


def test_every_priority_rule_has_its_sql_condition() -> None:
    from thecal.clinical.worklist import PRIORITY_RULES

    assert set(worklist_store.RULE_CONDITIONS) == {rule.code for rule in PRIORITY_RULES}
