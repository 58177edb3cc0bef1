"""What each page shows, as typed results (:mod:`thecal.service.results`).

The pages (:mod:`thecal.web`) call these functions directly; each is one or two use cases of
``thecal.service`` and its answer as the frozen results the templates read. Figures, dates,
urgencies, words and reasons come from the use cases (and through them from
``thecal.clinical``); nothing here is decided anew.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from thecal import service
from thecal.clinical.assessment import MUSCLE_WORDS, SIDES, muscle_grades
from thecal.clinical.dose import rate_ml_per_day
from thecal.clinical.findings import BOLUS_WINDOW
from thecal.clinical.program import ProgramChangeAssessment
from thecal.clinical.projection import Projection
from thecal.device.alarms import ALARM_KINDS
from thecal.errors import InputError, NotFoundError, PermissionDeniedError
from thecal.limits import Reason, Severity
from thecal.service.actors import Actor
from thecal.service.clinic import Clinic
from thecal.service.patients import Patient, StoredEvent
from thecal.service.results import (
    Chart,
    EmergencyBanner,
    PendingItem,
    ProgramProposal,
    ProgramSummary,
    PumpHeader,
    RefillInput,
    RefillProposal,
    RefillSummary,
    SignedIn,
    TimelineItem,
    TriageAnswer,
    User,
    Words,
)
from thecal.service.therapy import RefillAnalysis, RefillOutcome
from thecal.service.views import triage_answer
from thecal.store.records import Row
from thecal.timeline import Assessment, Bolus, Correction, Event, event_to_dict

__all__ = ["MUSCLE_WORDS", "SIDES", "chart", "confirm_program", "confirm_refill", "current_user",
           "patient_id_of", "propose_program", "propose_refill", "pump_header",
           "record_assessment", "record_refill", "refill_record", "report_symptoms", "sign_in"]

_ROLE = {"clinician": "clinician", "nurse": "clinician", "pharmacist": "clinician",
         "administrator": "admin", "patient": "patient", "caregiver": "caregiver"}


def patient_id_of(patient_id: str) -> int:
    """A patient id from a page's path (an unknown one is not found)."""
    try:
        return int(patient_id)
    except ValueError:
        raise NotFoundError(f"no patient {patient_id!r}") from None


# --- sessions --------------------------------------------------------------------------

def _user(clinic: Clinic, actor: Actor) -> User:
    role = _ROLE.get(actor.role, actor.role)
    patients: tuple[str, ...] = ()
    if actor.patient_id is not None:
        patients = (str(actor.patient_id),)
    elif role == "caregiver":
        patients = tuple(str(p.id) for p in service.list_patients(clinic, actor))
    first = int(patients[0]) if role == "caregiver" and patients else None
    zone = service.display_timezone(clinic, actor, first)
    return User(str(actor.user_id), actor.display_name or actor.username, role,  # type: ignore[arg-type]
                actor, str(actor.site_id or ""), patients, zone)


def sign_in(clinic: Clinic, username: str, password: str, client: str | None = None
            ) -> SignedIn | None:
    try:
        result = service.login(clinic, username, password, client=client)
    except service.ThrottledError:
        raise
    except (PermissionDeniedError, InputError):
        return None
    return SignedIn(result.session_token, _user(clinic, result.actor), result.csrf_token)


def current_user(clinic: Clinic, token: str) -> User | None:
    try:
        return _user(clinic, service.actor_from_session(clinic, token))
    except PermissionDeniedError:
        return None


# --- clinician -------------------------------------------------------------------------

def alarms_sounding(twin: Projection | None) -> tuple[str, ...]:
    """The pump's alarms holding at the projection's instant, gravest first, in words (an
    acknowledged one still holds until its cause is cleared)."""
    state = twin.state if twin is not None else None
    return tuple(f"{ALARM_KINDS[a.code].message if a.code in ALARM_KINDS else a.code}"
                 + (" (acknowledged)" if a.acknowledged else "")
                 for a in (state.alarms if state is not None else ()))


