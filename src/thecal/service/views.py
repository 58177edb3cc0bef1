"""Read-only views the clinic pages need: the formulary, one refill by event id, the triage
inbox, the site's care team, the chart's time series, and the eligibility and screening
checklists built from form answers.

Each function authorises the actor like the other use cases and adds one audit row for a
read of patient records (a refusal is audited by :meth:`Clinic.run`). Nothing clinical is
decided here: the rules come from ``thecal.clinical`` and the figures from the twin
(``thecal.device.replay``) and the virtual patient (``thecal.sim.scenario``).
"""

from __future__ import annotations

import dataclasses
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Final

import numpy as np
from sqlalchemy import Connection

from thecal.catalog import FORMULATIONS, formulation
from thecal.clinical.assessment import mas_value
from thecal.clinical.care_team import ROLES as TEAM_ROLES
from thecal.clinical.context import pump_context_from_projection
from thecal.clinical.eligibility import EligibilityResult, assess_eligibility
from thecal.clinical.etiology import origin
from thecal.clinical.projection import TwinSettings
from thecal.clinical.screening import ScreeningPlan
from thecal.clinical.screening import screening_plan as plan_screening
from thecal.clinical.symptoms import symptom
from thecal.clinical.triage import TriageResult, Urgency, triage
from thecal.errors import InputError, NotFoundError, ThecalError
from thecal.limits import Reason, Severity
from thecal.physiology.population import preset_names
from thecal.service import authz
from thecal.service.actors import Actor
from thecal.service.admin import LEGACY_TEAM_ROLES, site_timezone
from thecal.service.clinic import Clinic
from thecal.service.medicines import medicines_in
from thecal.service.patients import ImplantRecord, Patient, StoredEvent, stored_event
from thecal.service.results import (
    ChartSeries,
    Checklist,
    ChecklistItem,
    Concentration,
    InboxItem,
    Point,
    Series,
    TeamMember,
    TriageAnswer,
)
from thecal.service.therapy import RefillAnalysis, refill_analysis
from thecal.service.twin import build_timeline, projection_of, site_settings, twin_settings
from thecal.store import auth as auth_store
from thecal.store import events as event_store
from thecal.store import records
from thecal.store.records import Row
from thecal.timeline import Assessment, PhysiologySpec, Refill, Timeline

# Which care-team role (thecal.clinical.care_team) a login role holds by default.
LOGIN_TEAM_ROLE: Final = {"clinician": "physician", "nurse": "itb-nurse",
                          "pharmacist": "pharmacist"}
TRIAGE_INBOX_DAYS: Final = 14
SERIES_DAYS: Final = 60
SERIES_EVERY_H: Final = 2.0
SERIES_AHEAD_DAYS: Final = 30


# ------------------------------------------------------------------ formulary

def formulary(clinic: Clinic, actor: Actor) -> list[Concentration]:
    """The maintenance concentrations a refill may use, one entry per concentration.

    From ``thecal.catalog`` (each brand with its source); the screening strength is left out.
    No patient record is read, so no audit row is written.
    """
    authz.require(actor, authz.REFILL_PROPOSE)
    brands: dict[float, set[str]] = {}
    for fid in FORMULATIONS:
        f = formulation(fid)
        if f.use == "maintenance" and not f.compounded:
            brands.setdefault(f.concentration_mcg_per_ml, set()).add(f.brand)
    return [Concentration(conc, f"{conc:g} mcg/mL ({', '.join(sorted(brands[conc]))})")
            for conc in sorted(brands)]


# ------------------------------------------------------------------ one refill

@dataclass(frozen=True)
class RecordedRefill:
    """A recorded refill with the figures its proposal showed (the printable summary)."""

    patient: Patient
    stored: StoredEvent  # the refill as recorded (``refill``), by whom and when entered
    analysis: RefillAnalysis  # recomputed from the record as it stood before the refill
    entered_by: str  # the display name of who entered it
    implant: ImplantRecord | None  # the pump and catheter in place at the refill
    confirmation_status: str = ""  # "" none needed | open | confirmed | rejected
    confirmed_by: str = ""  # the second signer's display name
    confirmed_at: datetime | None = None
    decision_reason: str = ""
    corrective_action: str = ""

    @property
    def refill(self) -> Refill:
        assert isinstance(self.stored.event, Refill)
        return self.stored.event


