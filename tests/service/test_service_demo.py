"""The demo clinic: created once, the worklist shows an overdue refill, refills due this week,
a discrepancy and a triaged symptom report."""

from __future__ import annotations

from thecal.demo import LOGINS, create_demo
from thecal.service import Clinic, login, patient_chart, worklist
from thecal.store import audit


def test_demo_is_idempotent_and_shows_the_clinic_cases(clinic: Clinic) -> None:
    if clinic.backend != "sqlite":
        return  # once is enough; the service is the same on both back ends
    first = create_demo(clinic, patients_count=12)
    second = create_demo(clinic, patients_count=12)
    assert first.created and not second.created
    assert sorted(second.patient_ids) == sorted(first.patient_ids)
    user, _, password = LOGINS[0]
    actor = login(clinic, user, password).actor
    items = worklist(clinic, actor)
    assert len(items) == 12
    reasons = [" ".join(i.reasons) for i in items]
    assert "overdue" in reasons[0] and "symptom report" in reasons[0]
    assert sum("refill due in" in r for r in reasons) >= 5
    assert any("open finding" in r for r in reasons)
    for name, role, password in LOGINS:
        assert login(clinic, name, password).actor.role == role
    chart = patient_chart(clinic, actor, first.patient_ids[0])
    assert chart.symptom_reports and chart.symptom_reports[-1]["triage"]["urgency"]
    assert chart.implants and chart.implants[0]["pump_serial"]
    with clinic.engine.connect() as conn:
        assert audit.verify_chain(conn).ok