def pump_header(patient: Patient | Row, twin: Projection | None, pump: str,
                catheter: str) -> PumpHeader:
    """The pump banner of a patient's pages, from the twin's projection (typed)."""
    p = patient if isinstance(patient, Patient) else Patient.of(patient)
    head = PumpHeader(patient_id=str(p.id), name=p.display_name, born=p.born,
                      etiology=p.etiology, pump=pump, catheter=catheter, drug="baclofen",
                      version=p.version)
    state = twin.state if twin is not None else None
    if twin is None or state is None or not state.pump_model:
        return head
    plan = twin.refill_plan
    return dataclasses.replace(
        head, concentration_mcg_per_ml=state.concentration_mcg_per_ml or None,
        daily_dose_mcg=twin.daily_total_mcg, reservoir_ml=round(state.reservoir_ml, 6),
        reservoir_capacity_ml=state.reservoir_capacity_ml,
        low_reservoir_alarm_ml=state.low_reservoir_alarm_ml,
        low_reservoir_alarm_at=state.low_reservoir_alarm_at,
        refill_due_by=plan.refill_due_by if plan else None, empty_at=state.empty_at,
        mri_flag="MR conditional: interrogate the pump before and after every MRI",
        alarms_sounding=alarms_sounding(twin), warnings=twin.findings)


def _header(chart: service.Chart) -> PumpHeader:
    last = chart.implants[-1] if chart.implants else None
    pump = (last.pump_name if last else "") or (
        chart.twin.state.pump_model if chart.twin else "") or "—"
    meds = chart.medicines
    return dataclasses.replace(
        pump_header(chart.patient, chart.twin, pump, (last.catheter if last else "") or "—"),
        allergies=tuple(f"{a.substance}" + (f" ({a.reaction})" if a.reaction else "")
                        + (": contraindicates ITB" if a.contraindicates_itb else "")
                        for a in meds.allergies),
        allergy_status=meds.allergy_status.value,
        allergy_statement=((f"{meds.no_known_allergies_by}, ", meds.no_known_allergies_at)
                           if meds.no_known_allergies_at is not None else ()),
        baclofen_allergy=meds.baclofen_allergy,
        oral_medicines=tuple(f"{m.drug_words} {m.dose} × {m.times_per_day}/day "
                             f"({m.daily_dose_mg:g} mg/day)" for m in meds.medications),
        reconciliations_due=tuple(d.reason.message for d in meds.due),
        emergency_cases=tuple(EmergencyBanner(c.case_id, c.opened_at, c.symptoms,
                                              c.patient_words) for c in chart.banner_cases))


def event_words(event: Event) -> Words:
    """An event's fields in words (a correction: what the event now reads); its instants and
    days stay values, for the page to write in its zone."""
    skip = {"at", "type", "id", "by", "reason", "corrects", "event"}
    parts: list[str | datetime | date] = []
    for key, value in event_to_dict(event).items():
        if key in skip or value is None:
            continue
        typed = getattr(event, key, None)
        if isinstance(typed, datetime | date):
            value = typed
        elif isinstance(value, dict):
            value = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in value.items())
        elif isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        parts += ["; " if parts else "", f"{key.replace('_', ' ')} ", value]
    if isinstance(event, Correction) and event.event is not None:
        parts += ["; " if parts else "", f"now reads: {event.event.type} at ", event.event.at,
                  "; ", *event_words(event.event)]
    return tuple(parts)


def timeline_items(events: Sequence[StoredEvent]) -> tuple[TimelineItem, ...]:
    """The stored events as the pages show them, each with the correction that replaced it."""
    corrected_by = {e.event.corrects: str(e.event.id) for e in events
                    if isinstance(e.event, Correction)}
    return tuple(TimelineItem(
        e.event, e.seq, e.recorded_at, event_words(e.event),
        e.event.corrects if isinstance(e.event, Correction) else "",
        corrected_by.get(str(e.event.id), "")) for e in events)