def refill_record(clinic: Clinic, actor: Actor, patient_id: int, event_id: str
                  ) -> RecordedRefill:
    """A recorded refill with everything its proposal showed (the printable summary).

    The figures are recomputed from the record as it stood before the refill: expected
    residual and discrepancy check, bridge bolus, the alarm, empty and refill-due dates after it.
    """
    def body(conn: Connection) -> RecordedRefill:
        patient = authz.patient_for(conn, actor, authz.READ, patient_id)
        if actor.role not in ("clinician", "nurse", "pharmacist", "system"):
            raise NotFoundError(f"refill {event_id} not found", where="event_id")
        rows = event_store.list_events(conn, patient_id)
        found = next((r for r in rows if r["event_id"] == event_id), None)
        if found is None or found["type"] != "refill":
            raise NotFoundError(f"refill {event_id} not found", where="event_id",
                                fix="open the refill from the patient's timeline")
        stored = stored_event(found)
        assert isinstance(stored.event, Refill)
        timeline = build_timeline(patient, [r for r in rows if r["event_id"] != event_id])
        analysis = refill_analysis(patient, timeline, stored.event,
                                   site_settings(conn, int(patient["site_id"])))
        clinic.audit(conn, actor, "patient.read", entity="event", entity_id=event_id,
                     patient_id=patient_id, event_id=event_id, field="refill")
        author = records.user_by_name(conn, str(found["author"] or "")) or {}
        confirmation = auth_store.confirmation_for_event(conn, patient_id, event_id) or {}
        signer = (records.get_user(conn, int(confirmation["decided_by"]))
                  if confirmation.get("decided_by") else None) or {}
        implant = next((i for i in reversed(records.implants_of(conn, patient_id))
                        if i["implanted_at"] <= stored.event.at), None)
        return RecordedRefill(
            Patient.of(patient), stored, analysis,
            str(author.get("display_name") or found["author"] or ""),
            ImplantRecord.of(implant) if implant else None,
            confirmation_status=str(confirmation.get("status") or ""),
            confirmed_by=str(signer.get("display_name") or signer.get("username") or ""),
            confirmed_at=confirmation.get("decided_at"),
            decision_reason=str(confirmation.get("decision_reason") or ""),
            corrective_action=str(confirmation.get("corrective_action") or ""))

    return clinic.run(actor, "patient.read", body, patient_id=patient_id, entity="refill",
                      entity_id=event_id)


# ------------------------------------------------------------------ triage inbox

def _triage_at(timeline: Timeline, settings: TwinSettings, codes: list[str], at: datetime
               ) -> TriageResult:
    """The triage a report at ``at`` got: the same rules on the record as it stood then,
    projected as the report was (the site's twin settings)."""
    earlier = Timeline(timeline.patient, tuple(e for e in timeline.events if e.at <= at))
    context = pump_context_from_projection(projection_of(earlier, at, settings), at)
    return triage(list(codes), [], context)


def triage_inbox(clinic: Clinic, actor: Actor, *, days: int = TRIAGE_INBOX_DAYS,
                 limit: int = 100) -> list[InboxItem]:
    """The symptom reports of the actor's patients in the last ``days``, most urgent first.

    Each report carries the triage answer it was given (the rules replayed on the record as it
    stood at the report; the ruleset is deterministic), in the clinician's words.
    """
    def body(conn: Connection) -> list[InboxItem]:
        authz.require(actor, authz.WORKLIST)
        since = clinic.now() - timedelta(days=max(1, days))
        found = records.symptom_reports_since(conn, authz.visible_patients_clause(actor), since,
                                              max(1, min(limit, 1000)))
        records_: dict[int, tuple[Timeline, TwinSettings]] = {}
        items = []
        for row in found:
            pid = int(row["patient_id"])
            if pid not in records_:
                patient = records.get_patient(conn, pid)
                assert patient is not None
                records_[pid] = (build_timeline(patient, event_store.list_events(conn, pid)),
                                 twin_settings(site_settings(conn, int(patient["site_id"]))))
            data = dict(row["data"])
            at = datetime.fromisoformat(str(data["at"]))
            codes = [str(c) for c in data.get("codes") or ()]
            try:
                result = _triage_at(*records_[pid], codes, at)
            except ThecalError:
                continue
            items.append(InboxItem(str(row["event_id"]), str(pid), str(row["display_name"]), at,
                                   tuple(symptom(c).clinician_words for c in codes),
                                   triage_answer(result, audience="clinician")))
        items.sort(key=lambda i: (-i.answer.urgency.rank, -i.at.timestamp()))
        clinic.audit(conn, actor, "triage.read", entity="patient",
                     detail=f"{len(items)} symptom reports listed")
        return items

    return clinic.run(actor, "triage.read", body, entity="triage")


