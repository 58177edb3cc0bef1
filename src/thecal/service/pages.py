"""What each page shows, as typed results (:mod:`thecal.service.results`).

The pages (:mod:`thecal.web`) call these functions directly; each is one or two use cases of
``thecal.service`` and its answer as the frozen results the templates read. Figures, dates,
urgencies, words and reasons come from the use cases (and through them from
``thecal.clinical``); nothing here is decided anew.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from thecal import service
from thecal.clinical.assessment import MUSCLE_GROUPS
from thecal.clinical.dose import rate_ml_per_day
from thecal.clinical.refill import bridge_bolus_words, fill_volume_words, programmer_volume_words
from thecal.clinical.triage import Urgency
from thecal.errors import ConflictError, InputError, NotFoundError, PermissionDeniedError
from thecal.limits import Reason as RuleReason
from thecal.service.actors import Actor
from thecal.service.clinic import Clinic
from thecal.service.results import (
    AlarmMeaning,
    Appointment,
    Chart,
    Checklist,
    ChecklistItem,
    Concentration,
    ImplantCard,
    InboxItem,
    MyPump,
    PendingItem,
    Point,
    ProgramProposal,
    ProgramSummary,
    PumpHeader,
    Reason,
    RefillInput,
    RefillProposal,
    RefillRecord,
    Series,
    SignedIn,
    Symptom,
    TeamMember,
    TimelineItem,
    TriageAnswer,
    User,
)
from thecal.service.therapy import RefillAnalysis

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


def _pid(patient_id: str) -> int:
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

def display_timezone(clinic: Clinic, user: User, patient_id: str) -> str:
    """The zone of a page about one patient: the patient's own."""
    return str(service.display_timezone(clinic, user.actor, _pid(patient_id)))

def sign_in(clinic: Clinic, username: str, password: str, client: str | None = None
            ) -> SignedIn | None:
    try:
        result = service.login(clinic, username, password, client=client)
    except service.ThrottledError:
        raise
    except (PermissionDeniedError, InputError):
        return None
    return SignedIn(result.session_token, _user(clinic, result.actor), result.csrf_token)

def sign_out(clinic: Clinic, token: str) -> None:
    service.logout(clinic, token)

def current_user(clinic: Clinic, token: str) -> User | None:
    try:
        return _user(clinic, service.actor_from_session(clinic, token))
    except PermissionDeniedError:
        return None

def csrf_token(clinic: Clinic, token: str) -> str:
    return str(service.csrf_token(clinic, token))

def reauthenticate(clinic: Clinic, token: str, password: str) -> bool:
    user = current_user(clinic, token)
    if user is None:
        return False
    try:
        service.verify_password_again(clinic, user.actor, password)
    except (PermissionDeniedError, InputError):
        return False
    return True

# --- clinician -------------------------------------------------------------------------
def _header(chart: Any) -> PumpHeader:
    p, proj = chart.patient, chart.projection or {}
    pump = proj.get("pump") or {}
    implants = chart.implants or []
    last = implants[-1] if implants else {}
    alarms = tuple(str(a.get("message") or a.get("code")) for a in proj.get("alarms") or ()
                   if isinstance(a, Mapping) and a.get("sounding"))
    catheter = str(last.get("catheter_model") or "—")
    if last.get("catheter_length_cm"):
        catheter += f", {float(last['catheter_length_cm']):g} cm"
    return PumpHeader(
        str(p["id"]), str(p["display_name"]), _day(p.get("born")), str(p.get("etiology")),
        str(last.get("pump_name") or pump.get("model") or "—"), catheter, "baclofen",
        _float(pump.get("concentration_mcg_per_ml")), _float(pump.get("daily_dose_mcg")),
        _float(pump.get("reservoir_ml")), _float(pump.get("reservoir_capacity_ml")),
        _float(pump.get("low_reservoir_alarm_ml")), _dt(proj.get("low_reservoir_alarm_at")),
        _dt(proj.get("refill_due_by")), _dt(proj.get("empty_at")),
        "MR conditional: interrogate the pump before and after every MRI"
        if pump.get("model") else "", (), alarms,
        _reasons(f for f in proj.get("findings") or () if isinstance(f, Mapping)),
        version=int(getattr(chart, "version", 0) or 0))

