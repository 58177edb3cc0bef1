"""The calendar use cases: the feed's items and reminders, the subscription links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from thecal.errors import InputError, NotFoundError
from thecal.service import admin
from thecal.service import calendar as cal
from thecal.service.actors import SYSTEM
from thecal.service.testing import World
from thecal.store import calendar_links as link_store
from thecal.store.tables import audit


def test_reminders_before_a_day_skip_the_past() -> None:
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    day = datetime(2026, 12, 5, tzinfo=UTC)
    # 7 days before 5 Dec is 28 Nov (past: left out); 1 day before is 4 Dec 09:00
    (r,) = cal.reminders_before(day, (7, 1), now)
    assert r.lead_days == 1 and r.at == datetime(2026, 12, 4, 9, tzinfo=UTC)


@given(st.integers(min_value=-100, max_value=100), st.lists(
    st.integers(min_value=1, max_value=60), max_size=5))
def test_no_reminder_is_ever_in_the_past(offset_days: int, leads: list[int]) -> None:
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    day = now + timedelta(days=offset_days)
    assert all(r.at > now for r in cal.reminders_before(day, tuple(leads), now))


def test_reminder_days_setting_is_parsed_and_refused_when_wrong() -> None:
    assert cal.parse_reminder_days("1, 7,7") == (7, 1)
    assert cal.parse_reminder_days("") == ()
    for bad in ("0", "61", "7;1", "x", "1.5"):
        with pytest.raises(InputError):
            cal.parse_reminder_days(bad)


def test_site_setting_is_validated(world: World) -> None:
    with pytest.raises(InputError) as err:
        admin.update_site_settings(world.clinic, SYSTEM, world.site_a,
                                   {"calendar_reminder_days": "7\r\n1"})
    assert err.value.where == "settings.calendar_reminder_days"


def test_feed_default_reminders_and_stable_uid(world: World) -> None:
    feed = cal.calendar_feed(world.clinic, world.actor("patient"), world.patient_a)
    assert feed.refill is not None
    assert feed.refill.uid == f"refill-due-{world.patient_a}@thecal"
    assert not feed.refill.due.overdue
    assert [r.lead_days for r in feed.refill.reminders] == [7, 1]
    again = cal.calendar_feed(world.clinic, world.actor("caregiver"), world.patient_a)
    assert again.refill is not None and again.refill.uid == feed.refill.uid


def test_feed_overdue_is_shown_today_without_reminders(world: World) -> None:
    feed = cal.calendar_feed(world.clinic, world.actor("patient"), world.patient_a)
    assert feed.refill is not None and feed.refill.due.due_by is not None
    world.clock.set(feed.refill.due.due_by + timedelta(days=3, hours=1))
    late = cal.calendar_feed(world.clinic, world.actor("patient"), world.patient_a)
    assert late.refill is not None and late.refill.due.overdue
    assert late.refill.due.days_overdue == 3
    assert late.refill.shown_on == late.refill.due.today and late.refill.reminders == ()


def test_links_hashed_revocable_audited(world: World) -> None:
    c = world.clinic
    made = cal.create_calendar_link(c, world.actor("caregiver"), world.patient_a)
    assert cal.calendar_feed_by_token(c, made.token).patient_id == world.patient_a
    with c.transaction() as conn:
        (row,) = link_store.links_of(conn, world.patient_a)
    assert row["token_hash"] == link_store.token_hash(made.token) != made.token
    # a clinician of another site may not revoke it; the patient may
    with pytest.raises(NotFoundError):
        cal.revoke_calendar_link(c, world.actor("clinician_b"), world.patient_a,
                                 made.link.link_id)
    cal.revoke_calendar_link(c, world.actor("patient"), world.patient_a, made.link.link_id)
    with pytest.raises(NotFoundError):
        cal.calendar_feed_by_token(c, made.token)
    with pytest.raises(NotFoundError):  # twice: nothing to revoke
        cal.revoke_calendar_link(c, world.actor("patient"), world.patient_a,
                                 made.link.link_id)
    (link,) = cal.calendar_links(c, world.actor("clinician"), world.patient_a)
    assert not link.active and link.revoked_by == "patient"
    with c.transaction() as conn:
        rows = list(conn.execute(select(audit.c.action, audit.c.outcome, audit.c.actor)))
    assert ("calendar-link.create", "ok", "caregiver") in rows
    assert ("calendar-link.revoke", "ok", "patient") in rows
    assert ("calendar.read", "ok", "calendar-link") in rows
    assert ("calendar.read", "not-found", "calendar-link") in [
        (a, o, who) for a, o, who in rows]


def test_other_patients_links_cannot_be_made(world: World) -> None:
    with pytest.raises(NotFoundError):
        cal.create_calendar_link(world.clinic, world.actor("patient"), world.patient_b)


def test_booked_appointment_is_a_timed_item_with_reminders(world: World) -> None:
    from icalendar import Calendar

    from thecal.store import scheduling
    from thecal.web.ics import calendar

    c, now = world.clinic, world.clock.now()
    starts = now + timedelta(days=10)
    with c.transaction() as conn:
        session = scheduling.add_session(
            conn, site_id=world.site_a, kind="clinic", starts_at=starts,
            ends_at=starts + timedelta(hours=3), place="Room 2", slot_minutes=30,
            staff_user_ids=[], now=now)
        appt = scheduling.add_appointment(
            conn, patient_id=world.patient_a, session_id=session, starts_at=starts,
            ends_at=starts + timedelta(minutes=30), reason="refill", booked_by="clinician",
            now=now)
    feed = cal.calendar_feed(c, world.actor("patient"), world.patient_a)
    (item,) = feed.appointments
    assert item.uid == f"appointment-{appt}@thecal" and item.appointment.place == "Room 2"
    assert [r.lead_days for r in item.reminders] == [7, 1]
    events = Calendar.from_ical(calendar(feed)).walk("VEVENT")
    timed = [e for e in events if str(e["uid"]) == item.uid]
    assert timed and timed[0].decoded("dtstart") == starts