def chart(clinic: Clinic, user: User, patient_id: str, with_series: bool = False) -> Chart:
    chart = service.patient_chart(clinic, user.actor, patient_id_of(patient_id))
    header = _header(chart)
    timeline = timeline_items(chart.events)
    pending = tuple(_pending_item(c) for c in
                    service.open_confirmations(clinic, user.actor, patient_id=patient_id_of(patient_id)))
    if pending:
        header = dataclasses.replace(header, concentration_pending=(
            "awaiting a second signature" if pending[0].status == "waiting"
            else "second signature overdue (escalated)"))
    if not with_series:
        return Chart(header, timeline, pending=pending)
    s = service.chart_series(clinic, user.actor, patient_id_of(patient_id))
    return Chart(header, timeline, s.reservoir, s.daily_dose, s.mas, s.penn,
                 s.csf_level, s.tone, pending, muscle_grades(assessments_of(timeline)))


def assessments_of(items: Sequence[TimelineItem]) -> list[Assessment]:
    """The assessments in force: a corrected one is replaced by its correction's."""
    out = []
    for item in items:
        event = item.event.event if isinstance(item.event, Correction) else item.event
        if isinstance(event, Assessment) and not item.corrected_by:
            out.append(event)
    return out


def changes_since(clinic: Clinic, user: User, patient_id: str, version: int
                  ) -> tuple[PumpHeader, tuple[TimelineItem, ...]]:
    """The record as it is now (its header) and what was recorded after ``version`` (the
    conflict page of a stale form)."""
    now = chart(clinic, user, patient_id)
    return now.header, tuple(e for e in now.timeline if e.seq > version)


def _pending_item(c: service.Confirmation) -> PendingItem:
    return PendingItem(str(c.pending_id), "refill", c.summary, c.entered_by, c.state.due_at,
                       c.state.status, c.state.reason.message, c.event_id, c.notify_detail,
                       str(c.patient_id), c.patient_name)


def confirmations(clinic: Clinic, user: User) -> Sequence[PendingItem]:
    """Every open confirmation the user may see, escalated first (the inbox)."""
    return [_pending_item(c) for c in service.open_confirmations(clinic, user.actor)]


def _pending_id(pending_id: str) -> int:
    try:
        return int(pending_id)
    except ValueError:
        raise NotFoundError(f"no confirmation {pending_id!r}") from None


def reject_refill(clinic: Clinic, user: User, pending_id: str, password: str, reason: str,
                  corrective_action: str) -> None:
    service.reject_pending(clinic, user.actor, _pending_id(pending_id), password,
                           reason=reason, corrective_action=corrective_action)


def _drug(entry: RefillInput) -> service.DrugDetails:
    return service.DrugDetails(lot=entry.lot or None, expiry=entry.expiry or None,
                               compounded=entry.compounded, pharmacy=entry.pharmacy or None)


def _performed_at(entry: RefillInput) -> datetime | None:
    if not entry.performed_at:
        return None
    try:
        parsed = datetime.fromisoformat(entry.performed_at)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise InputError(f"{entry.performed_at!r} is not a date and time", where="performed_at",
                         fix="pick the date and time the refill was done")
    return parsed


def _entered_strength(entry: RefillInput) -> str:
    """The strength the person entered: a compounded preparation's, else the formulary's."""
    return (entry.compounded_strength if entry.compounded and entry.compounded_strength
            else entry.concentration)


def _refill_kwargs(entry: RefillInput, header: PumpHeader) -> dict[str, str]:
    conc = (_entered_strength(entry)
            or (f"{header.concentration_mcg_per_ml:g} mcg/mL"
                if header.concentration_mcg_per_ml else ""))
    return {"withdrawn": entry.withdrawn or "0 mL", "added": entry.added or "0 mL",
            "concentration": conc}


