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
    # issue 11: the demo's open emergency case (triage-emergency, 120) is first; then the
    # escalated second signature (110); then the overdue patient with a symptom report
    assert items[0].urgency is not None and items[0].urgency.value == "emergency"
    assert items[0].priority.codes[0] == "triage-emergency"
    assert "second confirmation overdue" in reasons[1] and "(escalated)" in reasons[1]
    assert "overdue" in reasons[2] and "symptom report" in reasons[2]
    assert sum("refill due in" in r for r in reasons) >= 5
    assert any("open finding" in r for r in reasons)
    for name, role, password in LOGINS:
        assert login(clinic, name, password).actor.role == role
    chart = patient_chart(clinic, actor, first.patient_ids[0])
    reports = chart.as_dict()["symptom_reports"]
    assert isinstance(reports, list) and reports and reports[-1]["triage"]["urgency"]
    assert chart.implants and chart.implants[0].pump_serial
    with clinic.engine.connect() as conn:
        assert audit.verify_chain(conn).ok


def test_demo_histories_are_made_by_the_simulator(clinic: Clinic) -> None:
    """Each demo patient is a virtual patient: every assessment is what the simulated patient
    showed then, and the titrated dose is inside the recommended range and the pump."""
    import dataclasses

    from thecal.clinical.titration import daily_dose_guardrail
    from thecal.demo import SAMPLE_EVERY_H
    from thecal.service.twin import build_timeline
    from thecal.service.views import virtual_patient
    from thecal.sim.scenario import run_scenario
    from thecal.store import events as event_store
    from thecal.store import records
    from thecal.timeline import Timeline

    if clinic.backend != "sqlite":
        return
    demo = create_demo(clinic, patients_count=10)
    at_least_two_grades = 0
    for pid in demo.patient_ids:
        with clinic.transaction() as conn:
            patient = records.get_patient(conn, pid)
            assert patient is not None
            timeline = build_timeline(patient, event_store.list_events(conn, pid))
        first = timeline.events[0].at
        age = timeline.patient.age_years(clinic.now())
        spec = virtual_patient(patient["etiology"], age, patient["mrn"])
        virtual = Timeline(dataclasses.replace(timeline.patient, physiology=spec),
                           timeline.events)
        assessments = [e for e in timeline.events if e.type == "assessment"]
        assert len(assessments) >= 2  # a baseline at implant and at least one visit
        trace = run_scenario(virtual, assessments[-1].at, every_h=SAMPLE_EVERY_H)
        for e in assessments:
            k = int((e.at - first).total_seconds() / 3600 // SAMPLE_EVERY_H)
            assert e.mas == trace.mas_category[k]  # type: ignore[attr-defined]
            assert e.penn_frequency == round(float(  # type: ignore[attr-defined]
                trace.columns["penn_frequency"][k]))
        at_least_two_grades += len({e.mas for e in assessments}) > 1  # type: ignore[attr-defined]
        doses = [e for e in timeline.events if e.type == "program"]
        final = float(doses[-1].daily_dose_mcg)  # type: ignore[attr-defined]
        guard = daily_dose_guardrail(patient["etiology"], age)
        assert guard.recommended_min <= final <= guard.recommended_max
    assert at_least_two_grades == len(demo.patient_ids)  # the drug changed every patient's tone