def triage_answer(result: TriageResult, *, audience: str) -> TriageAnswer:
    """A triage result in the words of ``audience`` (``patient`` or ``clinician``)."""
    words = result.advice_patient if audience == "patient" else result.advice_clinician
    headline = (words.split(". ")[0].rstrip(".") + "." if words and audience == "patient"
                else words)
    steps = tuple(getattr(a, audience) for a in result.actions if getattr(a, audience))
    reasons = tuple(Reason(r.id, r.description, r.source,
                           Severity.DANGER if r.urgency is Urgency.EMERGENCY else Severity.INFO)
                    for r in result.rules)
    return TriageAnswer(result.urgency, headline, steps, reasons,
                        any(a.code == "interrogate-pump" for a in result.actions))


# ------------------------------------------------------------------ display time zone

def display_timezone(clinic: Clinic, actor: Actor, patient_id: int | None = None) -> str:
    """The IANA zone a face shows times in for ``actor`` (stored times stay UTC).

    With ``patient_id`` (a page about that patient, e.g. a patient's home page): the
    patient's own ``timezone``, if the actor may see the patient. Otherwise a patient login's
    own patient's zone, and for staff the site's ``timezone`` setting; UTC when none applies
    (a caregiver: pass the linked patient). Only a zone name is returned (a display
    setting, not record content), so no audit row is written; a refused patient is audited.
    """
    def body(conn: Connection) -> str:
        if patient_id is not None:
            return str(authz.patient_for(conn, actor, authz.READ, patient_id)["timezone"])
        if actor.patient_id is not None:
            patient = records.get_patient(conn, int(actor.patient_id))
            if patient is not None:
                return str(patient["timezone"])
        if actor.site_id is not None:
            site = records.get_site(conn, int(actor.site_id)) or {}
            return site_timezone(site.get("settings"))
        return "UTC"

    return clinic.run(actor, "patient.read" if patient_id is not None else "timezone.read",
                      body, patient_id=patient_id, entity="timezone")


# ------------------------------------------------------------------ care team

def _member(name: str, team_role: str, contact: str = "") -> TeamMember:
    team_role = LEGACY_TEAM_ROLES.get(team_role, team_role)
    role = TEAM_ROLES.get(team_role)
    return TeamMember(name, team_role, role.title if role else team_role.replace("-", " "),
                      contact, tuple(role.responsibilities) if role else ())


def site_care_team(clinic: Clinic, actor: Actor, site_id: int | None = None
                   ) -> list[TeamMember]:
    """The clinical staff of a site (default: the actor's) with their care-team roles.

    Staff see their own site; a patient or caregiver sees the site of the patient(s) they may
    see (pass the patient's ``site_id`` through :func:`patient_care_team`).
    """
    def body(conn: Connection) -> list[TeamMember]:
        authz.require(actor, authz.READ)
        wanted = site_id if site_id is not None else actor.site_id
        if wanted is None or (actor.role in LOGIN_TEAM_ROLE and wanted != actor.site_id):
            raise NotFoundError("no care team to show", where="site_id",
                                fix="you see the care team of your own site")
        return _site_team(conn, int(wanted))

    return clinic.run(actor, "care-team.read", body, entity="care_team")


def _site_team(conn: Connection, site_id: int) -> list[TeamMember]:
    site = records.get_site(conn, site_id) or {}
    phone = str((site.get("settings") or {}).get("clinic_phone") or "")
    return [_member(str(u["display_name"] or u["username"]), LOGIN_TEAM_ROLE[u["role"]], phone)
            for u in records.list_users(conn, site_id)
            if u["role"] in LOGIN_TEAM_ROLE and u["active"]]


