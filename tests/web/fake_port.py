"""An in-memory ClinicPort for page tests: fixed figures, no database, no clinical core.

The numbers here are stand-ins chosen to exercise every branch of the pages (a discrepancy,
a concentration change, a step beyond the recommended and the absolute bounds); they are not
clinical rules and are not used outside tests.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from thecal.errors import InputError, NotFoundError, PermissionDeniedError
from thecal.units import concentration as parse_concentration
from thecal.units import daily_dose as parse_daily_dose
from thecal.units import volume as parse_volume
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
    User,
    WorklistRow,
)

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
PASSWORD = "demo-password-1"
USERS = {
    "nurse": User("u1", "Nurse Nora", "clinician", "Demo site"),
    "pat": User("u2", "Pat Patient", "patient", "Demo site", ("p1",)),
    "carer": User("u3", "Carl Carer", "caregiver", "Demo site", ("p1",)),
    "other": User("u4", "Olga Other", "patient", "Demo site", ("p2",)),
}


class FakePort:
    session_cookie_name = "thecal_session"
    cookie_secure = False

    def __init__(self) -> None:
        self.sessions: dict[str, tuple[User, str]] = {}
        self.dose = {"p1": 300.0, "p2": 150.0}
        self.conc = {"p1": 500.0, "p2": 2000.0}
        self.refills: dict[str, RefillRecord] = {}
        self.reports: list[InboxItem] = []
        self.assessments: list[tuple[str, dict[str, str]]] = []

    # sessions
    def sign_in(self, username: str, password: str) -> SignedIn | None:
        user = USERS.get(username)
        if user is None or password != PASSWORD:
            return None
        token, csrf = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
        self.sessions[token] = (user, csrf)
        return SignedIn(token, user, csrf)

    def sign_out(self, token: str) -> None:
        self.sessions.pop(token, None)

    def current_user(self, token: str) -> User | None:
        found = self.sessions.get(token)
        return found[0] if found else None

    def csrf_token(self, token: str) -> str:
        return self.sessions[token][1]

    def reauthenticate(self, token: str, password: str) -> bool:
        return password == PASSWORD

    def _check(self, user: User, patient_id: str) -> None:
        if patient_id not in self.dose:
            raise NotFoundError(f"no patient {patient_id}")
        if user.role in {"patient", "caregiver"} and patient_id not in user.patient_ids:
            raise PermissionDeniedError("not your patient")

    # clinician
    def worklist(self, user: User) -> Sequence[WorklistRow]:
        return [
            WorklistRow("p1", "Ada Example", "urgent", ("refill due soon: Fri 20 Mar 2026",),
                        date(2026, 3, 20), NOW + timedelta(days=8)),
            WorklistRow("p2", "Ben Example", "routine", (), date(2026, 5, 1), None),
        ]

    def header(self, patient_id: str) -> PumpHeader:
        name = {"p1": "Ada Example", "p2": "Ben Example"}[patient_id]
        return PumpHeader(patient_id, name, date(1979, 4, 2), "multiple-sclerosis",
                          "SynchroMed II 40 mL", "Ascenda, 52 cm", "baclofen",
                          self.conc[patient_id], self.dose[patient_id], 12.0, 40.0, 2.0,
                          NOW + timedelta(days=8), date(2026, 3, 20), NOW + timedelta(days=14),
                          "conditional: interrogate before and after", ("penicillin",))

    def chart(self, user: User, patient_id: str) -> Chart:
        self._check(user, patient_id)
        days = [NOW + timedelta(days=d) for d in range(0, 16)]
        return Chart(
            self.header(patient_id),
            (TimelineItem(NOW - timedelta(days=60), "implant", "SynchroMed II 40 mL"),
             TimelineItem(NOW - timedelta(days=60), "refill", "added 40 mL of 500 mcg/mL")),
            reservoir=Series("reservoir", "mL", tuple(Point(d, max(0.0, 12.0 - 0.6 * i))
                                                      for i, d in enumerate(days))),
            dose_history=Series("daily dose", "mcg/day",
                                (Point(NOW - timedelta(days=60), 100.0),
                                 Point(NOW - timedelta(days=30), 300.0), Point(NOW, 300.0))),
            ashworth=Series("Ashworth", "score", (Point(NOW - timedelta(days=60), 3.0),
                                                  Point(NOW, 1.5))),
            penn=Series("Penn", "score", (Point(NOW - timedelta(days=60), 3.0),
                                          Point(NOW, 1.0))),
            csf_level=Series("CSF level", "ng/mL", tuple(Point(d, 300 + 10 * (i % 3))
                                                         for i, d in enumerate(days))),
        )

    def formulary(self, user: User) -> Sequence[Concentration]:
        return [Concentration(c, f"{c:g} mcg/mL") for c in (50.0, 500.0, 2000.0)]

    def _program(self, dose: float, conc: float) -> ProgramSummary:
        return ProgramSummary(f"continuous {dose:g} mcg/day", dose, dose / conc, conc)

    def propose_refill(self, user: User, patient_id: str, entry: RefillInput) -> RefillProposal:
        self._check(user, patient_id)
        errors: dict[str, str] = {}
        withdrawn = added = new_conc = new_dose = None
        try:
            withdrawn = parse_volume(entry.withdrawn) if entry.withdrawn else None
        except InputError as exc:
            errors["withdrawn"] = exc.one_line()
        try:
            added = parse_volume(entry.added) if entry.added else None
            if added is not None and added > 40:
                errors["added"] = "added 41 mL overfills the 40 mL reservoir"
        except InputError as exc:
            errors["added"] = exc.one_line()
        try:
            new_conc = parse_concentration(entry.concentration) if entry.concentration else None
        except InputError as exc:
            errors["concentration"] = exc.one_line()
        try:
            new_dose = parse_daily_dose(entry.daily_dose) if entry.daily_dose else None
        except InputError as exc:
            errors["daily_dose"] = exc.one_line()
        old_conc = self.conc[patient_id]
        old_dose = self.dose[patient_id]
        discrepancy = withdrawn is not None and abs(withdrawn - 12.0) > 2.0
        change = new_conc is not None and new_conc != old_conc
        program = None
        reasons: tuple[Reason, ...] = ()
        needs, allowed = False, True
        if new_dose is not None:
            program = self._program(new_dose, new_conc or old_conc)
            if new_dose > 2000:
                allowed = False
                reasons = (Reason("above-absolute", "above the absolute 2000 mcg/day",
                                  "ASSUMED", "danger"),)
            elif new_dose > old_dose * 1.3:
                needs = True
                reasons = (Reason("above-recommended", "step above 30 % per 24 h", "B-DOSE",
                                  "warning"),)
        return RefillProposal(
            12.0, withdrawn, discrepancy,
            (Reason("residual-discrepancy", "differs from expected by more than 2 mL",
                    "MAINO", "danger"),) if discrepancy else (),
            old_conc, new_conc, added, 40.0, change,
            "bridge bolus: 0.14 mL at the old concentration over 4 h" if change else None,
            (Reason("bridge-needed", "concentration changes at refill", "B-DOSE"),)
            if change else (),
            self._program(old_dose, old_conc), program, reasons, needs, allowed,
            NOW + timedelta(days=60), date(2026, 5, 5), errors)

    def record_refill(self, user: User, patient_id: str, entry: RefillInput,
                      password: str) -> RefillRecord:
        if password != PASSWORD:
            raise InputError("the password does not match", where="password",
                             fix="enter your own password")
        proposal = self.propose_refill(user, patient_id, entry)
        event_id = f"r{len(self.refills) + 1}"
        record = RefillRecord(event_id, patient_id, self.header(patient_id).name, NOW,
                              user.display_name, proposal)
        self.refills[event_id] = record
        if proposal.new_concentration_mcg_per_ml:
            self.conc[patient_id] = proposal.new_concentration_mcg_per_ml
        return record

    def refill_record(self, user: User, patient_id: str, event_id: str) -> RefillRecord:
        self._check(user, patient_id)
        if event_id not in self.refills:
            raise NotFoundError(f"no refill {event_id}")
        return self.refills[event_id]

    def propose_program(self, user: User, patient_id: str, daily_dose: str,
                        override_reason: str) -> ProgramProposal:
        self._check(user, patient_id)
        new = parse_daily_dose(daily_dose)
        old = self.dose[patient_id]
        step = (new - old) / old
        conc = self.conc[patient_id]
        if new > 2000:
            cls, allowed, needs = "above-absolute", False, False
        elif step > 0.3:
            cls, allowed, needs = "above-recommended", True, True
        else:
            cls, allowed, needs = "within-recommended", True, False
        return ProgramProposal(self._program(old, conc), self._program(new, conc), step, cls,
                               needs, allowed, (Reason(cls, f"step {step:+.0%}", "B-DOSE"),))

    def confirm_program(self, user: User, patient_id: str, daily_dose: str,
                        override_reason: str, password: str) -> ProgramProposal:
        proposal = self.propose_program(user, patient_id, daily_dose, override_reason)
        if password != PASSWORD:
            raise InputError("the password does not match", where="password")
        if not proposal.allowed or (proposal.needs_override_reason and not override_reason):
            raise InputError("refused", where="daily_dose")
        assert proposal.new_program is not None
        self.dose[patient_id] = proposal.new_program.daily_dose_mcg
        return replace(proposal)

    def record_assessment(self, user: User, patient_id: str, ashworth: dict[str, str],
                          penn_frequency: str, penn_severity: str, notes: str) -> None:
        self._check(user, patient_id)
        self.assessments.append((patient_id, dict(ashworth, penn=penn_frequency)))

    def muscle_groups(self) -> Sequence[str]:
        return ["hip-flexors", "knee-extensors", "ankle-plantarflexors"]

    def triage_inbox(self, user: User) -> Sequence[InboxItem]:
        return list(self.reports)

    def screening(self, user: User, patient_id: str, answers: Mapping[str, str]) -> Checklist:
        return self._checklist("Screening trial", ["consent", "bolus-50"], answers)

    def eligibility(self, user: User, patient_id: str, answers: Mapping[str, str]) -> Checklist:
        return self._checklist("Eligibility", ["severe-spasticity", "oral-failed"], answers)

    def _checklist(self, title: str, keys: list[str], answers: Mapping[str, str]) -> Checklist:
        status = {"yes": "met", "no": "not-met"}
        items = tuple(ChecklistItem(k, k.replace("-", " "), status.get(answers.get(k, ""),
                                                                        "unknown"))  # type: ignore[arg-type]
                      for k in keys)
        verdict = "eligible" if all(i.status == "met" for i in items) else "not yet decided"
        return Checklist(title, items, verdict)

    def care_team(self, user: User, patient_id: str | None) -> Sequence[TeamMember]:
        return [TeamMember("Nurse Nora", "ITB nurse", "+49 30 1234", "refills")]

    # patient and caregiver
    def alarm_meanings(self) -> Sequence[AlarmMeaning]:
        return [AlarmMeaning("single tone", ("medicine is low",), ("call the clinic today",),
                             "soon", "M-PUMP"),
                AlarmMeaning("two-tone", ("medicine is no longer flowing",),
                             ("call the clinic now",), "emergency", "M-PUMP")]

    def my_pump(self, user: User, patient_id: str) -> MyPump:
        self._check(user, patient_id)
        return MyPump(self.header(patient_id), 16.0, tuple(self.alarm_meanings()),
                      "+49 30 1234")

    def symptom_codes(self) -> Sequence[Symptom]:
        return [Symptom("itching", "Itching, without a rash", "pruritus", "Withdrawal signs"),
                Symptom("high-fever", "A high temperature", "hyperthermia", "Withdrawal signs"),
                Symptom("headache", "Headache", "headache", "Other")]

    def report_symptoms(self, user: User, patient_id: str, codes: Sequence[str],
                        notes: str) -> TriageAnswer:
        self._check(user, patient_id)
        if "high-fever" in codes:
            answer = TriageAnswer("emergency", "possible baclofen withdrawal",
                                  ("Call your emergency number now.",), (), True)
        else:
            answer = TriageAnswer("routine", "mention it at your next visit", ("Keep watching.",))
        self.reports.append(InboxItem(f"s{len(self.reports)}", patient_id,
                                      self.header(patient_id).name, NOW, tuple(codes), answer))
        return answer

    def recovery_checklist(self, user: User, patient_id: str) -> Checklist:
        self._check(user, patient_id)
        return Checklist("Recovery after implant",
                         (ChecklistItem("wound", "Keep the wound dry", "todo"),))

    def implant_card(self, user: User, patient_id: str) -> ImplantCard:
        self._check(user, patient_id)
        return ImplantCard("Ada Example", date(1979, 4, 2), "SynchroMed II 40 mL", "Ascenda",
                           "baclofen", "500 mcg/mL", date(2026, 1, 5), "Demo clinic",
                           "+49 30 1234", ("MRI stops the pump",
                                           "No diathermy over the pump"))

    def appointments(self, user: User, patient_id: str) -> Sequence[Appointment]:
        self._check(user, patient_id)
        start = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
        return [Appointment("refill-p1-1@thecal", start, start + timedelta(minutes=30),
                            "Baclofen pump refill", "Demo clinic, room 2",
                            "Refill due by Tue 5 May 2026")]