def _program_check(clinic: Clinic, user: User, patient_id: str, daily_dose: str,
                   concentration: str | None) -> ProgramProposal:
    try:
        result = service.check_program_change(
            clinic, user.actor, patient_id_of(patient_id),
            {"mode": "continuous", "daily_dose": daily_dose}, concentration=concentration)
    except InputError as exc:
        return ProgramProposal(_summary(0.0, 0.0), None, None, "", False, False, (),
                               {"daily_dose": exc.one_line()})
    return _program_from(result.assessment)


def propose_refill(clinic: Clinic, user: User, patient_id: str, entry: RefillInput
                   ) -> RefillProposal:
    header = chart(clinic, user, patient_id).header
    try:
        result = service.propose_refill(clinic, user.actor, patient_id_of(patient_id),
                                        **_refill_kwargs(entry, header),
                                        at=_performed_at(entry), drug=_drug(entry))
    except InputError as exc:
        field = (exc.where or "withdrawn").split(".")[-1]
        return _empty_refill(header, {field: exc.one_line()})
    program = None
    if entry.daily_dose:
        program = _program_check(clinic, user, patient_id, entry.daily_dose,
                                 _entered_strength(entry) or None)
    return _refill_from(result, header, entry, program)


def record_refill(clinic: Clinic, user: User, patient_id: str, entry: RefillInput,
                  password: str) -> RefillOutcome:
    """Record the refill the steps showed, at the version the form was first shown at (a
    stale one is a conflict), with the pump's readings before and after as interrogations and
    the bridge bolus the person said they programmed (one transaction with the refill)."""
    # the page signs every refill with the password (the service insists on it only for
    # a concentration change)
    try:
        service.verify_password_again(clinic, user.actor, password)
    except PermissionDeniedError:
        raise PermissionDeniedError("the password is wrong", where="password",
                                    fix="enter your own password to sign") from None
    now = chart(clinic, user, patient_id).header
    # the service refuses a stale version (the first write below is made at it)
    version = now.version if entry.shown_version is None else entry.shown_version
    pid = patient_id_of(patient_id)
    # the readings are taken at the refill, so a late entry keeps them at the refill's time
    at = _performed_at(entry)
    if entry.pump_reading_before:
        # The interrogation before the refill: the pump's reading is a measurement.
        service.record_interrogation(clinic, user.actor, pid,
                                     readings={"reservoir": entry.pump_reading_before},
                                     expected_version=version, at=at)
        version += 1
    result = service.record_refill(
        clinic, user.actor, pid, **_refill_kwargs(entry, now), expected_version=version,
        password=password, reason=entry.reason or None, at=at, drug=_drug(entry),
        bridge_bolus=entry.bridge_bolus_confirmed)
    last = result.bridge_bolus_event or result.event
    if entry.pump_reading_after and last is not None:
        service.record_interrogation(clinic, user.actor, pid,
                                     readings={"reservoir": entry.pump_reading_after},
                                     expected_version=last.seq, at=at)
    return result


def confirm_refill(clinic: Clinic, user: User, pending_id: str, password: str) -> str:
    """A second signer confirms a refill's concentration; the refill's event id."""
    result = service.confirm_pending(clinic, user.actor, _pending_id(pending_id), password)
    assert result.event is not None
    return str(result.event.event.id)


def refill_record(clinic: Clinic, user: User, patient_id: str, event_id: str
                  ) -> RefillSummary:
    """A recorded refill and the figures its steps showed (the printable summary)."""
    r = service.refill_record(clinic, user.actor, patient_id_of(patient_id), event_id)
    # a recorded refill shows every figure the steps showed once all was entered
    entry = RefillInput(withdrawn="entered", concentration="entered", added="entered")
    now = chart(clinic, user, patient_id)
    return RefillSummary(r, _refill_from(r.analysis, now.header, entry, None),
                         _bridge_bolus_of(r.refill, now.timeline))