def patient_care_team(clinic: Clinic, actor: Actor, patient_id: int) -> list[TeamMember]:
    """A patient's named care team, then the clinical staff of the patient's site."""
    def body(conn: Connection) -> list[TeamMember]:
        patient = authz.patient_for(conn, actor, authz.READ, patient_id)
        named = [_member(str(m.get("display_name") or m.get("username") or ""),
                         str(m.get("team_role") or ""))
                 for m in records.care_team_of(conn, patient_id)]
        names = {m.name for m in named}
        site = [m for m in _site_team(conn, int(patient["site_id"])) if m.name not in names]
        clinic.audit(conn, actor, "patient.read", entity="patient", entity_id=str(patient_id),
                     patient_id=patient_id, field="care_team")
        return named + site

    return clinic.run(actor, "patient.read", body, patient_id=patient_id, entity="care_team")


# ------------------------------------------------------------------ chart series

ADULT_AGE_YEARS: Final = 18.0


def physiology_preset(etiology: str, age_years: float | None) -> str:
    """The virtual-patient preset for a clinic patient (``thecal.physiology.population``).

    Below 18 years a child's preset of the etiology's origin; an adult with cerebral palsy the
    adult cerebral one (the ``cerebral-palsy`` preset stands for children); otherwise the
    etiology's own preset, or the adult preset of its origin.
    """
    kind = origin(etiology)
    if age_years is not None and age_years < ADULT_AGE_YEARS:
        return "child-spinal" if kind == "spinal" else "child-cerebral"
    if etiology == "cerebral-palsy" or etiology not in preset_names():
        return "adult-spinal" if kind == "spinal" else "adult-cerebral"
    return etiology


def virtual_patient(etiology: str, age_years: float | None, mrn: str) -> PhysiologySpec:
    """The one virtual patient that stands for a clinic patient: the preset for the etiology
    and age, and a member of it drawn from the MRN (the same patient on every chart and in
    the demo that made the history)."""
    return PhysiologySpec(physiology_preset(etiology, age_years),
                          zlib.crc32(mrn.encode("utf-8")))


def _series(name: str, unit: str, source: str, times: list[datetime],
            values: Iterable[float]) -> Series | None:
    points = tuple(Point(t, round(float(v), 4)) for t, v in zip(times, values, strict=True)
                   if np.isfinite(v))
    return Series(name, unit, points, source) if points else None


