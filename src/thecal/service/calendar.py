"""The patient's calendar: what the feed holds, and the subscribable links that serve it.

:func:`calendar_feed` (a signed-in patient, caregiver or clinician) and
:func:`calendar_feed_by_token` (a calendar application holding a subscription URL) return a
:class:`CalendarFeed`: the refill-due date as an all-day item with the reminders the site asks
for (``calendar_reminder_days``, default 7 and 1 days before), and the booked appointments as
timed items. Every item has a stable UID, so a calendar that fetches the feed again updates the
item instead of adding a second one. A reminder is never in the past: a reminder whose time has
gone is left out, and an overdue refill is shown on today's date as overdue
(:func:`thecal.clinical.refill_due.refill_due_state`).

Subscription links (:func:`create_calendar_link`, :func:`calendar_links`,
:func:`revoke_calendar_link`) are per patient; the token is shown once and stored only as its
hash (``thecal.store.calendar_links``); a revoked or unknown token is "not found". Creating,
revoking and every fetch through a link are audited.

Booked appointments are the scheduling's own (:func:`thecal.service.scheduling.booked_appointments`).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from thecal.clinical.refill_due import RefillDue, refill_due_state
from thecal.errors import InputError, NotFoundError
from thecal.service import authz
from thecal.service.actors import Actor
from thecal.service.clinic import Clinic
from thecal.service.scheduling import AppointmentView, booked_appointments
from thecal.service.twin import project_record
from thecal.store import calendar_links as link_store
from thecal.store import events as event_store
from thecal.store import records
from thecal.store.records import Row

DEFAULT_REMINDER_DAYS: Final = (7, 1)  # issue 11's default lead times (not a clinical figure)
MAX_REMINDER_DAYS: Final = 60
REMINDER_TIME: Final = time(9, 0)  # a day's reminder rings at 09:00 in the patient's zone


@dataclass(frozen=True)
class Reminder:
    """One reminder (VALARM): when it rings, and how many days before the item."""

    at: datetime
    lead_days: int


@dataclass(frozen=True)
class RefillDueItem:
    """The all-day "refill due by" item; on today's date, saying overdue, once passed."""

    uid: str
    due: RefillDue
    shown_on: date
    reminders: tuple[Reminder, ...]


@dataclass(frozen=True)
class BookedAppointment:
    """A booked appointment as a timed item."""

    uid: str
    appointment: AppointmentView
    reminders: tuple[Reminder, ...]


@dataclass(frozen=True)
class CalendarFeed:
    patient_id: int
    version: int  # the record version the feed was made from (the items' SEQUENCE)
    zone: str
    clinic_phone: str
    clinic_location: str
    generated_at: datetime
    refill: RefillDueItem | None
    appointments: tuple[BookedAppointment, ...] = ()


@dataclass(frozen=True)
class CalendarLink:
    link_id: int
    patient_id: int
    created_by: str
    created_at: datetime
    revoked_by: str | None = None
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass(frozen=True)
class NewCalendarLink:
    """A link just made: the token is in clear here, and never again."""

    link: CalendarLink
    token: str


def parse_reminder_days(value: object, *, where: str = "calendar_reminder_days"
                        ) -> tuple[int, ...]:
    """``"7,1"`` → (7, 1): distinct whole days from 1 to 60, largest first; "" → none."""
    text = str(value or "").strip()
    if not text:
        return ()
    days: set[int] = set()
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit() or not 1 <= int(part) <= MAX_REMINDER_DAYS:
            raise InputError(f"{part!r} is not a whole number of days from 1 to "
                             f"{MAX_REMINDER_DAYS}", where=where, fix="write e.g. 7,1")
        days.add(int(part))
    return tuple(sorted(days, reverse=True))


def _site_reminder_days(settings: Mapping[str, object]) -> tuple[int, ...]:
    if "calendar_reminder_days" not in settings:
        return DEFAULT_REMINDER_DAYS
    try:
        return parse_reminder_days(settings["calendar_reminder_days"])
    except InputError:
        return DEFAULT_REMINDER_DAYS


def reminders_before(day_start: datetime, lead_days: tuple[int, ...], now: datetime
                     ) -> tuple[Reminder, ...]:
    """Reminders ``lead_days`` before ``day_start`` at :data:`REMINDER_TIME`, future only."""
    out = []
    for lead in lead_days:
        day = (day_start - timedelta(days=lead)).date()
        at = datetime.combine(day, REMINDER_TIME, tzinfo=day_start.tzinfo)
        if at > now:
            out.append(Reminder(at, lead))
    return tuple(out)


