"""What each page shows, as typed results (:mod:`thecal.service.results`).

The pages (:mod:`thecal.web`) call these functions directly; each is one or two use cases of
``thecal.service`` and its answer as the frozen results the templates read. Figures, dates,
urgencies, words and reasons come from the use cases (and through them from
``thecal.clinical``); nothing here is decided anew.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from thecal import service
from thecal.clinical.assessment import MUSCLE_GROUPS
from thecal.clinical.dose import rate_ml_per_day
from thecal.clinical.projection import Projection
from thecal.clinical.refill import bridge_bolus_words, fill_volume_words, programmer_volume_words
from thecal.errors import ConflictError, InputError, NotFoundError, PermissionDeniedError
from thecal.limits import Reason as RuleReason
from thecal.service.actors import Actor
from thecal.service.clinic import Clinic
from thecal.service.results import (
    Chart,
    EmergencyBanner,
    PendingItem,
    ProgramProposal,
    ProgramSummary,
    PumpHeader,
    Reason,
    RefillInput,
    RefillProposal,
    RefillRecord,
    SignedIn,
    TimelineItem,
    TriageAnswer,
    User,
)
from thecal.service.therapy import RefillAnalysis
from thecal.service.views import triage_answer

__all__ = ["MUSCLE_GROUPS", "chart", "confirm_program", "confirm_refill", "current_user",
           "patient_id_of", "propose_program", "propose_refill", "pump_header",
           "record_assessment", "record_refill", "refill_record", "report_symptoms", "sign_in"]

_ROLE = {"clinician": "clinician", "nurse": "clinician", "pharmacist": "clinician",
         "administrator": "admin", "patient": "patient", "caregiver": "caregiver"}


def _dt(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, datetime.min.time())
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def _day(value: Any) -> date | None:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    parsed = _dt(value)
    return parsed.date() if parsed else None


def _float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def _reasons(items: Any) -> tuple[Reason, ...]:
    out = []
    for r in items or ():
        if isinstance(r, RuleReason):
            out.append(Reason(r.code, r.message, r.source, r.severity.value))
        elif isinstance(r, Mapping):
            out.append(Reason(str(r.get("code", "")), str(r.get("message", "")),
                              str(r.get("source", "")), str(r.get("severity", "info"))))
        elif isinstance(r, str):
            out.append(Reason("", r))
    return tuple(out)


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
        patients = tuple(str(p["id"]) for p in service.list_patients(clinic, actor))
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

def pump_header(patient: Mapping[str, Any], twin: Projection | None, pump: str,
                catheter: str) -> PumpHeader:
    """The pump banner of a patient's pages, from the twin's projection (typed)."""
    born = patient.get("born")
    head = dict(patient_id=str(patient["id"]), name=str(patient["display_name"]),
                born=date.fromisoformat(str(born)) if born else None,
                etiology=str(patient.get("etiology")), pump=pump, catheter=catheter,
                drug="baclofen")
    state = twin.state if twin is not None else None
    if state is None or not state.pump_model:
        return PumpHeader(**head)  # type: ignore[arg-type]
    plan = twin.refill_plan if twin is not None else None
    return PumpHeader(
        **head,  # type: ignore[arg-type]
        concentration_mcg_per_ml=state.concentration_mcg_per_ml or None,
        daily_dose_mcg=twin.daily_total_mcg if twin is not None else None,
        reservoir_ml=round(state.reservoir_ml, 6), reservoir_capacity_ml=state.reservoir_capacity_ml,
        low_reservoir_alarm_ml=state.low_reservoir_alarm_ml,
        low_reservoir_alarm_at=state.low_reservoir_alarm_at,
        refill_due_by=plan.refill_due_by if plan else None, empty_at=state.empty_at,
        mri_flag="MR conditional: interrogate the pump before and after every MRI",
        warnings=tuple(Reason(f.code, f.message, f.source, f.severity.value)
                       for f in (twin.findings if twin is not None else ())))


def _header(chart: Any) -> PumpHeader:
    implants = chart.implants or []
    last = implants[-1] if implants else {}
    catheter = str(last.get("catheter_model") or "—")
    if last.get("catheter_length_cm"):
        catheter += f", {float(last['catheter_length_cm']):g} cm"
    pump = str(last.get("pump_name") or (chart.twin.state.pump_model if chart.twin else "")
               or "—")
    return dataclasses.replace(pump_header(chart.patient, chart.twin, pump, catheter),
                               allergies=_allergy_words(chart), **_safety(chart),
                               version=int(getattr(chart, "version", 0) or 0))


def _allergy_words(chart: Any) -> tuple[str, ...]:
    meds = getattr(chart, "medicines", None)
    if meds is None:
        return ()
    return tuple(f"{a.substance}" + (f" ({a.reaction})" if a.reaction else "")
                 + (": contraindicates ITB" if a.contraindicates_itb else "")
                 for a in meds.allergies)


def _safety(chart: Any) -> dict[str, Any]:
    """The header's allergy status, oral medicines, reconciliations due and emergency banners."""
    meds = getattr(chart, "medicines", None)
    banners = tuple(EmergencyBanner(c.case_id, c.opened_at, c.symptoms, c.patient_words)
                    for c in getattr(chart, "banner_cases", None) or ())
    if meds is None:
        return {"emergency_cases": banners}
    statement = ""
    if meds.no_known_allergies_at is not None:
        statement = f"{meds.no_known_allergies_by}, {meds.no_known_allergies_at:%Y-%m-%d}"
    return {"allergy_status": meds.allergy_status.value, "allergy_statement": statement,
            "baclofen_allergy": meds.baclofen_allergy,
            "oral_medicines": tuple(f"{m.drug_words} {m.dose} × {m.times_per_day}/day "
                                    f"({m.daily_dose_mg:g} mg/day)" for m in meds.medications),
            "reconciliations_due": tuple(d.reason.message for d in meds.due),
            "emergency_cases": banners}


