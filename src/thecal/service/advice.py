"""Assessments, symptom reports with their triage, and the clinical advice use cases.

The rules live in ``thecal.clinical``; these use cases load the patient's timeline, build
the inputs (the pump state for the triage, the current dose for a titration), call the rule
and audit the read or the write.
"""

from __future__ import annotations

import contextlib
import dataclasses
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from thecal.catalog import pump_model
from thecal.clinical.assessment import grades_in_words, mas_value, overall_mas
from thecal.clinical.context import pump_context_from_twin
from thecal.clinical.eligibility import assess_eligibility
from thecal.clinical.program import daily_total_mcg
from thecal.clinical.screening import screening_plan as plan_screening
from thecal.clinical.titration import DoseStep, suggest_titration
from thecal.clinical.triage import TriageResult, triage
from thecal.errors import CatalogError, InputError
from thecal.service import authz
from thecal.service.actors import Actor
from thecal.service.cases import Contacts, contacts_of, open_symptom_case
from thecal.service.clinic import Clinic
from thecal.service.medicines import medicines_in
from thecal.service.patients import append_in
from thecal.service.twin import build_timeline, project_full
from thecal.store import events as event_store
from thecal.store import records
from thecal.store.worklist import urgency_code
from thecal.timeline import (
    CatheterRevision,
    Implant,
    Mri,
    Program,
    Refill,
    ReplacePump,
    Timeline,
    parse_event,
)
from thecal.units import same_concentration


def _new_id() -> str:
    return f"ev-{uuid.uuid4().hex[:16]}"


def record_assessment(clinic: Clinic, actor: Actor, patient_id: int, data: dict[str, Any],
                      expected_version: int, *, at: datetime | None = None) -> dict[str, Any]:
    """Append an ``assessment`` event (mas, penn_frequency, penn_severity, notes).

    ``mas_by_group`` (muscle group → grade, groups of
    :data:`thecal.clinical.assessment.MUSCLE_GROUPS`) may replace ``mas``: the overall grade
    is the highest group grade and the group grades are kept in the notes.
    """
    def body(conn: Connection) -> dict[str, Any]:
        patient = authz.patient_for(conn, actor, authz.ASSESS, patient_id)
        if not isinstance(data, dict):
            raise InputError("the assessment must be an object", where="assessment")
        allowed = {"mas", "mas_by_group", "penn_frequency", "penn_severity", "notes", "reason"}
        for key in data:
            if key not in allowed:
                raise InputError(f"unknown assessment field {key!r}", where=key,
                                 fix=f"use: {', '.join(sorted(allowed))}")
        data_ = dict(data)
        by_group = data_.pop("mas_by_group", None)
        if by_group:
            if not isinstance(by_group, dict):
                raise InputError("mas_by_group must map muscle groups to grades",
                                 where="mas_by_group", fix='e.g. {"hip-flexors": "2"}')
            for group, grade in by_group.items():
                try:
                    mas_value(str(grade))
                except InputError as exc:
                    raise exc.located(f"mas_by_group.{group}") from None
            data_["mas"] = data_.get("mas") or overall_mas(by_group)
            words = grades_in_words(by_group)
            data_["notes"] = f"{words}. {data_['notes']}" if data_.get("notes") else words
        when = at or clinic.now()
        raw = {"at": when.isoformat(), "type": "assessment", "id": _new_id(),
               "by": actor.username, **{k: v for k, v in data_.items() if v is not None}}
        try:
            event = parse_event(raw, where="assessment")
        except InputError as exc:
            raise type(exc)(exc.message, where=(exc.where or "").removeprefix("assessment.")
                            or None, fix=exc.fix) from None
        return append_in(clinic, conn, actor, patient, event, expected_version,
                         action="assessment.record")

    return clinic.run(actor, "assessment.record", body, patient_id=patient_id,
                      entity="assessment")


def _triage_state(timeline: Timeline, projection: dict[str, Any]) -> dict[str, Any]:
    """The twin state as :func:`pump_context_from_twin` reads it (by attribute name)."""
    pump = projection.get("pump") or {}
    state: dict[str, Any] = {"reservoir_ml": pump.get("reservoir_ml"),
                             "pump_state": pump.get("state"),
                             "alarms": projection.get("alarms") or []}
    if pump.get("model"):
        with contextlib.suppress(CatalogError):
            model = pump_model(str(pump["model"]))
            state["low_reservoir_alarm_ml"] = model.low_reservoir_alarm_ml
    concentration: float | None = None
    for _, ev in timeline.effective_events():
        if isinstance(ev, Refill):
            state["last_refill_at"] = ev.at
            new_conc = ev.concentration_mcg_per_ml
            if concentration is not None and not same_concentration(concentration, new_conc):
                state["concentration_changed_at"] = ev.at
            concentration = ev.concentration_mcg_per_ml
        elif isinstance(ev, Program):
            state["last_program_change_at"] = ev.at
        elif isinstance(ev, Mri):
            state["last_mri_at"] = ev.at
        elif isinstance(ev, CatheterRevision):
            state["last_catheter_revision_at"] = ev.at
        elif isinstance(ev, Implant | ReplacePump):
            state.setdefault("implanted_at", ev.at)
    return state