def chart(clinic: Clinic, user: User, patient_id: str, with_series: bool = False) -> Chart:
    chart = service.patient_chart(clinic, user.actor, _pid(patient_id))
    header = _header(chart)
    timeline = tuple(TimelineItem(_dt(e.get("at")) or datetime.min, str(e.get("type")),
                                  _event_words(e), str(e.get("by") or ""),
                                  str(e.get("id") or ""))
                     for e in chart.events if _dt(e.get("at")))
    pending = tuple(_pending_item(c) for c in
                    service.open_confirmations(clinic, user.actor, patient_id=_pid(patient_id)))
    if pending:
        header = replace(header, concentration_pending=(
            "awaiting a second signature" if pending[0].status == "waiting"
            else "second signature overdue (escalated)"))
    if not with_series:
        return Chart(header, timeline, pending=pending)
    s = service.chart_series(clinic, user.actor, _pid(patient_id))
    return Chart(header, timeline, _series(s.get("reservoir")), _series(s.get("daily_dose")),
                 _series(s.get("ashworth")), _series(s.get("penn")),
                 _series(s.get("csf_level")), _series(s.get("tone")), pending)

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


def formulary(clinic: Clinic, user: User) -> Sequence[Concentration]:
    return [Concentration(float(f["concentration_mcg_per_ml"]), str(f["label"]))
            for f in service.formulary(clinic, user.actor)]

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


def _refill_kwargs(entry: RefillInput, header: PumpHeader) -> dict[str, str]:
    conc = ((entry.compounded_strength if entry.compounded and entry.compounded_strength
             else entry.concentration)
            or (f"{header.concentration_mcg_per_ml:g} mcg/mL"
                if header.concentration_mcg_per_ml else ""))
    return {"withdrawn": entry.withdrawn or "0 mL", "added": entry.added or "0 mL",
            "concentration": conc}

def _program_check(clinic: Clinic, user: User, patient_id: str, daily_dose: str,
                   concentration: str | None) -> ProgramProposal:
    try:
        result = service.check_program_change(
            clinic, user.actor, _pid(patient_id),
            {"mode": "continuous", "daily_dose": daily_dose}, concentration=concentration)
    except InputError as exc:
        return ProgramProposal(_summary(0.0, 0.0), None, None, "", False, False, (),
                               {"daily_dose": exc.one_line()})
    return _program_from(result)

