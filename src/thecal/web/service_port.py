"""The production :class:`~thecal.web.models.ClinicPort`: each call is one ``thecal.service``
use case, and its answer copied into the pages' view models.

Copying only: figures, dates, urgencies and reasons come from the service. Where the service
does not (yet) offer something a page needs, the method raises a ``ThecalError`` that names
the missing use case, so the page says so instead of inventing it (see docs/web.md).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from fastapi import Request

from thecal import service
from thecal.errors import InputError, PermissionDeniedError, ThecalError
from thecal.units import DAILY_DOSE, parse_quantity
from thecal.web.models import (
    AlarmMeaning,
    Appointment,
    Chart,
    Checklist,
    ChecklistItem,
    Concentration,
    ImplantCard,
    InboxItem,
    MyPump,
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
    Urgency,
    User,
    WorklistRow,
)

_ROLE = {"clinician": "clinician", "nurse": "clinician", "pharmacist": "clinician",
         "administrator": "admin", "patient": "patient", "caregiver": "caregiver"}


class NotOffered(ThecalError):
    """The service does not offer what this page needs yet."""


def _missing(what: str) -> NotOffered:
    return NotOffered(f"the clinic service does not offer {what} yet",
                      fix="ask the administrator; this page needs that use case")


def _dt(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value
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
        if isinstance(r, Mapping):
            out.append(Reason(str(r.get("code", "")), str(r.get("message", "")),
                              str(r.get("source", "")), str(r.get("severity", "info"))))
        elif isinstance(r, str):
            out.append(Reason("", r))
    return tuple(out)


def _pid(patient_id: str) -> int:
    try:
        return int(patient_id)
    except ValueError:
        from thecal.errors import NotFoundError

        raise NotFoundError(f"no patient {patient_id!r}") from None


class ServicePort:
    """A ClinicPort over one :class:`thecal.service.Clinic`."""

    def __init__(self, clinic: Any, client: str | None = None) -> None:
        self.clinic = clinic
        self.client = client
        self.session_cookie_name: str = clinic.settings.session_cookie_name
        self.cookie_secure: bool = bool(clinic.settings.cookie_secure)

    @classmethod
    def for_request(cls, request: Request) -> ServicePort:
        clinic = request.app.state.clinic
        return cls(clinic, request.client.host if request.client else None)

    # --- sessions --------------------------------------------------------------------------
    def _user(self, actor: Any) -> User:
        role = _ROLE.get(actor.role, actor.role)
        patients: tuple[str, ...] = ()
        if actor.patient_id is not None:
            patients = (str(actor.patient_id),)
        elif role == "caregiver":
            patients = tuple(str(p["id"]) for p in service.list_patients(self.clinic, actor))
        return User(str(actor.user_id), actor.display_name or actor.username, role,
                    str(actor.site_id or ""), patients, actor)

    def sign_in(self, username: str, password: str) -> SignedIn | None:
        try:
            result = service.login(self.clinic, username, password, client=self.client)
        except service.ThrottledError:
            raise
        except (PermissionDeniedError, InputError):
            return None
        return SignedIn(result.session_token, self._user(result.actor), result.csrf_token)

    def sign_out(self, token: str) -> None:
        service.logout(self.clinic, token)

    def current_user(self, token: str) -> User | None:
        try:
            return self._user(service.actor_from_session(self.clinic, token))
        except PermissionDeniedError:
            return None

    def csrf_token(self, token: str) -> str:
        return str(service.csrf_token(self.clinic, token))

    def reauthenticate(self, token: str, password: str) -> bool:
        user = self.current_user(token)
        if user is None:
            return False
        try:
            service.verify_password_again(self.clinic, user.actor, password)
        except (PermissionDeniedError, InputError):
            return False
        return True

    # --- clinician -------------------------------------------------------------------------
    def worklist(self, user: User) -> Sequence[WorklistRow]:
        rows = []
        for item in service.worklist(self.clinic, user.actor):
            score = int(item.urgency)
            urgency: Urgency = ("emergency" if score >= 85 else "urgent" if score >= 55 else
                       "soon" if score >= 25 else "routine")
            rows.append(WorklistRow(str(item.patient_id), item.display_name, urgency,
                                    tuple(item.reasons), _day(item.refill_due_by),
                                    item.low_reservoir_alarm_at))
        return rows

    def _header(self, chart: Any) -> PumpHeader:
        p, proj = chart.patient, chart.projection or {}
        pump = proj.get("pump") or {}
        implants = chart.implants or []
        last = implants[-1] if implants else {}
        alarms = tuple(str(a.get("code")) for a in proj.get("alarms") or ()
                       if not a.get("acknowledged"))
        return PumpHeader(
            str(p["id"]), str(p["display_name"]), _day(p.get("born")), str(p.get("etiology")),
            str(pump.get("model") or last.get("pump") or "—"),
            str(last.get("catheter") or "—"), "baclofen",
            _float(pump.get("concentration_mcg_per_ml")), _float(pump.get("daily_dose_mcg")),
            _float(pump.get("reservoir_ml")), _float(pump.get("reservoir_capacity_ml")),
            _float(pump.get("low_reservoir_alarm_ml")), _dt(proj.get("low_reservoir_alarm_at")),
            _day(proj.get("refill_due_by")), _dt(proj.get("empty_at")),
            "MR conditional: interrogate the pump before and after every MRI"
            if pump.get("model") else "", (), alarms,
            _reasons(f for f in proj.get("findings") or () if isinstance(f, Mapping)))

    def chart(self, user: User, patient_id: str) -> Chart:
        chart = service.patient_chart(self.clinic, user.actor, _pid(patient_id))
        header = self._header(chart)
        timeline = tuple(TimelineItem(_dt(e.get("at")) or datetime.min, str(e.get("type")),
                                      _event_words(e), str(e.get("by") or ""),
                                      str(e.get("id") or ""))
                         for e in chart.events if _dt(e.get("at")))
        reservoir = None
        proj = chart.projection or {}
        now = _dt(proj.get("at"))
        if now and header.reservoir_ml is not None:
            points = [Point(now, header.reservoir_ml)]
            if header.next_alarm_at and header.low_alarm_ml is not None:
                points.append(Point(header.next_alarm_at, header.low_alarm_ml))
            if header.empty_at:
                points.append(Point(header.empty_at, 0.0))
            reservoir = Series("reservoir", "mL", tuple(points), "twin projection")
        doses = []
        for e in chart.events:
            if e.get("type") == "program" and e.get("daily_dose") and _dt(e.get("at")):
                try:
                    value = parse_quantity(str(e["daily_dose"]), DAILY_DOSE)
                except ThecalError:
                    continue
                doses.append(Point(_dt(e["at"]), value))  # type: ignore[arg-type]
        if doses and now and now > doses[-1].at:
            doses.append(Point(now, doses[-1].value))
        ashworth, penn = [], []
        for a in chart.assessments:
            at = _dt(a.get("at"))
            if at is None:
                continue
            mas = str(a.get("mas") or "")
            if mas:
                ashworth.append(Point(at, 1.5 if mas == "1+" else float(mas)))
            if a.get("penn_frequency") is not None:
                penn.append(Point(at, float(a["penn_frequency"])))
        return Chart(header, timeline, reservoir,
                     Series("daily dose", "mcg/day", tuple(doses)) if doses else None,
                     Series("Ashworth", "score", tuple(ashworth)) if ashworth else None,
                     Series("Penn frequency", "score", tuple(penn)) if penn else None)

    def formulary(self, user: User) -> Sequence[Concentration]:
        raise _missing("the formulary (the concentrations a refill may use)")

    def _refill_kwargs(self, entry: RefillInput, header: PumpHeader) -> dict[str, str]:
        conc = entry.concentration or (f"{header.concentration_mcg_per_ml:g} mcg/mL"
                                       if header.concentration_mcg_per_ml else "")
        return {"withdrawn": entry.withdrawn or "0 mL", "added": entry.added or "0 mL",
                "concentration": conc}

    def _call_refill(self, func: Any, user: User, patient_id: str, entry: RefillInput,
                     header: PumpHeader, **extra: Any) -> dict[str, Any]:
        kwargs = self._refill_kwargs(entry, header)
        result: dict[str, Any] = func(self.clinic, user.actor, _pid(patient_id),
                                      withdrawn=kwargs["withdrawn"], added=kwargs["added"],
                                      concentration=kwargs["concentration"], **extra)
        return result

    def propose_refill(self, user: User, patient_id: str, entry: RefillInput) -> RefillProposal:
        header = self.chart(user, patient_id).header
        try:
            result = self._call_refill(service.propose_refill, user, patient_id, entry, header)
        except InputError as exc:
            field = (exc.where or "withdrawn").split(".")[-1]
            return _empty_refill(header, {field: exc.one_line()})
        return _refill_from(result, header, entry)

    def record_refill(self, user: User, patient_id: str, entry: RefillInput,
                      password: str) -> RefillRecord:
        chart = service.patient_chart(self.clinic, user.actor, _pid(patient_id))
        header = self._header(chart)
        result = self._call_refill(service.record_refill, user, patient_id, entry, header,
                                   expected_version=chart.version, password=password,
                                   reason=entry.discrepancy_explanation or None)
        proposal = _refill_from(result.get("proposal") or {}, header, entry)
        event = result.get("event") or {}
        return RefillRecord(str(event.get("id") or result.get("pending_id") or ""), patient_id,
                            header.name, _dt(event.get("at")) or datetime.now(),
                            user.display_name, proposal, str(result.get("status")))

    def refill_record(self, user: User, patient_id: str, event_id: str) -> RefillRecord:
        raise _missing("a recorded refill's summary (refill by event id)")

    def _program_proposal(self, user: User, patient_id: str, daily_dose: str,
                          reason: str) -> tuple[ProgramProposal, str]:
        chart = service.patient_chart(self.clinic, user.actor, _pid(patient_id))
        header = self._header(chart)
        conc = header.concentration_mcg_per_ml or 0.0
        old = _summary(header.daily_dose_mcg or 0.0, conc)
        try:
            result = service.propose_program_change(
                self.clinic, user.actor, _pid(patient_id),
                {"mode": "continuous", "daily_dose": daily_dose}, chart.version,
                reason=reason or None)
        except InputError as exc:
            if "absolute" in exc.message:
                return ProgramProposal(old, None, None, "above-absolute", False, False,
                                       (Reason("absolute", exc.one_line(), "",
                                               "danger"),)), ""
            raise
        new_total = _float((result.get("new") or {}).get("daily_total_mcg")) or 0.0
        reasons = _reasons((result.get("guardrail") or {}).get("reasons"))
        reasons += _reasons((result.get("titration") or {}).get("reasons"))
        old_total = header.daily_dose_mcg or 0.0
        step = (new_total - old_total) / old_total if old_total else None
        classification = str((result.get("guardrail") or {}).get("classification") or "")
        return ProgramProposal(old, _summary(new_total, conc), step, classification,
                               bool(result.get("needs_reason")), True, reasons), \
            str(result.get("confirmation_token") or "")

    def propose_program(self, user: User, patient_id: str, daily_dose: str,
                        override_reason: str) -> ProgramProposal:
        return self._program_proposal(user, patient_id, daily_dose, override_reason)[0]

    def confirm_program(self, user: User, patient_id: str, daily_dose: str,
                        override_reason: str, password: str) -> ProgramProposal:
        proposal, token = self._program_proposal(user, patient_id, daily_dose, override_reason)
        service.confirm_program_change(self.clinic, user.actor, _pid(patient_id), token,
                                       password, reason=override_reason or None)
        return proposal

    def record_assessment(self, user: User, patient_id: str, ashworth: dict[str, str],
                          penn_frequency: str, penn_severity: str, notes: str) -> None:
        chart = service.patient_chart(self.clinic, user.actor, _pid(patient_id))
        data: dict[str, Any] = {}
        if ashworth:
            data["mas"] = max(ashworth.values(), key=lambda v: 1.5 if v == "1+" else float(v))
            data["mas_by_group"] = dict(ashworth)
        if penn_frequency:
            data["penn_frequency"] = int(penn_frequency)
        if penn_severity:
            data["penn_severity"] = int(penn_severity)
        if notes:
            data["notes"] = notes
        service.record_assessment(self.clinic, user.actor, _pid(patient_id), data,
                                  chart.version)

    def muscle_groups(self) -> Sequence[str]:
        return ("hip-flexors", "hip-adductors", "knee-flexors", "knee-extensors",
                "ankle-plantarflexors", "elbow-flexors", "wrist-flexors")

    def triage_inbox(self, user: User) -> Sequence[InboxItem]:
        raise _missing("the triage inbox (the site's recent symptom reports with triage)")

    def _checklist(self, title: str, result: Mapping[str, Any]) -> Checklist:
        items = []
        for c in result.get("criteria") or result.get("items") or ():
            if isinstance(c, Mapping):
                met = c.get("met")
                status = "met" if met is True else "not-met" if met is False else "unknown"
                items.append(ChecklistItem(str(c.get("code") or c.get("key")),
                                           str(c.get("message") or c.get("text")),
                                           status, "", str(c.get("source") or "")))  # type: ignore[arg-type]
        return Checklist(title, tuple(items), str(result.get("verdict") or
                                                  result.get("status") or ""),
                         _reasons(result.get("reasons")))

    def screening(self, user: User, patient_id: str, answers: Mapping[str, str]) -> Checklist:
        return self._checklist("Screening trial", service.screening_plan(
            self.clinic, user.actor, _pid(patient_id), _answers(answers)))

    def eligibility(self, user: User, patient_id: str, answers: Mapping[str, str]) -> Checklist:
        return self._checklist("Eligibility", service.eligibility(
            self.clinic, user.actor, _pid(patient_id), _answers(answers)))

    def care_team(self, user: User, patient_id: str | None) -> Sequence[TeamMember]:
        if patient_id is None:
            raise _missing("the site's care team")
        return [TeamMember(str(m.get("display_name") or m.get("username") or ""),
                           str(m.get("team_role") or m.get("role") or ""))
                for m in service.care_team(self.clinic, user.actor, _pid(patient_id))]

    # --- patient and caregiver -------------------------------------------------------------
    def alarm_meanings(self) -> Sequence[AlarmMeaning]:
        raise _missing("the pump alarm meanings for patients")

    def my_pump(self, user: User, patient_id: str) -> MyPump:
        raise _missing("the patient's pump summary (days of drug left, alarm meanings)")

    def symptom_codes(self) -> Sequence[Symptom]:
        raise _missing("the symptom vocabulary (codes with patient words)")

    def report_symptoms(self, user: User, patient_id: str, codes: Sequence[str],
                        notes: str) -> TriageAnswer:
        result = service.report_symptoms(self.clinic, user.actor, _pid(patient_id),
                                         list(codes), note=notes or None)
        t = result.get("triage") or {}
        actions = t.get("actions") or t.get("advice") or ()
        if isinstance(actions, str):
            actions = (actions,)
        return TriageAnswer(str(t.get("urgency") or "urgent"),  # type: ignore[arg-type]
                            str(t.get("headline") or t.get("summary") or ""),
                            tuple(str(a.get("message") if isinstance(a, Mapping) else a)
                                  for a in actions),
                            _reasons(t.get("reasons")), bool(t.get("interrogate_pump")))

    def recovery_checklist(self, user: User, patient_id: str) -> Checklist:
        raise _missing("the recovery checklist after implant")

    def implant_card(self, user: User, patient_id: str) -> ImplantCard:
        raise _missing("the implant card")

    def appointments(self, user: User, patient_id: str) -> Sequence[Appointment]:
        raise _missing("refill appointments")


def _answers(answers: Mapping[str, str]) -> dict[str, Any]:
    return {k: {"yes": True, "no": False}[v] for k, v in answers.items() if v in ("yes", "no")}


def _summary(daily_dose_mcg: float, concentration: float) -> ProgramSummary:
    volume = daily_dose_mcg / concentration if concentration else 0.0
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


def _refill_from(result: Mapping[str, Any], header: PumpHeader,
                 entry: RefillInput) -> RefillProposal:
    old_conc = _float(result.get("old_concentration_mcg_per_ml")) or \
        header.concentration_mcg_per_ml or 0.0
    new_conc = _float(result.get("new_concentration_mcg_per_ml")) if entry.concentration \
        else None
    bridge = result.get("bridge_bolus") or {}
    bridge_words = None
    if result.get("concentration_change") and entry.concentration:
        bridge_words = str(bridge.get("summary") or bridge.get("message") or bridge)
    after = result.get("after") or {}
    dose = header.daily_dose_mcg or 0.0
    residual = result.get("residual_check") or {}
    return RefillProposal(
        _float(result.get("expected_residual_ml")) or 0.0,
        _float(result.get("withdrawn_ml")) if entry.withdrawn else None,
        bool(result.get("discrepancy")) and bool(entry.withdrawn),
        _reasons(residual.get("reasons")), old_conc, new_conc,
        _float(result.get("added_ml")) if entry.added else None,
        header.reservoir_capacity_ml or 0.0,
        bool(result.get("concentration_change")) and bool(entry.concentration), bridge_words,
        _reasons(bridge.get("reasons") if isinstance(bridge, Mapping) else ()),
        _summary(dose, old_conc), _summary(dose, new_conc or old_conc), (), False, True,
        _dt(after.get("low_reservoir_alarm_at")), _day(after.get("refill_due_by")))
