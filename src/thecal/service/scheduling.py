"""Use cases of the refill clinic's calendar: sessions, absences, visit needs, proposals, bookings.

Reading the calendar and proposing needs the worklist permission; writing it (sessions,
absences, bookings) needs the refill-recording permission (nurses and clinicians). Staff are the
site's users: a ``clinician`` counts as a physician, a ``nurse`` as a nurse. The refill-due date
is the conservative one kept in the projection summary (``projections.refill_due_by``).

Every result is a frozen dataclass; an :class:`AppointmentView` is also the API's answer, and
``ScheduleProposal.as_dict()`` is the JSON that ``thecal schedule propose --json`` prints (and the
API's proposal).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, cast
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from thecal.errors import ConflictError, InputError, NotFoundError, PermissionDeniedError
from thecal.scheduling import Absence, ExistingBooking, Session, Staff, VisitRequest, propose
from thecal.scheduling.calendar import ESCALATE_TO, SESSION_KINDS, SessionKind, StaffRole
from thecal.scheduling.solver import booking_problems, present_staff
from thecal.service import authz
from thecal.service.actors import Actor
from thecal.service.clinic import Clinic
from thecal.service.results import Instant
from thecal.store import records
from thecal.store import scheduling as store
from thecal.store.records import Row

READ: Final = authz.WORKLIST
WRITE: Final = authz.REFILL_RECORD
_ROLE: Final[dict[str, StaffRole]] = {"clinician": "physician", "nurse": "nurse"}


@dataclass(frozen=True)
class SessionView:
    id: int
    kind: str
    start: Instant
    end: Instant
    place: str
    slot_minutes: int
    staff: tuple[str, ...]


@dataclass(frozen=True)
class Slot:
    """Where and when: a slot of a session, free (``free_slots``), proposed or booked."""

    session_id: int
    kind: str  # clinic | home
    place: str
    start: Instant
    end: Instant


@dataclass(frozen=True)
class BookingView(Slot):
    """A proposed booking (not yet made)."""

    patient_id: int
    mrn: str
    display_name: str
    refill_due_by: datetime
    reason: str
    kept: bool


@dataclass(frozen=True)
class UnscheduledView:
    patient_id: int
    mrn: str
    display_name: str
    refill_due_by: datetime
    code: str
    reason: str
    escalate_to: str


@dataclass(frozen=True)
class ScheduleProposal:
    start: datetime
    days: int
    bookings: tuple[BookingView, ...]
    unscheduled: tuple[UnscheduledView, ...]
    status: str
    gap: float

    def as_dict(self) -> dict[str, list[dict[str, object]]]:
        """The JSON of ``thecal schedule propose --json`` (issue 13's shape)."""
        return {"bookings": [{"patient_id": b.patient_id, "start": b.start.isoformat(), "end": b.end.isoformat(),
                              "session_id": b.session_id, "refill_due_by": b.refill_due_by.isoformat(),
                              "reason": b.reason} for b in self.bookings],
                "unscheduled": [{"patient_id": u.patient_id, "refill_due_by": u.refill_due_by.isoformat(),
                                 "reason": u.reason} for u in self.unscheduled]}


@dataclass(frozen=True)
class AppointmentView(Slot):
    """An appointment in its slot, with its patient: the schedule's rows and the API's answer."""

    id: int
    patient_id: int
    mrn: str
    display_name: str
    status: str
    reason: str
    refill_due_by: Instant | None


@dataclass(frozen=True)
class BookingRequest:
    patient_id: int
    session_id: int
    start: datetime
    reason: str = "booked by staff"


def _site(actor: Actor) -> int:
    if actor.site_id is None:
        raise InputError("you belong to no site, so you have no clinic calendar", where="site")
    return actor.site_id


def _staff(conn: Connection, site_id: int) -> dict[int, Row]:
    return {int(u["id"]): u for u in records.list_users(conn, site_id) if u["role"] in _ROLE and u["active"]}


def _staff_values(people: dict[int, Row]) -> dict[str, Staff]:
    return {str(uid): Staff(str(uid), _ROLE[u["role"]], u["username"]) for uid, u in people.items()}


def _session_value(row: Row) -> Session:
    return Session(str(row["id"]), row["kind"], row["starts_at"], row["ends_at"],
                   tuple(str(u) for u in row["staff"]), place=row["place"], slot_minutes=int(row["slot_minutes"]))


def _session_view(row: Row, people: dict[int, Row]) -> SessionView:
    return SessionView(int(row["id"]), row["kind"], row["starts_at"], row["ends_at"], row["place"],
                       int(row["slot_minutes"]),
                       tuple(people[u]["username"] if u in people else str(u) for u in row["staff"]))


def _request(pid: int, due: datetime, needs: Row | None) -> VisitRequest:
    n = needs or {}
    days = tuple(int(d) for d in str(n.get("preferred_weekdays") or "").split(",") if d.strip())
    return VisitRequest(str(pid), due, visit_minutes=int(n.get("visit_minutes") or 30),
                        home_visit=bool(n.get("home_visit")), area=str(n.get("area") or ""),
                        needs_physician=bool(n.get("needs_physician")), preferred_weekdays=days)


def _calendar(conn: Connection, site_id: int, start: datetime, end: datetime,
              ) -> tuple[list[Row], dict[str, Staff], list[Absence]]:
    """The site's sessions (with their present staff only), staff and absences in a window."""
    people = _staff(conn, site_id)
    rows = store.sessions_between(conn, site_id, start, end)
    for row in rows:
        row["staff"] = [u for u in row["staff"] if u in people]
    absences = [Absence(str(a["user_id"]), a["starts_at"], a["ends_at"], a["reason"] or "")
                for a in store.absences_between(conn, start, end)]
    return rows, _staff_values(people), absences


# ------------------------------------------------------------------ calendar

def add_session(clinic: Clinic, actor: Actor, *, kind: str, start: datetime, end: datetime, place: str,
                staff: Sequence[str], slot_minutes: int = 30) -> SessionView:
    """Add a clinic room session or home-visit round; staff are usernames of the site's nurses/clinicians."""
    def body(conn: Connection) -> SessionView:
        authz.require(actor, WRITE)
        site = _site(actor)
        if kind not in SESSION_KINDS:
            raise InputError(f"kind {kind!r} is not clinic or home", where="kind")
        people = _staff(conn, site)
        by_name = {u["username"]: uid for uid, u in people.items()}
        unknown = [s for s in staff if s not in by_name]
        if unknown or not staff:
            raise InputError(f"unknown staff {unknown[0]!r}" if unknown else "a session needs staff", where="staff",
                             fix="name the nurses or clinicians of your site by username")
        new = Session("new", cast(SessionKind, kind), start, end, tuple(staff), place=place,
                      slot_minutes=slot_minutes)
        ids = [by_name[s] for s in staff]
        for other in store.sessions_between(conn, site, start - timedelta(days=1), end):
            if other["ends_at"] > start and set(other["staff"]) & set(ids):
                raise ConflictError(f"a member of staff is already on session {other['id']} at that time",
                                    where="staff")
        sid = store.add_session(conn, site_id=site, kind=kind, starts_at=new.start, ends_at=new.end, place=place,
                                slot_minutes=slot_minutes, staff_user_ids=ids, now=clinic.now())
        clinic.audit(conn, actor, "schedule.session.add", entity="clinic_session", entity_id=str(sid))
        return _session_view(_found(store.get_session(conn, sid)), people)

    return clinic.run(actor, "schedule.session.add", body, entity="clinic_session")


def add_absence(clinic: Clinic, actor: Actor, *, username: str, start: datetime, end: datetime,
                reason: str | None = None) -> int:
    def body(conn: Connection) -> int:
        authz.require(actor, WRITE)
        people = _staff(conn, _site(actor))
        uid = next((k for k, u in people.items() if u["username"] == username), None)
        if uid is None:
            raise NotFoundError(f"no nurse or clinician {username!r} at your site", where="username")
        if end <= start or start.tzinfo is None:
            raise InputError("an absence needs an aware start before its end", where="end")
        aid = store.add_absence(conn, user_id=uid, starts_at=start, ends_at=end, reason=reason, now=clinic.now())
        clinic.audit(conn, actor, "schedule.absence.add", entity="staff_absence", entity_id=str(aid),
                     detail=f"{username} {start.isoformat()}–{end.isoformat()}")
        return aid

    return clinic.run(actor, "schedule.absence.add", body, entity="staff_absence")


def set_visit_needs(clinic: Clinic, actor: Actor, patient_id: int, *, visit_minutes: int = 30,
                    home_visit: bool = False, area: str = "", needs_physician: bool = False,
                    preferred_weekdays: Sequence[int] = (), email: str | None = None) -> None:
    """What a patient's refill visit needs (and where the reminder goes)."""
    def body(conn: Connection) -> None:
        authz.patient_for(conn, actor, WRITE, patient_id)
        request = VisitRequest(str(patient_id), clinic.now(), visit_minutes=visit_minutes, home_visit=home_visit,
                               area=area, needs_physician=needs_physician,
                               preferred_weekdays=tuple(preferred_weekdays))  # validates
        if email is not None and ("@" not in email or " " in email.strip()):
            raise InputError(f"{email!r} is not an e-mail address", where="email")
        store.set_visit_needs(conn, patient_id, {
            "visit_minutes": request.visit_minutes, "home_visit": home_visit, "area": area,
            "needs_physician": needs_physician, "email": email,
            "preferred_weekdays": ",".join(str(d) for d in request.preferred_weekdays)}, clinic.now())
        clinic.audit(conn, actor, "schedule.visit-needs.set", patient_id=patient_id, entity="visit_needs")

    clinic.run(actor, "schedule.visit-needs.set", body, patient_id=patient_id)


def sessions(clinic: Clinic, actor: Actor, *, start: datetime, days: int) -> list[SessionView]:
    def body(conn: Connection) -> list[SessionView]:
        authz.require(actor, READ)
        site = _site(actor)
        people = _staff(conn, site)
        rows = store.sessions_between(conn, site, start, start + timedelta(days=days))
        return [_session_view(r, people) for r in rows]

    return clinic.run(actor, "schedule.read", body)


# ------------------------------------------------------------------ proposing

def propose_schedule(clinic: Clinic, actor: Actor, *, start: datetime, days: int, time_limit_s: float = 10.0,
                     workers: int = 1) -> ScheduleProposal:
    """Propose appointments for every patient due before ``start + days`` (booked ones kept where they can be)."""
    if days < 1 or days > 366:
        raise InputError("days must be from 1 to 366", where="days")
    if start.tzinfo is None:
        raise InputError("the start needs a UTC offset", where="from")

    end = start + timedelta(days=days)
    begin = max(start, clinic.now())  # nothing is booked in the past

    def body(conn: Connection) -> ScheduleProposal:
        authz.require(actor, READ)
        site = _site(actor)
        due = store.due_patients(conn, authz.visible_patients_clause(actor), end)
        ids = [int(p["id"]) for p in due]
        needs = store.visit_needs_for(conn, ids)
        rows, staff, absences = _calendar(conn, site, begin, end)
        by_session = {int(r["id"]): r for r in rows}
        existing = [ExistingBooking(str(a["patient_id"]), str(a["session_id"]), a["starts_at"], a["ends_at"])
                    for a in store.active_appointments(conn, patient_ids=ids) if a["session_id"] in by_session]
        requests = [_request(int(p["id"]), p["refill_due_by"], needs.get(int(p["id"]))) for p in due]
        proposal = propose(requests, [_session_value(r) for r in rows if r["staff"]], list(staff.values()), absences,
                           existing,
                           start=begin, time_limit_s=time_limit_s, workers=workers)
        info = {int(p["id"]): p for p in due}
        bookings = tuple(BookingView(int(b.session_id), by_session[int(b.session_id)]["kind"],
                                     by_session[int(b.session_id)]["place"], b.start, b.end, int(b.patient_id),
                                     info[int(b.patient_id)]["mrn"], info[int(b.patient_id)]["display_name"],
                                     b.refill_due_by, b.reason, b.kept) for b in proposal.bookings)
        unscheduled = tuple(UnscheduledView(int(u.patient_id), info[int(u.patient_id)]["mrn"],
                                            info[int(u.patient_id)]["display_name"], u.refill_due_by, u.code,
                                            u.reason, u.escalate_to) for u in proposal.unscheduled)
        clinic.audit(conn, actor, "schedule.propose", entity="schedule",
                     detail=f"{len(bookings)} proposed, {len(unscheduled)} cannot be booked ({proposal.status})")
        return ScheduleProposal(start, days, bookings, unscheduled, proposal.status, proposal.gap)

    return clinic.run(actor, "schedule.propose", body, entity="schedule")


# ------------------------------------------------------------------ booking

def _found(row: Row | None) -> Row:
    assert row is not None  # written or checked in this transaction
    return row


def _appointment_view(conn: Connection, row: Row) -> AppointmentView:
    patient = _found(records.get_patient(conn, int(row["patient_id"])))
    session = _found(store.get_session(conn, int(row["session_id"])))
    return AppointmentView(int(row["session_id"]), session["kind"], session["place"], row["starts_at"],
                           row["ends_at"], int(row["id"]), int(row["patient_id"]), patient["mrn"],
                           patient["display_name"], row["status"], row["reason"],
                           store.refill_due_by(conn, int(row["patient_id"])))


def _appointment(conn: Connection, appointment_id: int) -> AppointmentView:
    return _appointment_view(conn, _found(store.get_appointment(conn, appointment_id)))


def booked_appointments(conn: Connection, patient_id: int) -> list[AppointmentView]:
    """The patient's booked appointments, earliest first, inside the caller's transaction."""
    return [_appointment_view(conn, r) for r in store.active_appointments(conn, patient_ids=[patient_id])]


def _check_booking(conn: Connection, actor: Actor, clinic: Clinic, req: BookingRequest,
                   moving: int | None = None, site_id: int | None = None) -> tuple[datetime, datetime]:
    site = site_id if site_id is not None else _site(actor)
    if site_id is None:
        authz.patient_for(conn, actor, WRITE, req.patient_id)
    row = store.get_session(conn, req.session_id)
    if row is None or row["site_id"] != site or row["cancelled"]:
        raise NotFoundError(f"session {req.session_id} not found", where="session_id")
    people = _staff(conn, site)
    row["staff"] = [u for u in row["staff"] if u in people]
    session = _session_value(row)
    due = store.refill_due_by(conn, req.patient_id)
    needs = store.visit_needs_for(conn, [req.patient_id]).get(req.patient_id)
    request = _request(req.patient_id, due or session.end + timedelta(days=3650), needs)
    staff = _staff_values(people)
    absences = [Absence(str(a["user_id"]), a["starts_at"], a["ends_at"])
                for a in store.absences_between(conn, session.start, session.end)]
    others = [a for a in store.active_appointments(conn, session_ids=[req.session_id]) if a["id"] != moving]
    problems = booking_problems(request, session, present_staff(session, staff, absences), req.start,
                                [(a["starts_at"], a["ends_at"]) for a in others], now=clinic.now())
    if problems:
        code, words = problems[0]
        raise ConflictError(words, where="start" if code in ("not-a-slot", "slot-taken") else "session_id")
    mine = [a for a in store.active_appointments(conn, patient_ids=[req.patient_id]) if a["id"] != moving]
    if mine:
        raise ConflictError(f"the patient already has appointment {mine[0]['id']}: move it instead",
                            where="patient_id")
    return req.start, req.start + timedelta(minutes=session.slot_minutes * session.slots_for(request.visit_minutes))


def book(clinic: Clinic, actor: Actor, req: BookingRequest) -> AppointmentView:
    """Book one appointment; refused (409) if it breaks a hard rule: after the due date, over capacity,
    wrong kind of session or staff, or a second booking of the patient."""
    return accept_bookings(clinic, actor, [req])[0]


def accept_bookings(clinic: Clinic, actor: Actor, reqs: Sequence[BookingRequest],
                    unscheduled: Sequence[UnscheduledView] = ()) -> list[AppointmentView]:
    """Book a reviewed proposal in one transaction and escalate the patients it could not book."""
    def body(conn: Connection) -> list[AppointmentView]:
        out = []
        for req in reqs:
            start, end = _check_booking(conn, actor, clinic, req)
            aid = store.add_appointment(conn, patient_id=req.patient_id, session_id=req.session_id,
                                        starts_at=start, ends_at=end, reason=req.reason, booked_by=actor.username,
                                        now=clinic.now())
            store.resolve_escalations(conn, req.patient_id, ("cannot-book", "missed-appointment"), clinic.now())
            clinic.audit(conn, actor, "schedule.book", patient_id=req.patient_id, entity="appointment",
                         entity_id=str(aid), detail=f"session {req.session_id} at {start.isoformat()}")
            out.append(_appointment(conn, aid))
        for u in unscheduled:
            authz.patient_for(conn, actor, WRITE, u.patient_id)
            store.add_escalation(conn, patient_id=u.patient_id, kind="cannot-book", detail=u.reason,
                                 escalate_to=u.escalate_to, now=clinic.now())
            clinic.audit(conn, actor, "schedule.escalate", patient_id=u.patient_id, entity="escalation",
                         detail=u.reason)
        return out

    return clinic.run(actor, "schedule.book", body, entity="appointment")


def _own_appointment(conn: Connection, actor: Actor, appointment_id: int) -> Row:
    row = store.get_appointment(conn, appointment_id)
    if row is None:
        raise NotFoundError(f"appointment {appointment_id} not found", where="appointment_id")
    authz.patient_for(conn, actor, WRITE, int(row["patient_id"]))
    return row


def move_booking(clinic: Clinic, actor: Actor, appointment_id: int, *, session_id: int,
                 start: datetime) -> AppointmentView:
    def body(conn: Connection) -> AppointmentView:
        row = _own_appointment(conn, actor, appointment_id)
        if row["status"] != "booked":
            raise ConflictError(f"appointment {appointment_id} is {row['status']}, not booked", where="appointment_id")
        begin, end = _check_booking(conn, actor, clinic, BookingRequest(int(row["patient_id"]), session_id, start),
                                    moving=appointment_id)
        store.update_appointment(conn, appointment_id, clinic.now(), session_id=session_id, starts_at=begin,
                                 ends_at=end, reminder_sent_at=None, reason=f"moved by {actor.username}")
        clinic.audit(conn, actor, "schedule.move", patient_id=int(row["patient_id"]), entity="appointment",
                     entity_id=str(appointment_id), old_value=row["starts_at"].isoformat(), new_value=begin.isoformat())
        return _appointment(conn, appointment_id)

    return clinic.run(actor, "schedule.move", body, entity="appointment", entity_id=str(appointment_id))


def _set_status(clinic: Clinic, actor: Actor, appointment_id: int, status: str, action: str,
                reason: str | None) -> AppointmentView:
    def body(conn: Connection) -> AppointmentView:
        row = _own_appointment(conn, actor, appointment_id)
        if row["status"] != "booked":
            raise ConflictError(f"appointment {appointment_id} is {row['status']}, not booked", where="appointment_id")
        store.update_appointment(conn, appointment_id, clinic.now(), status=status)
        pid = int(row["patient_id"])
        if status == "missed":
            # words without a time: the pages write the appointment's and the due time in their zone
            store.add_escalation(conn, patient_id=pid, kind="missed-appointment", escalate_to=ESCALATE_TO,
                                 detail="missed the refill appointment: rebook before the refill is due "
                                        "(withdrawal risk)",
                                 now=clinic.now())
        clinic.audit(conn, actor, action, patient_id=pid, entity="appointment", entity_id=str(appointment_id),
                     reason=reason)
        return _appointment(conn, appointment_id)

    return clinic.run(actor, action, body, entity="appointment", entity_id=str(appointment_id))


def cancel_booking(clinic: Clinic, actor: Actor, appointment_id: int, reason: str | None = None) -> AppointmentView:
    return _set_status(clinic, actor, appointment_id, "cancelled", "schedule.cancel", reason)


def mark_missed(clinic: Clinic, actor: Actor, appointment_id: int) -> AppointmentView:
    """The patient did not come: the appointment is missed and the patient is escalated."""
    return _set_status(clinic, actor, appointment_id, "missed", "schedule.missed", None)


def appointments(clinic: Clinic, actor: Actor, *, start: datetime, days: int) -> list[AppointmentView]:
    def body(conn: Connection) -> list[AppointmentView]:
        authz.require(actor, READ)
        visible = {int(p["id"]) for p in records.list_patients_where(conn, authz.visible_patients_clause(actor))}
        rows = store.active_appointments(conn, start=start, end=start + timedelta(days=days))
        return [_appointment_view(conn, r) for r in rows if int(r["patient_id"]) in visible]

    return clinic.run(actor, "schedule.read", body)


# ------------------------------------------------------------------ reminders

@dataclass(frozen=True)
class ReminderResult:
    sent: tuple[int, ...]  # appointment ids reminded
    skipped: tuple[tuple[int, str], ...]  # (appointment id, why)


def send_reminders(clinic: Clinic, actor: Actor, *, within: timedelta = timedelta(days=2)) -> ReminderResult:
    """E-mail a reminder for every booked appointment starting within ``within`` not yet reminded."""
    from thecal.service.notify import Notice, NotifyError, SmtpServer, compose, send

    settings = clinic.settings
    if not settings.smtp_host:
        raise InputError("no SMTP server is set, so no reminder can be sent", where="smtp_host",
                         fix="set smtp_host (and smtp_port) in the server settings")
    server = SmtpServer(settings.smtp_host, settings.smtp_port, settings.mail_from)
    now = clinic.now()

    def pick(conn: Connection) -> list[tuple[AppointmentView, str | None, str]]:
        authz.require(actor, WRITE)
        visible = {int(p["id"]): str(p["timezone"])
                   for p in records.list_patients_where(conn, authz.visible_patients_clause(actor))}
        rows = [r for r in store.active_appointments(conn, start=now, end=now + within)
                if r["reminder_sent_at"] is None and int(r["patient_id"]) in visible]
        needs = store.visit_needs_for(conn, [int(r["patient_id"]) for r in rows])
        return [(_appointment_view(conn, r), (needs.get(int(r["patient_id"])) or {}).get("email"),
                 visible[int(r["patient_id"])]) for r in rows]

    sent: list[int] = []
    skipped: list[tuple[int, str]] = []
    for view, email, zone in clinic.run(actor, "schedule.remind", pick):
        if not email:
            skipped.append((view.id, "no e-mail address recorded"))
            continue
        try:
            # the time in the patient's own zone, as their pages write it
            send(server, Notice(email, *compose("appointment_reminder", a=view,
                                                zone=ZoneInfo(zone))))
        except NotifyError as exc:
            skipped.append((view.id, exc.message))
            continue

        def mark(conn: Connection, aid: int = view.id, pid: int = view.patient_id) -> None:
            store.update_appointment(conn, aid, clinic.now(), reminder_sent_at=clinic.now())
            clinic.audit(conn, actor, "schedule.reminded", patient_id=pid, entity="appointment", entity_id=str(aid))

        clinic.run(actor, "schedule.reminded", mark)
        sent.append(view.id)
    return ReminderResult(tuple(sent), tuple(skipped))


def free_slots(clinic: Clinic, actor: Actor, patient_id: int, *, start: datetime, days: int,
               moving: int | None = None, limit: int = 200) -> list[Slot]:
    """The slots where this patient could be booked (or an appointment moved) without breaking a hard rule."""
    def body(conn: Connection) -> list[Slot]:
        authz.patient_for(conn, actor, WRITE, patient_id)
        return _free_slots(conn, clinic, _site(actor), patient_id, start, days, moving, limit)

    return clinic.run(actor, "schedule.read", body, patient_id=patient_id)


def _free_slots(conn: Connection, clinic: Clinic, site: int, patient_id: int, start: datetime, days: int,
                moving: int | None, limit: int) -> list[Slot]:
    begin = max(start, clinic.now())
    rows, by_id, absences = _calendar(conn, site, begin, begin + timedelta(days=days))
    due = store.refill_due_by(conn, patient_id)
    needs = store.visit_needs_for(conn, [patient_id]).get(patient_id)
    out: list[Slot] = []
    for row in rows:
        if not row["staff"]:
            continue
        session = _session_value(row)
        request = _request(patient_id, due or session.end + timedelta(days=3650), needs)
        present = present_staff(session, by_id, absences)
        taken = [(a["starts_at"], a["ends_at"]) for a in store.active_appointments(conn, session_ids=[row["id"]])
                 if a["id"] != moving]
        for index in range(session.slots - session.slots_for(request.visit_minutes) + 1):
            at = session.slot_start(index)
            if not booking_problems(request, session, present, at, taken, now=clinic.now()):
                end = at + timedelta(minutes=session.slot_minutes * session.slots_for(request.visit_minutes))
                out.append(Slot(int(row["id"]), session.kind, session.place, at, end))
                if len(out) >= limit:
                    return out
    return out


def appointment(clinic: Clinic, actor: Actor, appointment_id: int) -> AppointmentView:
    def body(conn: Connection) -> AppointmentView:
        return _appointment_view(conn, _own_appointment(conn, actor, appointment_id))

    return clinic.run(actor, "schedule.read", body, entity="appointment", entity_id=str(appointment_id))


# ------------------------------------------------------------------ patients choosing their slot

PATIENT_WINDOW: Final = timedelta(days=14)  # ASSUMED: the last two weeks before the due date, until the
# twin-measurements work supplies each patient's refill window


@dataclass(frozen=True)
class MySlots:
    allowed: bool
    appointment: AppointmentView | None
    slots: tuple[Slot, ...]
    refill_due_by: datetime | None


def _own_site(conn: Connection, actor: Actor, patient_id: int) -> tuple[int, bool]:
    patient = authz.patient_for(conn, actor, authz.READ, patient_id)
    site = records.get_site(conn, int(patient["site_id"]))
    return int(patient["site_id"]), bool(site and site["settings"].get("patients_choose_slot"))


def my_slots(clinic: Clinic, actor: Actor, patient_id: int) -> MySlots:
    """A patient's (or caregiver's) view: the booked appointment, and free slots in the window if the site allows."""
    def body(conn: Connection) -> MySlots:
        site, allowed = _own_site(conn, actor, patient_id)
        rows = store.active_appointments(conn, patient_ids=[patient_id])
        booked = _appointment_view(conn, rows[0]) if rows else None
        due = store.refill_due_by(conn, patient_id)
        slots: list[Slot] = []
        if allowed and due is not None:
            start = max(clinic.now(), due - PATIENT_WINDOW)
            slots = _free_slots(conn, clinic, site, patient_id, start, max(1, (due - start).days + 1),
                                booked.id if booked else None, 100)
        return MySlots(allowed, booked, tuple(slots), due)

    return clinic.run(actor, "schedule.mine", body, patient_id=patient_id)


def choose_slot(clinic: Clinic, actor: Actor, patient_id: int, *, session_id: int, start: datetime) -> AppointmentView:
    """The patient books (or moves their booking to) a free slot; refused unless the site allows it."""
    def body(conn: Connection) -> AppointmentView:
        site, allowed = _own_site(conn, actor, patient_id)
        if not allowed:
            raise PermissionDeniedError("this clinic books refill appointments itself", where="slot",
                                        fix="call the clinic to change your appointment")
        due = store.refill_due_by(conn, patient_id)
        if due is not None and start < due - PATIENT_WINDOW:
            raise ConflictError("that slot is earlier than your refill window", where="slot")
        rows = store.active_appointments(conn, patient_ids=[patient_id])
        moving = int(rows[0]["id"]) if rows else None
        begin, end = _check_booking(conn, actor, clinic, BookingRequest(patient_id, session_id, start),
                                    moving=moving, site_id=site)
        if moving is not None:
            store.update_appointment(conn, moving, clinic.now(), session_id=session_id, starts_at=begin, ends_at=end,
                                     reminder_sent_at=None, reason=f"chosen by {actor.username}")
            aid = moving
        else:
            aid = store.add_appointment(conn, patient_id=patient_id, session_id=session_id, starts_at=begin,
                                        ends_at=end, reason=f"chosen by {actor.username}", booked_by=actor.username,
                                        now=clinic.now())
        store.resolve_escalations(conn, patient_id, ("cannot-book", "missed-appointment"), clinic.now())
        clinic.audit(conn, actor, "schedule.choose", patient_id=patient_id, entity="appointment", entity_id=str(aid))
        return _appointment(conn, aid)

    return clinic.run(actor, "schedule.choose", body, patient_id=patient_id)