@dataclass(frozen=True)
class SymptomReport:
    """A recorded symptom report (the stored event) and the triage it was given."""

    event: dict[str, Any]
    triage: TriageResult
    case_id: int | None = None
    contacts: Contacts | None = None

    def as_dict(self) -> dict[str, object]:
        return {"event": self.event, "triage": self.triage.as_dict(), "case_id": self.case_id,
                "contacts": self.contacts.as_dict() if self.contacts else None}


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
        raw: dict[str, Any] = {"at": when.isoformat(), "type": "symptoms", "codes": codes,
                               "id": _new_id(), "by": actor.username}
        if note:
            raw["reason"] = note
        try:
            event = parse_event(raw, where="symptoms")
        except InputError as exc:
            raise type(exc)(exc.message, where=(exc.where or "").removeprefix("symptoms.")
                            or None, fix=exc.fix) from None
        rows = event_store.list_events(conn, patient_id)
        timeline = build_timeline(patient, rows)
        projected, state = project_full(timeline, when)
        # the twin state has the attributes the adapter reads; the dict is the fallback
        context = pump_context_from_twin(state if state is not None
                                         else _triage_state(timeline, projected), when)
        due = projected.get("refill_due_by")
        if due and context.refill_overdue is None:
            due_at = datetime.fromisoformat(str(due)) if isinstance(due, str) else due
            context = dataclasses.replace(context, refill_overdue=bool(when > due_at))
        result = triage(list(codes), list(modifiers or ()), context)
        answer = result.as_dict()
        summary = {"urgency": result.urgency.value, "rank": urgency_code(result.urgency),
                   "at": when.isoformat(), "codes": list(codes),
                   "actions": answer["actions"], "advice": answer["advice"]}
        stored = append_in(clinic, conn, actor, patient, event, expected_version,
                           action="symptoms.report", triage=summary)
        case_id = open_symptom_case(clinic, conn, actor, patient, str(event.id), when, result,
                                    note)
        site = records.get_site(conn, int(patient["site_id"])) or {}
        return SymptomReport(stored, result, case_id, contacts_of(site.get("settings")))

    return clinic.run(actor, "symptoms.report", body, patient_id=patient_id, entity="symptoms")


def eligibility(clinic: Clinic, actor: Actor, patient_id: int, data: dict[str, Any]
                ) -> dict[str, Any]:
    """Eligibility for ITB from a candidate record (the patient's etiology by default)."""
    def body(conn: Connection) -> dict[str, Any]:
        patient = authz.patient_for(conn, actor, authz.ADVICE, patient_id)
        record = {"etiology": patient["etiology"], **(data or {})}
        if medicines_in(conn, patient_id).baclofen_allergy:
            record["baclofen_allergy"] = True  # recorded on the chart: a contraindication
        result = assess_eligibility(record).as_dict()
        clinic.audit(conn, actor, "patient.read", entity="patient", entity_id=str(patient_id),
                     patient_id=patient_id, field="eligibility")
        return result

    return clinic.run(actor, "advice.eligibility", body, patient_id=patient_id,
                      entity="eligibility")


def screening_plan(clinic: Clinic, actor: Actor, patient_id: int, data: dict[str, Any]
                   ) -> dict[str, Any]:
    """The screening test-dose plan (``small_patient``, ``first_dose_at``)."""
    def body(conn: Connection) -> dict[str, Any]:
        authz.patient_for(conn, actor, authz.ADVICE, patient_id)
        data_ = data or {}
        unknown = set(data_) - {"small_patient", "first_dose_at"}
        if unknown:
            raise InputError(f"unknown field {sorted(unknown)[0]!r}", where=sorted(unknown)[0],
                             fix="use small_patient and first_dose_at")
        first = data_.get("first_dose_at")
        first_at = None
        if first is not None:
            try:
                first_at = datetime.fromisoformat(str(first))
            except ValueError:
                raise InputError(f"{first!r} is not a date-time", where="first_dose_at",
                                 fix="write e.g. 2026-01-05T09:00:00+01:00") from None
        result = plan_screening(small_patient=bool(data_.get("small_patient", False)),
                                first_dose_at=first_at).as_dict()
        clinic.audit(conn, actor, "patient.read", entity="patient", entity_id=str(patient_id),
                     patient_id=patient_id, field="screening")
        return result

    return clinic.run(actor, "advice.screening", body, patient_id=patient_id,
                      entity="screening")


def titration_suggestion(clinic: Clinic, actor: Actor, patient_id: int, data: dict[str, Any]
                         ) -> dict[str, Any]:
    """The next daily dose from the patient's report (``report``, ``side_effects``)."""
    def body(conn: Connection) -> dict[str, Any]:
        patient = authz.patient_for(conn, actor, authz.ADVICE, patient_id)
        data_ = data or {}
        unknown = set(data_) - {"report", "side_effects"}
        if unknown:
            raise InputError(f"unknown field {sorted(unknown)[0]!r}", where=sorted(unknown)[0],
                             fix="use report and side_effects")
        rows = event_store.list_events(conn, patient_id)
        timeline = build_timeline(patient, rows)
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
        try:
            suggestion = suggest_titration(
                steps[-1].daily_dose_mcg, patient["etiology"], timeline.patient.age_years(now),
                report, now, recent_steps=steps,
                side_effects=tuple(data_.get("side_effects") or ()))
        except InputError as exc:
            raise exc if exc.where else exc.located("report") from None
        result = suggestion.as_dict()
        not_before = result.get("not_before")
        if isinstance(not_before, datetime):
            result["not_before"] = not_before.isoformat()
        clinic.audit(conn, actor, "patient.read", entity="patient", entity_id=str(patient_id),
                     patient_id=patient_id, field="titration")
        return result

    return clinic.run(actor, "advice.titration", body, patient_id=patient_id,
                      entity="titration")
