"""The read-only views and side-effect-free checks the pages use (thecal.service.views,
thecal.service.home, check_program_change, assessments by muscle group)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from thecal import service
from thecal.clinical.refill import bridge_bolus_words
from thecal.device.alarms import ALARM_KINDS
from thecal.errors import InputError, NotFoundError, PermissionDeniedError
from thecal.service import pages
from thecal.service.results import User
from thecal.service.testing import World
from thecal.store.tables import audit, pending
from thecal.timeline import Assessment


def _count(world: World, table: Any) -> int:
    with world.clinic.transaction() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def test_formulary_lists_maintenance_concentrations(world: World) -> None:
    entries = service.formulary(world.clinic, world.actor("nurse"))
    concs = [e.concentration_mcg_per_ml for e in entries]
    assert concs == sorted(concs) and 500.0 in concs and 2000.0 in concs
    assert 50.0 not in concs  # the screening strength is not for refills
    assert all(e.label.startswith(f"{e.concentration_mcg_per_ml:g} mcg/mL") for e in entries)
    with pytest.raises(PermissionDeniedError):
        service.formulary(world.clinic, world.actor("patient"))


def test_check_program_change_writes_nothing(world: World) -> None:
    clinic, actor = world.clinic, world.actor("clinician")
    audits, pendings = _count(world, audit), _count(world, pending)
    within = service.check_program_change(clinic, actor, world.patient_a,
                                          {"mode": "continuous", "daily_dose": "110 mcg/day"})
    beyond = service.check_program_change(clinic, actor, world.patient_a,
                                          {"mode": "continuous", "daily_dose": "2500 mcg/day"})
    with pytest.raises(InputError):
        service.check_program_change(clinic, actor, world.patient_a,
                                     {"mode": "continuous", "daily_dose": "30"})
    assert (_count(world, audit), _count(world, pending)) == (audits, pendings)
    assert within.assessment.allowed is True
    assert within.assessment.comparison.old_daily_total_mcg == 100.0
    assert within.assessment.comparison.new_daily_total_mcg == 110.0
    assert within.assessment.titration is not None and within.assessment.titration.allowed
    assert beyond.assessment.allowed is False
    assert beyond.as_dict()["guardrail"] == {"classification": "above-absolute", "reasons": [
        r.as_dict() for r in beyond.assessment.guardrail_reasons]}
    assert "cannot be sent" in beyond.assessment.refusal
    # proposing (and so sending) it is still refused
    with pytest.raises(InputError):
        service.propose_program_change(clinic, actor, world.patient_a,
                                       {"mode": "continuous", "daily_dose": "2500 mcg/day"},
                                       3)


def test_check_program_change_needs_access(world: World) -> None:
    with pytest.raises(NotFoundError):
        service.check_program_change(world.clinic, world.actor("clinician_b"), world.patient_a,
                                     {"mode": "continuous", "daily_dose": "110 mcg/day"})
    with pytest.raises(PermissionDeniedError):
        service.check_program_change(world.clinic, world.actor("patient"), world.patient_a,
                                     {"mode": "continuous", "daily_dose": "110 mcg/day"})


def test_refill_record_by_event_id(world: World) -> None:
    clinic, nurse = world.clinic, world.actor("nurse")
    proposal = service.propose_refill(clinic, nurse, world.patient_a, withdrawn="1 mL",
                                      added="5 mL", concentration="500 mcg/mL")
    assert proposal.discrepancy is True
    recorded = service.record_refill(clinic, nurse, world.patient_a, withdrawn="1 mL",
                                     added="5 mL", concentration="500 mcg/mL",
                                     expected_version=3, reason="needle checked",
                                     drug=service.DrugDetails(lot="LB1", expiry="2030-01-31"))
    assert recorded.event is not None and recorded.proposal is not None
    event_id = str(recorded.event.event.id)
    again = service.refill_record(clinic, nurse, world.patient_a, event_id)
    assert again.analysis.expected_residual_ml == pytest.approx(proposal.expected_residual_ml)
    assert again.analysis.discrepancy is True and again.refill.reason == "needle checked"
    assert again.analysis.after.refill_due_by == recorded.proposal.after.refill_due_by
    assert again.patient.display_name == "Alice Example"
    with pytest.raises(NotFoundError):
        service.refill_record(clinic, nurse, world.patient_a, "ev-nope")
    with pytest.raises(NotFoundError):
        service.refill_record(clinic, world.actor("patient"), world.patient_a, event_id)


def test_bridge_bolus_has_words(world: World) -> None:
    result = service.propose_refill(world.clinic, world.actor("nurse"), world.patient_a,
                                    withdrawn="1 mL", added="10 mL",
                                    concentration="2000 mcg/mL")
    assert result.concentration_change is True and result.bridge_bolus is not None
    assert bridge_bolus_words(result.bridge_bolus).startswith("bridge bolus of ")
    assert result.bridge_bolus.summary == bridge_bolus_words(result.bridge_bolus)
    assert result.daily_dose_mcg == 100.0
    assert result.new_rate_ml_per_day == pytest.approx(0.05)


def test_triage_inbox_lists_reports_with_their_triage(world: World) -> None:
    service.report_symptoms(world.clinic, world.actor("patient"), world.patient_a,
                            ["high-fever", "itching"])
    items = service.triage_inbox(world.clinic, world.actor("nurse"))
    assert items[0].patient_id == str(world.patient_a)
    assert items[0].answer.urgency == "emergency"
    assert "high fever / hyperthermia" in items[0].symptoms
    assert service.triage_inbox(world.clinic, world.actor("clinician_b")) == []
    with pytest.raises(PermissionDeniedError):
        service.triage_inbox(world.clinic, world.actor("patient"))


def test_care_teams(world: World) -> None:
    team = service.site_care_team(world.clinic, world.actor("nurse"))
    roles = {m.name: m.team_role for m in team}
    assert roles["Clinician"] == "physician" and roles["Nurse"] == "itb-nurse"
    assert all(m.responsibilities for m in team)
    own = service.patient_care_team(world.clinic, world.actor("patient"), world.patient_a)
    assert {m.name for m in own} >= {"Clinician", "Nurse"}
    with pytest.raises(NotFoundError):
        service.patient_care_team(world.clinic, world.actor("patient"), world.patient_b)


def test_patient_home(world: World) -> None:
    home = service.patient_home(world.clinic, world.actor("caregiver"), world.patient_a)
    assert home.pump.days_of_drug_left is not None and home.pump.days_of_drug_left > 0
    assert home.pump.header.refill_due_by and home.pump.header.low_reservoir_alarm_at
    assert [a.sound for a in home.pump.alarms] == ["single tone", "two-tone"]
    assert home.card is not None and home.card.pump.startswith("SynchroMed II 40 mL")
    assert any("MRI" in line for line in home.card.warnings)
    assert {i.key for i in home.recovery.items} >= {"call-at-once", "activity-restrictions"}
    # the refill-due state is of the twin's refill-due instant (clinical.refill_due)
    assert home.pump.refill_due is not None
    assert home.pump.refill_due.due_by == home.pump.header.refill_due_by
    with pytest.raises(NotFoundError):
        service.patient_home(world.clinic, world.actor("caregiver"), world.patient_b)


def test_symptom_vocabulary_and_alarms() -> None:
    vocabulary = service.symptom_vocabulary()
    fever = next(s for s in vocabulary if s.code == "high-fever")
    assert fever.patient_words == "A high temperature (fever)"
    assert fever.group.startswith("Serious signs")
    assert {a.urgency for a in service.alarm_meanings()} == {"soon", "urgent"}


def test_chart_series(world: World) -> None:
    series = service.chart_series(world.clinic, world.actor("clinician"), world.patient_a,
                                  days=30, every_h=6)
    assert series.reservoir and series.daily_dose and series.csf_level and series.tone
    assert series.daily_dose.points[-1].value == 100.0
    assert min(p.value for p in series.reservoir.points) >= 0.0
    assert "virtual patient" in series.csf_level.source


def test_checklists_from_form_answers(world: World) -> None:
    actor = world.actor("clinician")
    result = service.eligibility_checklist(world.clinic, actor, world.patient_a,
                                           {"baclofen_allergy": "yes",
                                            "oral_baclofen.tried": "yes"})
    assert result.verdict == "not a candidate"
    allergy = next(q for q in result.items if q.key == "baclofen_allergy")
    assert allergy.status == "not-met" and allergy.answer == "yes"
    criterion = next(c for c in result.items if c.key == "no-baclofen-allergy")
    assert criterion.detail == "excludes" and criterion.source
    with pytest.raises(InputError):
        service.eligibility_checklist(world.clinic, actor, world.patient_a,
                                      {"months_since_brain_injury": "soon"})
    plan = service.screening_checklist(world.clinic, actor, world.patient_a,
                                       {"small_patient": "yes"})
    assert [i.text.split(":")[1].split(" mcg")[0].strip() for i in plan.items[1:]] == [
        "25", "50", "75", "100"]


def test_assessment_by_muscle_group(world: World) -> None:
    """One vocabulary (the timeline's groups with their side), stored as the structured
    ``mas_by_muscle`` field, not as words in the notes; the overall grade the highest."""
    stored = service.record_assessment(world.clinic, world.actor("nurse"), world.patient_a,
                                       {"mas_by_muscle": {"knee-extensors-right": "1",
                                                          "hip-flexors-left": "1+"}}, 3)
    assert isinstance(stored.event, Assessment) and stored.event.mas == "1+"
    # in the vocabulary's order (hip-flexors before knee-extensors), nothing in the notes
    assert stored.event.mas_by_muscle == (("hip-flexors-left", "1+"), ("knee-extensors-right", "1"))
    assert stored.event.notes is None
    # an overall grade given with the groups is kept as given
    both = service.record_assessment(world.clinic, world.actor("nurse"), world.patient_a,
                                     {"mas": "2", "mas_by_muscle": {"hip-flexors-left": "1"}}, 4)
    assert isinstance(both.event, Assessment) and both.event.mas == "2"
    for bad, where in (({"hip-flexors-left": "5"}, "mas_by_muscle.hip-flexors-left"),
                       ({"hip-flexors": "1"}, "mas_by_muscle.hip-flexors"),  # no side
                       ("2", "mas_by_muscle")):
        with pytest.raises(InputError) as refused:
            service.record_assessment(world.clinic, world.actor("nurse"), world.patient_a,
                                      {"mas_by_muscle": bad}, 5)
        assert refused.value.where == where
    # the key of the pages' first version is not an API field
    with pytest.raises(InputError) as refused:
        service.record_assessment(world.clinic, world.actor("nurse"), world.patient_a,
                                  {"mas_by_group": {"hip-flexors-left": "1"}}, 5)
    assert refused.value.where == "mas_by_group"


def test_chart_header_shows_the_alarms_sounding(world: World) -> None:
    # Patient A: 40 mL of 500 mcg/mL at 100 mcg/day = 0.2 mL/day from 5 Jan 2026, so about
    # 200 days of drug. On 1 Mar (55 days, ~29 mL left) no alarm sounds; 400 days after the
    # refill the reservoir has been empty for ~200 days: the empty-reservoir alarm (high) is
    # sounding, listed before the low-reservoir one (medium).
    actor = world.actor("clinician")
    user = User(str(actor.user_id), "Clinician", "clinician", actor)
    assert pages.chart(world.clinic, user, str(world.patient_a)).header.alarms_sounding == ()
    world.clock.advance(timedelta(days=400))
    sounding = pages.chart(world.clinic, user, str(world.patient_a)).header.alarms_sounding
    assert sounding[0] == ALARM_KINDS["empty-reservoir"].message
    assert ALARM_KINDS["low-reservoir"].message in sounding[1:]