def chart_series(clinic: Clinic, actor: Actor, patient_id: int, *, days: int = SERIES_DAYS,
                 every_h: float = SERIES_EVERY_H) -> ChartSeries:
    """Time series for a chart: the last ``days`` at ``every_h`` steps.

    ``reservoir`` (mL, the twin, continued ``SERIES_AHEAD_DAYS`` ahead as a projection),
    ``daily_dose`` (mcg/day, the programmed schedule), ``mas`` (recorded Modified Ashworth
    grades, ``1+`` at 1.5) and ``penn``, and — from the virtual patient for this etiology (a model, not a
    measurement) — ``csf_level`` (ng/mL) and ``tone`` (expected MAS). A series with no
    points is None.
    """
    from thecal.device.replay import replay
    from thecal.sim.scenario import run_scenario

    def body(conn: Connection) -> tuple[str, Timeline]:
        patient = authz.patient_for(conn, actor, authz.READ, patient_id)
        rows = event_store.list_events(conn, patient_id)
        clinic.audit(conn, actor, "patient.read", entity="patient", entity_id=str(patient_id),
                     patient_id=patient_id, field="series")
        return str(patient["mrn"]), build_timeline(patient, rows)

    mrn, timeline = clinic.run(actor, "patient.read", body, patient_id=patient_id,
                               entity="series")
    now = clinic.now()
    assessments = [e for _, e in timeline.effective_events() if isinstance(e, Assessment)]
    graded = [e for e in assessments if e.mas]
    scored = [e for e in assessments if e.penn_frequency is not None]
    recorded = ChartSeries(
        mas=_series("Modified Ashworth (MAS)", "grade", "recorded", [e.at for e in graded],
                    [mas_value(str(e.mas)) for e in graded]),
        penn=_series("Penn spasm frequency", "score", "recorded", [e.at for e in scored],
                     [float(e.penn_frequency or 0) for e in scored]))
    if not any(e.type == "implant" for e in timeline.events):
        return recorded
    step = timedelta(hours=every_h)
    start = max(now - timedelta(days=days), timeline.events[0].at)
    ahead = now + timedelta(days=SERIES_AHEAD_DAYS)
    try:
        replayed = replay(timeline, ahead)
    except ThecalError:
        return recorded
    n_past = int((now - start) / step) + 1
    n_all = int((ahead - start) / step) + 1
    times = [(start + i * step).astimezone(timeline.patient.zone) for i in range(n_all)]
    t_h = np.array([replayed.t_h(t) for t in times])
    # The chart follows the measurements: the twin's estimate, re-anchored at every refill
    # (the drained residual) and interrogation (docs/twin.md).
    recorded = dataclasses.replace(
        recorded,
        reservoir=_series("reservoir", "mL", "twin estimate (projection after now)", times,
                          replayed.estimate_ml_at(t_h)),
        daily_dose=_series("daily dose", "mcg/day", "programmed", times[:n_past],
                           replayed.programmed_daily_dose.value_at(t_h[:n_past])))
    age = timeline.patient.age_years(now) if timeline.patient.born else None
    spec = virtual_patient(timeline.patient.etiology, age, mrn)
    virtual = Timeline(dataclasses.replace(timeline.patient, physiology=spec), timeline.events)
    try:
        trace = run_scenario(virtual, now, every_h=every_h)
    except ThecalError:
        return recorded
    trace_times = trace.times()
    keep = [i for i, t in enumerate(trace_times) if t >= start]
    sampled = [trace_times[i] for i in keep]
    source = f"virtual patient ({spec.preset} preset): expected, not measured"
    return dataclasses.replace(
        recorded,
        csf_level=_series("spinal-fluid baclofen", "ng/mL", source, sampled,
                          trace.columns["csf_conc_ng_per_ml"][keep]),
        tone=_series("expected tone", "MAS", source, sampled, trace.columns["mas"][keep]))


# ------------------------------------------------------------------ checklists

@dataclass(frozen=True)
class Question:
    """A form question: the eligibility record field it fills (``thecal.clinical.eligibility``),
    the criterion whose outcome answers it, and its choices (None: a plain number)."""

    key: str
    text: str
    criterion: str
    choices: tuple[tuple[str, str], ...] | None = (("", "not known"), ("yes", "yes"),
                                                  ("no", "no"))


ELIGIBILITY_QUESTIONS: Final[tuple[Question, ...]] = (
    Question("spasticity_severity", "How severe is the spasticity?", "severe-spasticity",
             (("", "not known"), ("mild", "mild"), ("moderate", "moderate"),
              ("severe", "severe"))),
    Question("spasticity_interferes",
             "Does the spasticity interfere with function, care or comfort?",
             "spasticity-interferes"),
    Question("oral_baclofen.tried", "Has oral baclofen been tried?",
             "oral-baclofen-insufficient"),
    Question("oral_baclofen.inadequate_response",
             "Did oral baclofen help too little at tolerated doses?",
             "oral-baclofen-insufficient"),
    Question("oral_baclofen.intolerable_side_effects",
             "Did oral baclofen cause side effects that could not be tolerated?",
             "oral-baclofen-insufficient"),
    Question("screening_result", "Result of the screening test dose", "screening-response",
             (("", "not known"), ("positive", "positive (responded)"),
              ("negative", "negative (no response)"), ("not-done", "not done yet"))),
    Question("active_infection", "Is there an active infection?", "no-active-infection"),
    Question("baclofen_allergy", "Is there an allergy to baclofen?", "no-baclofen-allergy"),
    Question("months_since_brain_injury", "Months since the brain injury (brain injury only)",
             "time-since-brain-injury", None),
)
_STATUS: Final = {"pass": "met", "excludes": "not-met", "not-yet": "not-met"}


def _answer(q: Question, raw: str) -> bool | float | str:
    if q.choices is None:
        try:
            return float(raw)
        except ValueError:
            raise InputError(f"{raw!r} is not a number", where=q.key,
                             fix="write a plain number of months, e.g. 14") from None
    if q.choices[1][0] != "yes":
        return raw
    if raw not in ("yes", "no"):
        raise InputError(f"{raw!r} is not yes or no", where=q.key)
    return raw == "yes"


