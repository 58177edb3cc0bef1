"""The one-page visit report of a refill or clinic visit, as a frozen typed result.

Read in one transaction: the patient's identifiers, the pump and catheter, the last refill
(drug, concentration, lot), the reservoir before (withdrawn) and after, the discrepancy at this
refill and at every earlier one (the trend carries the signal, a single reading is noisy:
WESEMANN, clinical-facts 9.2), the program, a bridge bolus given after the refill, the
assessments over time, the alarms, the next refill-due date and the booked appointment. The
words around the figures are the template's (``web/templates/report/visit_report.html``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Connection

from thecal.catalog import catheter_model, formulation_for, pump_model
from thecal.clinical.assessment import MuscleGrades, muscle_grades
from thecal.clinical.projection import project
from thecal.service import authz
from thecal.service.actors import Actor
from thecal.service.clinic import Clinic
from thecal.service.scheduling import AppointmentView, booked_appointments
from thecal.service.twin import build_timeline
from thecal.store import events as event_store
from thecal.timeline import Assessment, Bolus, CatheterRevision, Implant, Refill, ReplacePump


@dataclass(frozen=True)
class RefillLine:
    at: datetime
    withdrawn_ml: float
    expected_ml: float | None
    discrepancy_ml: float | None
    added_ml: float
    concentration_mcg_per_ml: float
    lot: str | None = None


@dataclass(frozen=True)
class AssessmentPoint:
    at: datetime
    mas: str | None
    penn_frequency: int | None


@dataclass(frozen=True)
class VisitReport:
    patient_id: int
    mrn: str
    display_name: str
    born: date | None
    zone: str
    at: datetime
    pump: str | None  # manufacturer and model (None: none recorded)
    pump_serial: str | None
    catheter: str | None
    drug: str | None  # the last refill's drug, strength and brand
    refill: RefillLine | None
    reservoir_after_ml: float | None
    refills: tuple[RefillLine, ...]
    daily_dose_mcg: float | None
    bridge_bolus_at: datetime | None  # a bridge bolus given after the last refill
    assessments: tuple[AssessmentPoint, ...]
    muscle_grades: MuscleGrades  # the MAS per muscle group of the last assessments
    alarms: tuple[str, ...]
    findings: tuple[str, ...]
    refill_due_by: datetime | None
    appointment: AppointmentView | None


def visit_report(clinic: Clinic, actor: Actor, patient_id: int) -> VisitReport:
    def body(conn: Connection) -> VisitReport:
        patient = authz.patient_for(conn, actor, authz.READ, patient_id)
        timeline = build_timeline(patient, event_store.list_events(conn, patient_id))
        now = clinic.now()
        proj = project(timeline, now) if timeline.events else None
        pump, serial, catheter = None, None, None
        for ev in timeline.events:
            if isinstance(ev, Implant | ReplacePump):
                model = pump_model(ev.pump)
                pump, serial = f"{model.manufacturer} {model.name}", ev.serial
            if isinstance(ev, Implant | CatheterRevision) and ev.catheter is not None:
                cm = catheter_model(ev.catheter.model)
                catheter = f"{cm.manufacturer} {cm.name}, {ev.catheter.length_cm:g} cm"
        refills = []
        after: float | None = None
        last_refill_index = -1
        for rev in proj.replay.events if proj is not None else ():
            if isinstance(rev.event, Refill) and rev.event.added_ml > 0:
                e = rev.event
                refills.append(RefillLine(e.at, e.withdrawn_ml, rev.expected_residual_ml,
                                          rev.withdrawn_discrepancy_ml, e.added_ml, e.concentration_mcg_per_ml,
                                          e.lot))
                after = rev.reservoir_after_ml
                last_refill_index = rev.index
        last = refills[-1] if refills else None
        drug = None
        if last is not None:
            f = formulation_for(last.concentration_mcg_per_ml, compounded=True)
            drug = f"baclofen intrathecal {last.concentration_mcg_per_ml:g} mcg/mL ({f.brand})"
        bridge = None
        for i, ev in enumerate(timeline.events):
            if i > last_refill_index >= 0 and isinstance(ev, Bolus) and ev.kind == "bridge":
                bridge = ev.at
        # the assessments in force (a corrected one replaced by its correction's), in time order
        assessments = [e for _, e in timeline.effective_events() if isinstance(e, Assessment)]
        appointments = booked_appointments(conn, patient_id)
        clinic.audit(conn, actor, "visit-report.read", patient_id=patient_id, entity="patient")
        return VisitReport(
            patient_id=patient_id, mrn=patient["mrn"], display_name=patient["display_name"],
            born=date.fromisoformat(str(patient["born"])) if patient["born"] else None,
            zone=patient["timezone"], at=now, pump=pump, pump_serial=serial, catheter=catheter, drug=drug,
            refill=last, reservoir_after_ml=after, refills=tuple(refills),
            daily_dose_mcg=proj.daily_total_mcg if proj else None, bridge_bolus_at=bridge,
            assessments=tuple(AssessmentPoint(e.at, e.mas, e.penn_frequency) for e in assessments),
            muscle_grades=muscle_grades(assessments),
            alarms=tuple(f"{a.code} ({a.priority})" for a in (proj.state.alarms if proj else ())),
            findings=tuple(f.message for f in (proj.findings if proj else ())),
            refill_due_by=proj.refill_plan.refill_due_by if proj and proj.refill_plan else None,
            appointment=appointments[0] if appointments else None)

    return clinic.run(actor, "visit-report.read", body, patient_id=patient_id)