def _feed(conn: Connection, clinic: Clinic, patient: Row) -> CalendarFeed:
    patient_id = int(patient["id"])
    now = clinic.now()
    zone = ZoneInfo(str(patient["timezone"]))
    site = records.get_site(conn, int(patient["site_id"]))
    settings = dict((site["settings"] if site else None) or {})
    lead = _site_reminder_days(settings)
    projection = project_record(conn, patient, event_store.list_events(conn, patient_id), now)
    plan = projection.refill_plan if projection else None
    refill = None
    if plan is not None:
        due = refill_due_state(plan.refill_due_by, now, zone)
        assert due.due_on is not None
        shown_on = due.today if due.overdue else due.due_on
        start = datetime.combine(shown_on, time(0, 0), tzinfo=zone)
        reminders = () if due.overdue else reminders_before(start, lead, now)
        refill = RefillDueItem(f"refill-due-{patient_id}@thecal", due, shown_on, reminders)
    appointments = tuple(
        BookedAppointment(f"appointment-{a.id}@thecal", a, reminders_before(a.start.astimezone(zone), lead, now))
        for a in booked_appointments(conn, patient_id) if a.end > now)
    return CalendarFeed(patient_id, int(patient["version"]), str(patient["timezone"]),
                        str(settings.get("clinic_phone") or ""),
                        str(settings.get("clinic_location") or (site["name"] if site else "")),
                        now, refill, appointments)


def calendar_feed(clinic: Clinic, actor: Actor, patient_id: int) -> CalendarFeed:
    """The feed of a patient the actor may see (a download from the patient's page)."""
    def body(conn: Connection) -> CalendarFeed:
        patient = authz.patient_for(conn, actor, authz.READ, patient_id)
        clinic.audit(conn, actor, "patient.read", entity="patient", entity_id=str(patient_id),
                     patient_id=patient_id, field="calendar")
        return _feed(conn, clinic, dict(patient))

    return clinic.run(actor, "patient.read", body, patient_id=patient_id, entity="calendar")


_LINK_ACTOR: Final = Actor(user_id=None, username="calendar-link", role="calendar-link",
                           via="token")


def calendar_feed_by_token(clinic: Clinic, token: str) -> CalendarFeed:
    """The feed a subscription URL serves; NotFoundError for an unknown or revoked token."""
    def body(conn: Connection) -> CalendarFeed:
        link = link_store.active_link(conn, token) if token else None
        patient = records.get_patient(conn, int(link["patient_id"])) if link else None
        if link is None or patient is None:
            raise NotFoundError("no such calendar", fix="ask for a new calendar link")
        clinic.audit(conn, _LINK_ACTOR, "calendar.read", entity="calendar-link",
                     entity_id=str(link["id"]), patient_id=int(patient["id"]),
                     field="calendar")
        return _feed(conn, clinic, dict(patient))

    return clinic.run(_LINK_ACTOR, "calendar.read", body, entity="calendar-link")


def _link(row: Row) -> CalendarLink:
    return CalendarLink(int(row["id"]), int(row["patient_id"]), str(row["created_by"]),
                        row["created_at"], row.get("revoked_by"), row.get("revoked_at"))


def create_calendar_link(clinic: Clinic, actor: Actor, patient_id: int) -> NewCalendarLink:
    """A new subscription link for the patient (the patient, a caregiver or the clinic)."""
    def body(conn: Connection) -> NewCalendarLink:
        authz.patient_for(conn, actor, authz.READ, patient_id)
        token = secrets.token_urlsafe(32)
        link_id = link_store.add_link(conn, patient_id=patient_id, token=token,
                                      created_by=actor.username, at=clinic.now())
        clinic.audit(conn, actor, "calendar-link.create", entity="calendar-link",
                     entity_id=str(link_id), patient_id=patient_id)
        row = next(r for r in link_store.links_of(conn, patient_id) if r["id"] == link_id)
        return NewCalendarLink(_link(row), token)

    return clinic.run(actor, "calendar-link.create", body, patient_id=patient_id,
                      entity="calendar-link")


def calendar_links(clinic: Clinic, actor: Actor, patient_id: int) -> tuple[CalendarLink, ...]:
    def body(conn: Connection) -> tuple[CalendarLink, ...]:
        authz.patient_for(conn, actor, authz.READ, patient_id)
        return tuple(_link(r) for r in link_store.links_of(conn, patient_id))

    return clinic.run(actor, "patient.read", body, patient_id=patient_id,
                      entity="calendar-link")


def revoke_calendar_link(clinic: Clinic, actor: Actor, patient_id: int, link_id: int) -> None:
    """Revoke a link: its URL answers 404 from now on (the row stays, audited)."""
    def body(conn: Connection) -> None:
        authz.patient_for(conn, actor, authz.READ, patient_id)
        if not link_store.revoke_link(conn, patient_id=patient_id, link_id=link_id,
                                      revoked_by=actor.username, at=clinic.now()):
            raise NotFoundError(f"no active calendar link {link_id}", where="link_id",
                                fix="reload the page: it may be revoked already")
        clinic.audit(conn, actor, "calendar-link.revoke", entity="calendar-link",
                     entity_id=str(link_id), patient_id=patient_id)

    clinic.run(actor, "calendar-link.revoke", body, patient_id=patient_id,
               entity="calendar-link")