def propose_refill(clinic: Clinic, user: User, patient_id: str, entry: RefillInput) -> RefillProposal:
    header = chart(clinic, user, patient_id).header
    try:
        kw = _refill_kwargs(entry, header)
        result = service.propose_refill(clinic, user.actor, _pid(patient_id),
                                        withdrawn=kw["withdrawn"], added=kw["added"],
                                        concentration=kw["concentration"],
                                        at=_performed_at(entry), drug=_drug(entry))
    except InputError as exc:
        field = (exc.where or "withdrawn").split(".")[-1]
        return _empty_refill(header, {field: exc.one_line()})
    program = None
    if entry.daily_dose:
        program = _program_check(clinic, user, patient_id, entry.daily_dose,
                                      entry.concentration or None)
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
    chart = service.patient_chart(clinic, user.actor, _pid(patient_id))
    header = _header(chart)
    kw = _refill_kwargs(entry, header)
    version = _shown(entry, chart.version)
    if version != chart.version:
        raise ConflictError("the record changed since this form was shown",
                                    where="shown_version", fix="look at what changed")
    if entry.pump_reading_before:
        # The interrogation before the refill: the pump's reading is a measurement.
        service.record_interrogation(clinic, user.actor, _pid(patient_id),
                                     readings={"reservoir": entry.pump_reading_before},
                                     expected_version=version)
        version += 1
    result = service.record_refill(
        clinic, user.actor, _pid(patient_id), withdrawn=kw["withdrawn"],
        added=kw["added"], concentration=kw["concentration"], expected_version=version, password=password,
        reason=entry.discrepancy_explanation or None, at=_performed_at(entry), drug=_drug(entry))
    assert result.proposal is not None
    if entry.pump_reading_after and result.event is not None:
        service.record_interrogation(clinic, user.actor, _pid(patient_id),
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
    r = service.refill_record(clinic, user.actor, _pid(patient_id), event_id)
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
    chart = service.patient_chart(clinic, user.actor, _pid(patient_id))
    result = service.propose_program_change(
        clinic, user.actor, _pid(patient_id),
        {"mode": "continuous", "daily_dose": daily_dose},
        chart.version if shown_version is None else shown_version,
        reason=override_reason or None)
    service.confirm_program_change(clinic, user.actor, _pid(patient_id),
                                   str(result["confirmation_token"]), password,
                                   reason=override_reason or None,
                                   second_username=second_username or None,
                                   second_password=second_password or None)
    return _program_from(result)

def changes_since(clinic: Clinic, user: User, patient_id: str, version: int
                  ) -> tuple[int, tuple[TimelineItem, ...]]:
    """The record's version now and what was recorded after ``version`` (a conflict page)."""
    chart = service.patient_chart(clinic, user.actor, _pid(patient_id))
    items = tuple(TimelineItem(_dt(e.get("at")) or datetime.min, str(e.get("type")),
                               _event_words(e), str(e.get("by") or ""), str(e.get("id") or ""))
                  for e in chart.events if int(e.get("seq") or 0) > version)
    return chart.version, items


def record_assessment(clinic: Clinic, user: User, patient_id: str, ashworth: dict[str, str],
                      penn_frequency: str, penn_severity: str, notes: str,
                      shown_version: int | None = None) -> None:
    chart = service.patient_chart(clinic, user.actor, _pid(patient_id))
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
    service.record_assessment(clinic, user.actor, _pid(patient_id), data,
                              chart.version if shown_version is None else shown_version)

def muscle_groups() -> Sequence[str]:
    return MUSCLE_GROUPS

def triage_inbox(clinic: Clinic, user: User) -> Sequence[InboxItem]:
    return [InboxItem(str(i["report_id"]), str(i["patient_id"]), str(i["patient_name"]),
                      _dt(i["at"]) or clinic.now(), tuple(i["symptoms"]),
                      _triage_answer(i["triage"], audience="clinician"))
            for i in service.triage_inbox(clinic, user.actor)]

def _checklist(title: str, result: Mapping[str, Any]) -> Checklist:
    status = {"pass": "met", "excludes": "not-met", "not-yet": "not-met"}
    items = []
    for q in result.get("questions") or ():
        choices = None if q.get("choices") is None else tuple(
            (str(v), str(w)) for v, w in q["choices"])
        items.append(ChecklistItem(str(q["key"]), str(q["text"]),
                                   status.get(str(q.get("outcome")), "unknown"),  # type: ignore[arg-type]
                                   "", "", choices, str(q.get("answer") or "")))
    for c in result.get("criteria") or ():
        items.append(ChecklistItem(str(c["code"]), str(c["clinician_words"]),
                                   status.get(str(c["outcome"]), "unknown"),  # type: ignore[arg-type]
                                   str(c["outcome"]).replace("-", " "), str(c["source"])))
    for d in result.get("doses") or ():
        when = f"{float(d['not_before_h']):g} h after the first dose"
        items.append(ChecklistItem(
            f"dose-{d['number']}", f"Test dose {d['number']}: {float(d['dose_mcg']):g} mcg "
            f"({float(d['volume_ml']):g} mL of 50 mcg/mL)", "todo",
            f"not before {when}" if d["number"] > 1 else "first dose"))
    verdict = str(result.get("verdict") or "").replace("-", " ")
    return Checklist(title, tuple(items), verdict, _reasons(result.get("reasons")))

def screening(clinic: Clinic, user: User, patient_id: str, answers: Mapping[str, str]) -> Checklist:
    return _checklist("Screening trial", service.screening_checklist(
        clinic, user.actor, _pid(patient_id), dict(answers)))

def eligibility(clinic: Clinic, user: User, patient_id: str, answers: Mapping[str, str]) -> Checklist:
    return _checklist("Eligibility", service.eligibility_checklist(
        clinic, user.actor, _pid(patient_id), dict(answers)))

def care_team(clinic: Clinic, user: User, patient_id: str | None) -> Sequence[TeamMember]:
    members = (service.site_care_team(clinic, user.actor) if patient_id is None else
               service.patient_care_team(clinic, user.actor, _pid(patient_id)))
    return [TeamMember(str(m["name"]), str(m["title"]), str(m.get("contact") or ""),
                       "; ".join(m.get("responsibilities") or ())) for m in members]

# --- patient and caregiver -------------------------------------------------------------
def alarm_meanings() -> Sequence[AlarmMeaning]:
    return [_alarm(a) for a in service.alarm_meanings()]

def _home(clinic: Clinic, user: User, patient_id: str) -> dict[str, Any]:
    return service.patient_home(clinic, user.actor, _pid(patient_id))

def my_pump(clinic: Clinic, user: User, patient_id: str) -> MyPump:
    home = _home(clinic, user, patient_id)
    p, pump, card = home["patient"], home["pump"] or {}, home["implant_card"] or {}
    header = PumpHeader(
        str(p["id"]), str(p["display_name"]), _day(p.get("born")), str(p.get("etiology")),
        str(card.get("pump") or pump.get("model") or "—"), str(card.get("catheter") or "—"),
        "baclofen", _float(pump.get("concentration_mcg_per_ml")),
        _float(pump.get("daily_dose_mcg")), _float(pump.get("reservoir_ml")),
        _float(pump.get("reservoir_capacity_ml")), _float(pump.get("low_reservoir_alarm_ml")),
        _dt(home.get("low_reservoir_alarm_at")), _dt(home.get("refill_due_by")),
        _dt(home.get("empty_at")), "", ())
    return MyPump(header, _float(home.get("days_of_drug_left")),
                  tuple(_alarm(a) for a in home["alarms"]), str(home.get("clinic_phone")))

def symptom_codes() -> Sequence[Symptom]:
    return [Symptom(str(s["code"]), str(s["patient_words"]), str(s["clinician_words"]),
                    str(s["group_words"])) for s in service.symptom_vocabulary()]

def report_symptoms(clinic: Clinic, user: User, patient_id: str, codes: Sequence[str],
                    notes: str) -> TriageAnswer:
    result = service.report_symptoms(clinic, user.actor, _pid(patient_id),
                                     list(codes), note=notes or None)
    return _triage_answer(result.get("triage") or {}, audience="patient")

def recovery_checklist(clinic: Clinic, user: User, patient_id: str) -> Checklist:
    items = tuple(ChecklistItem(str(i["code"]), str(i["patient"]),
                                "done" if i["status"] == "done" else "todo",
                                _span(i), str(i["source"]))
                  for i in _home(clinic, user, patient_id)["recovery"])
    return Checklist("Recovery after implant", items)

def implant_card(clinic: Clinic, user: User, patient_id: str) -> ImplantCard:
    home = _home(clinic, user, patient_id)
    card = home["implant_card"]
    if not card:
        raise NotFoundError("no implant on record yet", fix="ask the clinic")
    p = home["patient"]
    facts = ("Pump:", "Drug:", "ITB clinic:", "I have an implanted")
    return ImplantCard(str(p["display_name"]), _day(p.get("born")), str(card["pump"]),
                       str(card["catheter"]), "baclofen", str(card["concentration"]),
                       _day(card.get("implanted_on")), str(card["clinic"]),
                       str(card["clinic_phone"]),
                       tuple(line for line in card["lines"] if not line.startswith(facts)))

def appointments(clinic: Clinic, user: User, patient_id: str) -> Sequence[Appointment]:
    return [Appointment(str(a["uid"]), _dt(a["starts_at"]) or clinic.now(),
                        _dt(a["ends_at"]) or clinic.now(), str(a["title"]),
                        str(a.get("location") or ""), str(a.get("description") or ""))
            for a in _home(clinic, user, patient_id)["appointments"]]


def _span(item: Mapping[str, Any]) -> str:
    start, end = _day(item.get("starts")), _day(item.get("ends"))
    if start and end:
        return f"{start:%-d %b} – {end:%-d %b %Y}"
    return f"from {start:%-d %b %Y}" if start else ""


def _alarm(a: Mapping[str, Any]) -> AlarmMeaning:
    return AlarmMeaning(str(a["sound"]), tuple(a["means"]), tuple(a["what_to_do"]),
                        Urgency(a["urgency"]), str(a.get("source") or ""))


def _triage_answer(t: Mapping[str, Any], *, audience: str) -> TriageAnswer:
    """A triage result (``thecal.clinical.triage`` as_dict) in the words of ``audience``."""
    advice = t.get("advice") or {}
    words = str(advice.get(audience) or "") if isinstance(advice, Mapping) else str(advice)
    headline = words.split(". ")[0].rstrip(".") + "." if words else ""
    steps = tuple(str(a.get(audience) or "") for a in t.get("actions") or ()
                  if isinstance(a, Mapping) and a.get(audience))
    reasons = tuple(Reason(str(r.get("id") or ""), str(r.get("description") or ""),
                           str(r.get("source") or ""),
                           "danger" if r.get("urgency") == "emergency" else "info")
                    for r in t.get("rules") or () if isinstance(r, Mapping))
    if audience == "clinician":
        headline = words
    codes = {str(a.get("code")) for a in t.get("actions") or () if isinstance(a, Mapping)}
    return TriageAnswer(Urgency(t.get("urgency") or "urgent"), headline,
                        steps, reasons, "interrogate-pump" in codes)


def _series(s: Mapping[str, Any] | None) -> Series | None:
    if not s or not s.get("points"):
        return None
    points = tuple(Point(_dt(at) or datetime.min, float(v)) for at, v in s["points"])
    return Series(str(s["name"]), str(s["unit"]), points, str(s.get("source") or ""))


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
                           reasons + _reasons(result.get("step_reasons")), {},
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
    new_conc = result.new_concentration_mcg_per_ml if entry.concentration else None
    change = result.concentration_change and bool(entry.concentration)
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