def _bridge_bolus_of(refill: Event, timeline: Sequence[TimelineItem]) -> TimelineItem | None:
    """The bridge bolus recorded for ``refill``: the first one, not corrected, that follows it
    within the window the missing-bridge-bolus finding allows (clinical.findings)."""
    return next((e for e in timeline if isinstance(e.event, Bolus) and e.event.kind == "bridge"
                 and not e.corrected_by
                 and timedelta(0) <= e.at - refill.at <= BOLUS_WINDOW), None)


def propose_program(clinic: Clinic, user: User, patient_id: str, daily_dose: str
                    ) -> ProgramProposal:
    """The live check: nothing is written (service.check_program_change)."""
    return _program_check(clinic, user, patient_id, daily_dose, None)


def confirm_program(clinic: Clinic, user: User, patient_id: str, daily_dose: str,
                    override_reason: str, password: str, *, shown_version: int | None = None,
                    second_username: str = "", second_password: str = "") -> ProgramProposal:
    """Send a program change: proposed at the version the form was shown at (a stale one is a
    409 conflict), confirmed with the password, co-signed when the step needs it."""
    version = (chart(clinic, user, patient_id).header.version if shown_version is None
               else shown_version)
    result = service.propose_program_change(
        clinic, user.actor, patient_id_of(patient_id),
        {"mode": "continuous", "daily_dose": daily_dose}, version,
        reason=override_reason or None)
    service.confirm_program_change(clinic, user.actor, patient_id_of(patient_id),
                                   str(result.confirmation_token), password,
                                   reason=override_reason or None,
                                   second_username=second_username or None,
                                   second_password=second_password or None)
    return _program_from(result.assessment)


def record_assessment(clinic: Clinic, user: User, patient_id: str, mas: dict[str, str],
                      penn_frequency: str, penn_severity: str, notes: str,
                      shown_version: int | None = None) -> None:
    data: dict[str, object] = {}
    if mas:
        data["mas_by_muscle"] = dict(mas)
    for name, value in (("penn_frequency", penn_frequency), ("penn_severity", penn_severity)):
        if value:
            try:
                data[name] = int(value)
            except ValueError:
                raise InputError(f"{value!r} is not a whole number", where=name) from None
    if notes:
        data["notes"] = notes
    version = (chart(clinic, user, patient_id).header.version if shown_version is None
               else shown_version)
    service.record_assessment(clinic, user.actor, patient_id_of(patient_id), data, version)


# --- patient and caregiver -------------------------------------------------------------

def report_symptoms(clinic: Clinic, user: User, patient_id: str, codes: Sequence[str],
                    notes: str) -> TriageAnswer:
    result = service.report_symptoms(clinic, user.actor, patient_id_of(patient_id),
                                     list(codes), note=notes or None)
    answer = triage_answer(result.triage, audience="patient")
    c = result.contacts
    if c is None:
        return answer
    return dataclasses.replace(answer, clinic_phone=c.clinic_phone, clinic_tel=c.clinic_tel,
                               emergency_number=c.emergency_number,
                               emergency_tel=c.emergency_tel)


def _program_from(a: ProgramChangeAssessment) -> ProgramProposal:
    """A program change as the check beside the form shows it (from the rule's assessment)."""
    c = a.comparison
    conc = a.concentration_mcg_per_ml or 0.0
    titration = a.titration.reasons if a.titration is not None else ()
    return ProgramProposal(
        old_program=ProgramSummary(f"continuous {c.old_daily_total_mcg:g} mcg/day",
                                   c.old_daily_total_mcg, c.old_rate_ml_per_day or 0.0, conc),
        new_program=ProgramSummary(f"continuous {c.new_daily_total_mcg:g} mcg/day",
                                   c.new_daily_total_mcg, c.new_rate_ml_per_day or 0.0, conc),
        change_fraction=c.change_fraction,
        classification=a.classification.value if a.classification is not None else "",
        needs_override_reason=a.needs_reason, allowed=a.allowed,
        # the titration check repeats the guardrail's range reason: listed once
        reasons=tuple(dict.fromkeys((*a.guardrail_reasons, *titration, *c.reasons, *a.step_reasons))),
        refusal=a.refusal, decision=a.decision,
        needs_second_clinician=a.needs_second_clinician)