def _eligibility_record(patient: Row, answers: dict[str, str], now: datetime
                        ) -> dict[str, object]:
    record: dict[str, object] = {"etiology": patient["etiology"]}
    groups: dict[str, dict[str, object]] = {}
    born = patient.get("born")
    if born:
        b = date.fromisoformat(str(born))
        record["age_years"] = round((now.date() - b).days / 365.25, 1)
    for q in ELIGIBILITY_QUESTIONS:
        raw = str(answers.get(q.key, "")).strip()
        if raw:
            outer, _, inner = q.key.partition(".")
            if inner:
                groups.setdefault(outer, {})[inner] = _answer(q, raw)
            else:
                record[q.key] = _answer(q, raw)
    return record | groups


def eligibility_checklist(clinic: Clinic, actor: Actor, patient_id: int,
                          answers: dict[str, str]) -> Checklist:
    """Eligibility from form answers (``"yes"``/``"no"``/choice words; blank = not known).

    The checklist holds the questions (each with its answer and the outcome of the criterion
    it feeds), then the rule's criteria with outcomes and words, and the verdict. The
    patient's etiology and age come from the record.
    """
    answers = dict(answers)  # a recorded baclofen allergy fills in the form's answer

    def body(conn: Connection) -> EligibilityResult:
        patient = authz.patient_for(conn, actor, authz.ADVICE, patient_id)
        record = _eligibility_record(dict(patient), answers, clinic.now())
        if medicines_in(conn, patient_id).baclofen_allergy:
            # a recorded baclofen allergy is a contraindication whatever the form says
            record["baclofen_allergy"] = True
            answers["baclofen_allergy"] = "yes"
        result = assess_eligibility(record)
        clinic.audit(conn, actor, "patient.read", entity="patient", entity_id=str(patient_id),
                     patient_id=patient_id, field="eligibility")
        return result

    result = clinic.run(actor, "advice.eligibility", body, patient_id=patient_id,
                        entity="eligibility")
    outcomes = {c.code: c.outcome.value for c in result.criteria}
    questions = tuple(ChecklistItem(q.key, q.text, _STATUS.get(outcomes.get(q.criterion, ""),  # type: ignore[arg-type]
                                                                "unknown"),
                                    choices=q.choices, answer=str(answers.get(q.key, "")))
                      for q in ELIGIBILITY_QUESTIONS)
    criteria = tuple(ChecklistItem(c.code, c.clinician_words,
                                   _STATUS.get(c.outcome.value, "unknown"),  # type: ignore[arg-type]
                                   c.outcome.value.replace("-", " "), c.source)
                     for c in result.criteria)
    return Checklist("Eligibility", questions + criteria, result.verdict.value.replace("-", " "))


def screening_checklist(clinic: Clinic, actor: Actor, patient_id: int,
                        answers: dict[str, str]) -> Checklist:
    """The screening test-dose plan from form answers (``small_patient``: yes/no)."""
    def body(conn: Connection) -> ScreeningPlan:
        authz.patient_for(conn, actor, authz.ADVICE, patient_id)
        small = str(answers.get("small_patient", "")).strip()
        if small not in ("", "yes", "no"):
            raise InputError(f"{small!r} is not yes or no", where="small_patient")
        plan = plan_screening(small_patient=small == "yes")
        clinic.audit(conn, actor, "patient.read", entity="patient", entity_id=str(patient_id),
                     patient_id=patient_id, field="screening")
        return plan

    plan = clinic.run(actor, "advice.screening", body, patient_id=patient_id,
                      entity="screening")
    answer = str(answers.get("small_patient", ""))
    question = ChecklistItem("small_patient", "Is this a very small patient (first dose 25 mcg)?",
                             "met" if answer else "unknown",
                             choices=(("", "not known"), ("yes", "yes"), ("no", "no")),
                             answer=answer)
    doses = tuple(ChecklistItem(
        f"dose-{d.number}", f"Test dose {d.number}: {d.dose_mcg:g} mcg ({d.volume_ml:g} mL of "
        "50 mcg/mL)", "todo", f"not before {d.not_before_h:g} h after the first dose"
        if d.number > 1 else "first dose") for d in plan.doses)
    return Checklist("Screening trial", (question, *doses), "",
                     plan.reasons)