def chart(clinic: Clinic, user: User, patient_id: str, with_series: bool = False) -> Chart:
    chart = service.patient_chart(clinic, user.actor, patient_id_of(patient_id))
    header = _header(chart)
    timeline = tuple(TimelineItem(_dt(e.get("at")) or datetime.min, str(e.get("type")),
                                  _event_words(e), str(e.get("by") or ""),
                                  str(e.get("id") or ""))
                     for e in chart.events if _dt(e.get("at")))
    pending = tuple(_pending_item(c) for c in
                    service.open_confirmations(clinic, user.actor, patient_id=patient_id_of(patient_id)))
    if pending:
        header = dataclasses.replace(header, concentration_pending=(
            "awaiting a second signature" if pending[0].status == "waiting"
            else "second signature overdue (escalated)"))
    if not with_series:
        return Chart(header, timeline, pending=pending)
    s = service.chart_series(clinic, user.actor, patient_id_of(patient_id))
    return Chart(header, timeline, s.reservoir, s.daily_dose, s.ashworth, s.penn,
                 s.csf_level, s.tone, pending)

def _pending_item(c: service.Confirmation) -> PendingItem:
    return PendingItem(str(c.pending_id), "refill", c.summary, c.entered_by, c.state.due_at,
                       c.state.status, c.state.reason.message, c.event_id, c.notify_detail,
                       str(c.patient_id), c.patient_name)


def confirmations(clinic: Clinic, user: User) -> Sequence[PendingItem]:
    """Every open confirmation the user may see, escalated first (the inbox)."""
    return [_pending_item(c) for c in service.open_confirmations(clinic, user.actor)]


def reject_refill(clinic: Clinic, user: User, pending_id: str, password: str, reason: str,
                  corrective_action: str) -> None:
    try:
        pid = int(pending_id)
    except ValueError:
        raise NotFoundError(f"no confirmation {pending_id!r}") from None
    service.reject_pending(clinic, user.actor, pid, password, reason=reason,
                           corrective_action=corrective_action)


def _drug(entry: RefillInput) -> service.DrugDetails:
    return service.DrugDetails(lot=entry.lot or None, expiry=entry.expiry or None,
                               compounded=entry.compounded, pharmacy=entry.pharmacy or None)


def _shown(entry: RefillInput, current: int) -> int:
    """The version the form was first shown at (a stale one is a conflict), else current."""
    try:
        return int(entry.shown_version)
    except ValueError:
        return current


def _performed_at(entry: RefillInput) -> datetime | None:
    if not entry.performed_at:
        return None
    parsed = _dt(entry.performed_at)
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
    return _program_from(result)