def _summary(daily_dose_mcg: float, concentration: float) -> ProgramSummary:
    volume = rate_ml_per_day(daily_dose_mcg, concentration) if concentration else 0.0
    return ProgramSummary(f"continuous {daily_dose_mcg:g} mcg/day", daily_dose_mcg, volume,
                          concentration)


def _empty_refill(header: PumpHeader, errors: dict[str, str]) -> RefillProposal:
    conc = header.concentration_mcg_per_ml or 0.0
    return RefillProposal(header.reservoir_ml or 0.0, conc, header.reservoir_capacity_ml or 0.0,
                          _summary(header.daily_dose_mcg or 0.0, conc), errors=errors)


def _refill_from(result: RefillAnalysis, header: PumpHeader, entry: RefillInput,
                 program: ProgramProposal | None) -> RefillProposal:
    """A refill proposal (or a recorded refill) as the steps show it.

    ``program`` is the live program check of the dose entered on the program step. A figure
    the clinician has not entered yet (``entry``) is not shown as if it had been.
    """
    old_conc = result.old_concentration_mcg_per_ml or header.concentration_mcg_per_ml or 0.0
    entered = bool(_entered_strength(entry))  # a compounded strength is entered too
    new_conc = result.new_concentration_mcg_per_ml if entered else None
    change = result.concentration_change and entered
    bridge = result.bridge_bolus
    dose = result.daily_dose_mcg
    new_program = ProgramSummary(f"continuous {dose:g} mcg/day", dose,
                                 result.new_rate_ml_per_day, new_conc or old_conc)
    program_reasons: tuple[Reason, ...] = ()
    needs_reason, allowed, errors = False, True, {}
    if program is not None:
        if program.new_program is not None and program.allowed:
            new_program = program.new_program
        program_reasons = program.reasons
        needs_reason, allowed = program.needs_override_reason, program.allowed
        errors = dict(program.errors)
        danger = next((r for r in program.reasons if r.severity is Severity.DANGER), None)
        if program.refusal and danger is not None:
            program_reasons = (dataclasses.replace(danger, code="absolute",
                                                   message=program.refusal), *program_reasons)
    mixing, views = result.mixing, result.views_before
    withdrawn, added = bool(entry.withdrawn), bool(entry.added)
    return RefillProposal(
        expected_residual_ml=result.expected_residual_ml,
        withdrawn_ml=result.withdrawn_ml if withdrawn else None,
        discrepancy=result.discrepancy and withdrawn,
        discrepancy_reasons=result.residual_check.reasons,
        old_concentration_mcg_per_ml=old_conc, new_concentration_mcg_per_ml=new_conc,
        added_ml=result.added_ml if added else None, capacity_ml=result.capacity_ml,
        concentration_change=change,
        bridge_bolus=bridge.summary if change and bridge is not None else None,
        bridge_bolus_reasons=bridge.reasons if bridge is not None else (),
        old_program=ProgramSummary(f"continuous {dose:g} mcg/day", dose,
                                   result.old_rate_ml_per_day or 0.0, old_conc),
        new_program=new_program, program_reasons=program_reasons,
        needs_override_reason=needs_reason, allowed=allowed,
        low_reservoir_alarm_at=result.after.low_reservoir_alarm_at,
        refill_due_by=result.after.refill_due_by, errors=errors,
        suggested_added_ml=result.filling.suggested_added_ml if withdrawn else None,
        suggested_added=result.suggested_added if withdrawn else "",
        mixing_reasons=mixing.reasons if withdrawn and added and mixing else (),
        pump_calculated_ml=views.pump_calculated_ml if views else None,
        estimate_ml=views.estimate_ml if views else None,
        physical_ml=views.physical_ml if views else None, views_differ=result.views_differ,
        unaccounted_ml=result.unaccounted_ml if withdrawn else 0.0,
        programmer_instruction=result.programmer_instruction if added else "")
