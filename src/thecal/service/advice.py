"""Assessments, symptom reports with their triage, and the clinical advice use cases.

The rules live in ``thecal.clinical``; these use cases load the patient's timeline, build
the inputs (the pump state for the triage, the current dose for a titration), call the rule
and audit the read or the write.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection

from thecal.clinical.assessment import overall_mas
from thecal.clinical.context import pump_context_from_projection
from thecal.clinical.eligibility import EligibilityResult, assess_eligibility
from thecal.clinical.program import daily_total_mcg
from thecal.clinical.screening import ScreeningPlan
from thecal.clinical.screening import screening_plan as plan_screening
from thecal.clinical.titration import DoseStep, TitrationSuggestion, suggest_titration
from thecal.clinical.triage import TriageResult, triage
from thecal.errors import InputError
from thecal.service import authz
from thecal.service.actors import Actor
from thecal.service.cases import Contacts, contacts_of, open_symptom_case
from thecal.service.clinic import Clinic
from thecal.service.medicines import medicines_in
from thecal.service.patients import StoredEvent, add_event, new_event
from thecal.service.twin import build_timeline, project_record
from thecal.store import events as event_store
from thecal.store import records
from thecal.store.worklist import urgency_code
from thecal.timeline import Assessment, Program, Symptoms

__all__ = ["EligibilityResult", "ScreeningPlan", "SymptomReport", "TitrationSuggestion", "eligibility",
           "record_assessment", "report_symptoms", "screening_plan", "titration_suggestion"]


def _unknown(data: Mapping[str, object], allowed: set[str]) -> None:
    for key in sorted(set(data) - allowed):
        raise InputError(f"unknown field {key!r}", where=key, fix=f"use: {', '.join(sorted(allowed))}")


def record_assessment(clinic: Clinic, actor: Actor, patient_id: int, data: Mapping[str, object],
                      expected_version: int, *, at: datetime | None = None) -> StoredEvent:
    """Append an ``assessment`` event (mas, mas_by_muscle, penn_frequency, penn_severity,
    notes); the stored event.

    ``mas_by_muscle`` maps muscle groups of the timeline's vocabulary
    (:data:`thecal.timeline.MAS_MUSCLE_GROUPS`, e.g. ``hip-adductors-left``) to their grades and
    is stored as the event's structured field; without ``mas`` the overall grade is the highest
    group grade (:func:`thecal.clinical.assessment.overall_mas`).
    """
    def body(conn: Connection) -> StoredEvent:
        patient = authz.patient_for(conn, actor, authz.ASSESS, patient_id)
        if not isinstance(data, Mapping):
            raise InputError("the assessment must be an object", where="assessment")
        _unknown(data, {"mas", "mas_by_muscle", "penn_frequency", "penn_severity", "notes",
                        "reason"})
        data_ = {k: v for k, v in data.items() if v is not None and v != {}}
        by_muscle = data_.get("mas_by_muscle")
        if by_muscle is not None:
            if not isinstance(by_muscle, Mapping):
                raise InputError("mas_by_muscle must map muscle groups to grades",
                                 where="mas_by_muscle", fix='e.g. {"hip-adductors-left": "2"}')
            data_["mas"] = data_.get("mas") or overall_mas(by_muscle)
        event = new_event(actor, at or clinic.now(), Assessment, data_)
        return add_event(clinic, conn, actor, patient, event, expected_version,
                         action="assessment.record")

    return clinic.run(actor, "assessment.record", body, patient_id=patient_id,
                      entity="assessment")


@dataclass(frozen=True)
class SymptomReport:
    """A recorded symptom report (the stored event) and the triage it was given."""

    event: StoredEvent
    triage: TriageResult
    case_id: int | None = None
    contacts: Contacts | None = None

    # as_dict stays: the triage result holds its rules' conditions (functions), so it is not
    # a response model; its JSON is TriageResult.as_dict (declared by api.responses.TriageOut)
    def as_dict(self) -> dict[str, object]:
        """The API's answer: the triage as :meth:`TriageResult.as_dict` writes it."""
        return {"event": self.event.as_dict(), "triage": self.triage.as_dict(), "case_id": self.case_id,
                "contacts": dataclasses.asdict(self.contacts) if self.contacts else None}