def propose_refill(clinic: Clinic, user: User, patient_id: str, entry: RefillInput) -> RefillProposal:
    header = chart(clinic, user, patient_id).header
    try:
        kw = _refill_kwargs(entry, header)
        result = service.propose_refill(clinic, user.actor, patient_id_of(patient_id),
                                        withdrawn=kw["withdrawn"], added=kw["added"],
                                        concentration=kw["concentration"],
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
                  password: str) -> RefillRecord:
    # the page signs every refill with the password (the service insists on it only for
    # a concentration change)
    try:
        service.verify_password_again(clinic, user.actor, password)
    except PermissionDeniedError:
        raise PermissionDeniedError("the password is wrong", where="password",
                                    fix="enter your own password to sign") from None
    chart = service.patient_chart(clinic, user.actor, patient_id_of(patient_id))
    header = _header(chart)
    kw = _refill_kwargs(entry, header)
    version = _shown(entry, chart.version)
    if version != chart.version:
        raise ConflictError("the record changed since this form was shown",
                                    where="shown_version", fix="look at what changed")
    if entry.pump_reading_before:
        # The interrogation before the refill: the pump's reading is a measurement.
        service.record_interrogation(clinic, user.actor, patient_id_of(patient_id),
                                     readings={"reservoir": entry.pump_reading_before},
                                     expected_version=version)
        version += 1
    result = service.record_refill(
        clinic, user.actor, patient_id_of(patient_id), withdrawn=kw["withdrawn"],
        added=kw["added"], concentration=kw["concentration"], expected_version=version, password=password,
        reason=entry.discrepancy_explanation or None, at=_performed_at(entry), drug=_drug(entry))
    assert result.proposal is not None
    if entry.pump_reading_after and result.event is not None:
        service.record_interrogation(clinic, user.actor, patient_id_of(patient_id),
                                     readings={"reservoir": entry.pump_reading_after},
                                     expected_version=version + 1)
    proposal = _refill_from(result.proposal, header, entry, None)
    event_id = str(result.event["id"]) if result.event else ""
    return RefillRecord(event_id, patient_id, header.name, result.proposal.at,
                        user.display_name, proposal, result.status)


def confirm_refill(clinic: Clinic, user: User, patient_id: str, pending_id: str,
                   password: str) -> RefillRecord:
    try:
        pid = int(pending_id)
    except ValueError:
        raise NotFoundError(f"no confirmation {pending_id!r}") from None
    result = service.confirm_pending(clinic, user.actor, pid, password)
    assert result.event is not None
    return refill_record(clinic, user, patient_id, str(result.event["id"]))


def refill_record(clinic: Clinic, user: User, patient_id: str, event_id: str) -> RefillRecord:
    r = service.refill_record(clinic, user.actor, patient_id_of(patient_id), event_id)
    entry = RefillInput(withdrawn=str(r.event.get("withdrawn") or ""),
                        concentration=str(r.event.get("concentration") or ""),
                        added=str(r.event.get("added") or ""),
                        discrepancy_explanation=r.reason or "")
    header = chart(clinic, user, patient_id).header
    e = r.event
    return RefillRecord(event_id, patient_id, r.patient_name, r.analysis.at, r.entered_by,
                        _refill_from(r.analysis, header, entry, None),
                        "awaiting-confirmation" if r.confirmation_status == "open"
                        else "recorded", r.reason or "",
                        entered_by=r.entered_by, recorded_at=r.recorded_at,
                        confirmation_status=r.confirmation_status,
                        confirmed_by=r.confirmed_by, confirmed_at=r.confirmed_at,
                        decision_reason=r.decision_reason,
                        corrective_action=r.corrective_action, born=_day(r.born), mrn=r.mrn,
                        pump_model=header.pump if header.pump != "—" else r.pump_model,
                        pump_serial=r.pump_serial, catheter=r.catheter,
                        lot=str(e.get("lot") or ""), expiry=str(e.get("expiry") or ""),
                        compounded=bool(e.get("compounded")),
                        pharmacy=str(e.get("pharmacy") or ""),
                        reservoir_after_ml=r.analysis.reservoir_after_ml)


def propose_program(clinic: Clinic, user: User, patient_id: str, daily_dose: str,
                    override_reason: str) -> ProgramProposal:
    """The live check: nothing is written (service.check_program_change)."""
    return _program_check(clinic, user, patient_id, daily_dose, None)


def confirm_program(clinic: Clinic, user: User, patient_id: str, daily_dose: str,
                    override_reason: str, password: str, *, shown_version: int | None = None,
                    second_username: str = "", second_password: str = "") -> ProgramProposal:
    """Send a program change: proposed at the version the form was shown at (a stale one is a
    409 conflict), confirmed with the password, co-signed when the step needs it."""
    chart = service.patient_chart(clinic, user.actor, patient_id_of(patient_id))
    result = service.propose_program_change(
        clinic, user.actor, patient_id_of(patient_id),
        {"mode": "continuous", "daily_dose": daily_dose},
        chart.version if shown_version is None else shown_version,
        reason=override_reason or None)
    service.confirm_program_change(clinic, user.actor, patient_id_of(patient_id),
                                   str(result["confirmation_token"]), password,
                                   reason=override_reason or None,
                                   second_username=second_username or None,
                                   second_password=second_password or None)
    return _program_from(result)

def changes_since(clinic: Clinic, user: User, patient_id: str, version: int
                  ) -> tuple[int, tuple[TimelineItem, ...]]:
    """The record's version now and what was recorded after ``version`` (a conflict page)."""
    chart = service.patient_chart(clinic, user.actor, patient_id_of(patient_id))
    items = tuple(TimelineItem(_dt(e.get("at")) or datetime.min, str(e.get("type")),
                               _event_words(e), str(e.get("by") or ""), str(e.get("id") or ""))
                  for e in chart.events if int(e.get("seq") or 0) > version)
    return chart.version, items