def report_symptoms(clinic: Clinic, actor: Actor, patient_id: int, codes: list[str], *,
                    modifiers: list[str] | None = None, note: str | None = None,
                    expected_version: int | None = None, at: datetime | None = None
                    ) -> SymptomReport:
    """Append a ``symptoms`` event and triage it against the pump's projected state.

    Patients and caregivers may report without a version (a report never conflicts).
    """
    def body(conn: Connection) -> SymptomReport:
        patient = authz.patient_for(conn, actor, authz.SYMPTOMS, patient_id)
        when = at or clinic.now()
        event = new_event(actor, when, Symptoms, {"codes": codes, **({"reason": note} if note else {})})
        context = pump_context_from_projection(project_record(
            conn, patient, event_store.list_events(conn, patient_id), when), when)
        result = triage(list(codes), list(modifiers or ()), context)
        summary = {"urgency": result.urgency.value, "rank": urgency_code(result.urgency),
                   "at": when.isoformat(), "codes": list(codes),
                   "actions": [a.as_dict() for a in result.actions],
                   "advice": {"patient": result.advice_patient, "clinician": result.advice_clinician}}
        stored = add_event(clinic, conn, actor, patient, event, expected_version,
                           action="symptoms.report", triage=summary)
        case_id = open_symptom_case(clinic, conn, actor, patient, str(event.id), when, result,
                                    note)
        site = records.get_site(conn, int(patient["site_id"])) or {}
        return SymptomReport(stored, result, case_id, contacts_of(site.get("settings")))

    return clinic.run(actor, "symptoms.report", body, patient_id=patient_id, entity="symptoms")


def eligibility(clinic: Clinic, actor: Actor, patient_id: int, data: Mapping[str, object] | None
                ) -> EligibilityResult:
    """Eligibility for ITB from a candidate record (the patient's etiology by default)."""
    def body(conn: Connection) -> EligibilityResult:
        patient = authz.patient_for(conn, actor, authz.ADVICE, patient_id)
        record = {"etiology": patient["etiology"], **(data or {})}
        if medicines_in(conn, patient_id).baclofen_allergy:
            record["baclofen_allergy"] = True  # recorded on the chart: a contraindication
        result = assess_eligibility(record)
        clinic.audit(conn, actor, "patient.read", entity="patient", entity_id=str(patient_id),
                     patient_id=patient_id, field="eligibility")
        return result

    return clinic.run(actor, "advice.eligibility", body, patient_id=patient_id,
                      entity="eligibility")


def screening_plan(clinic: Clinic, actor: Actor, patient_id: int, data: Mapping[str, object] | None
                   ) -> ScreeningPlan:
    """The screening test-dose plan (``small_patient``, ``first_dose_at``)."""
    def body(conn: Connection) -> ScreeningPlan:
        authz.patient_for(conn, actor, authz.ADVICE, patient_id)
        data_ = data or {}
        _unknown(data_, {"small_patient", "first_dose_at"})
        first = data_.get("first_dose_at")
        first_at = None
        if first is not None:
            try:
                first_at = datetime.fromisoformat(str(first))
            except ValueError:
                raise InputError(f"{first!r} is not a date-time", where="first_dose_at",
                                 fix="write e.g. 2026-01-05T09:00:00+01:00") from None
        result = plan_screening(small_patient=bool(data_.get("small_patient", False)),
                                first_dose_at=first_at)
        clinic.audit(conn, actor, "patient.read", entity="patient", entity_id=str(patient_id),
                     patient_id=patient_id, field="screening")
        return result

    return clinic.run(actor, "advice.screening", body, patient_id=patient_id,
                      entity="screening")


def titration_suggestion(clinic: Clinic, actor: Actor, patient_id: int,
                         data: Mapping[str, object] | None) -> TitrationSuggestion:
    """The next daily dose from the patient's report (``report``, ``side_effects``)."""
    def body(conn: Connection) -> TitrationSuggestion:
        patient = authz.patient_for(conn, actor, authz.ADVICE, patient_id)
        data_ = data or {}
        _unknown(data_, {"report", "side_effects"})
        timeline = build_timeline(patient, event_store.list_events(conn, patient_id))
        now = clinic.now()
        steps = tuple(DoseStep(ev.at, daily_total_mcg(ev)) for _, ev in timeline.effective_events()
                      if isinstance(ev, Program) and ev.mode != "stopped" and ev.at <= now)
        if not steps:
            raise InputError("no running program on record to titrate from", where="patient_id",
                             fix="record the first program after the implant")
        report = data_.get("report")
        if not isinstance(report, str):
            raise InputError("say how the spasticity is", where="report",
                             fix="too-tight, about-right or too-loose")
        side_effects = data_.get("side_effects") or ()
        if not isinstance(side_effects, list | tuple):
            raise InputError("side_effects is a list of symptom codes", where="side_effects")
        try:
            suggestion = suggest_titration(
                steps[-1].daily_dose_mcg, patient["etiology"], timeline.patient.age_years(now),
                report, now, recent_steps=steps, side_effects=tuple(str(c) for c in side_effects))
        except InputError as exc:
            raise exc if exc.where else exc.located("report") from None
        clinic.audit(conn, actor, "patient.read", entity="patient", entity_id=str(patient_id),
                     patient_id=patient_id, field="titration")
        return suggestion

    return clinic.run(actor, "advice.titration", body, patient_id=patient_id,
                      entity="titration")