def record_assessment(clinic: Clinic, user: User, patient_id: str, ashworth: dict[str, str],
                      penn_frequency: str, penn_severity: str, notes: str,
                      shown_version: int | None = None) -> None:
    chart = service.patient_chart(clinic, user.actor, patient_id_of(patient_id))
    data: dict[str, Any] = {}
    if ashworth:
        data["mas_by_group"] = dict(ashworth)
    for name, value in (("penn_frequency", penn_frequency), ("penn_severity", penn_severity)):
        if value:
            try:
                data[name] = int(value)
            except ValueError:
                raise InputError(f"{value!r} is not a whole number", where=name) from None
    if notes:
        data["notes"] = notes
    service.record_assessment(clinic, user.actor, patient_id_of(patient_id), data,
                              chart.version if shown_version is None else shown_version)


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


def _program_from(result: Mapping[str, Any]) -> ProgramProposal:
    comparison = result.get("comparison") or {}
    conc = _float(result.get("concentration_mcg_per_ml")) or 0.0
    old_total = _float(comparison.get("old_daily_total_mcg")) or 0.0
    new_total = _float(comparison.get("new_daily_total_mcg")) or 0.0
    old = ProgramSummary(f"continuous {old_total:g} mcg/day", old_total,
                         _float(comparison.get("old_rate_ml_per_day")) or 0.0, conc)
    new = ProgramSummary(f"continuous {new_total:g} mcg/day", new_total,
                         _float(comparison.get("new_rate_ml_per_day")) or 0.0, conc)
    guard = result.get("guardrail") or {}
    reasons = (_reasons(guard.get("reasons"))
               + _reasons((result.get("titration") or {}).get("reasons"))
               + _reasons(comparison.get("reasons")))
    return ProgramProposal(old, new, _float(comparison.get("change_fraction")),
                           str(guard.get("classification") or ""),
                           bool(result.get("needs_reason")), bool(result.get("allowed", True)),
                           # the titration check repeats the guardrail's range reason: once
                           tuple(dict.fromkeys(reasons + _reasons(result.get("step_reasons")))),
                           {},
                           str(result.get("refusal") or ""),
                           str(result.get("decision") or "allowed"),
                           bool(result.get("needs_second_clinician")))


def _summary(daily_dose_mcg: float, concentration: float) -> ProgramSummary:
    volume = rate_ml_per_day(daily_dose_mcg, concentration) if concentration else 0.0
    return ProgramSummary(f"continuous {daily_dose_mcg:g} mcg/day", daily_dose_mcg, volume,
                          concentration)


def _event_words(event: Mapping[str, Any]) -> str:
    skip = {"at", "type", "id", "by", "seq", "recorded_at"}
    return ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in event.items()
                     if k not in skip and not isinstance(v, (dict, list)))


def _empty_refill(header: PumpHeader, errors: dict[str, str]) -> RefillProposal:
    conc = header.concentration_mcg_per_ml or 0.0
    return RefillProposal(header.reservoir_ml or 0.0, None, False, (), conc, None, None,
                          header.reservoir_capacity_ml or 0.0, False, None, (),
                          _summary(header.daily_dose_mcg or 0.0, conc), None, (), False, True,
                          None, None, errors)


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
    old_program = ProgramSummary(f"continuous {dose:g} mcg/day", dose,
                                 result.old_rate_ml_per_day or 0.0, old_conc)
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
        if program.refusal:
            program_reasons = (Reason("absolute", program.refusal, "", "danger"),
                               *program_reasons)
    mixing = result.mixing
    views = result.views_before
    return RefillProposal(
        result.expected_residual_ml, result.withdrawn_ml if entry.withdrawn else None,
        result.discrepancy and bool(entry.withdrawn),
        _reasons(result.residual_check.reasons), old_conc, new_conc,
        result.added_ml if entry.added else None, result.capacity_ml, change,
        bridge_bolus_words(bridge) if change and bridge is not None else None,
        _reasons(bridge.reasons if bridge is not None else ()),
        old_program, new_program, program_reasons, needs_reason, allowed,
        result.low_reservoir_alarm_at, result.refill_due_by, errors,
        result.filling.suggested_added_ml if entry.withdrawn else None,
        fill_volume_words(result.filling, result.capacity_ml) if entry.withdrawn else "",
        _reasons(mixing.reasons) if entry.withdrawn and entry.added and mixing else (),
        views.pump_calculated_ml if views else None, views.estimate_ml if views else None,
        views.physical_ml if views else None, result.views_differ,
        result.unaccounted_ml if entry.withdrawn else 0.0,
        programmer_volume_words(result.programmer_reservoir_ml) if entry.added else "")
