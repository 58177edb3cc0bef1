"""The patient's calendar feed as iCalendar (RFC 5545), written by the ``icalendar`` library.

One VCALENDAR: the refill-due date as an all-day item ("Baclofen pump refill due by …"), or,
once it has passed, an all-day item on today's date that says the refill is overdue; every
booked appointment as a timed item. UIDs come from the feed (stable per patient and per
appointment), so a subscribed calendar updates an item rather than adding another; SEQUENCE is
the record version the feed was made from. Each reminder is a DISPLAY VALARM with an absolute
trigger (the feed leaves out every reminder whose time has gone). Text goes through the
library, which escapes commas, semicolons, backslashes and line breaks, so a setting with a
CR/LF cannot add a property of its own.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from icalendar import Alarm, Calendar, Event

from thecal.service.calendar import CalendarFeed, Reminder

PRODID = "-//thecal//patient calendar//EN"


def _day(value: datetime | object) -> str:
    return value.strftime("%a %-d %b %Y") if hasattr(value, "strftime") else str(value)


def _call(feed: CalendarFeed) -> str:
    return f"Call the clinic on {feed.clinic_phone}." if feed.clinic_phone else \
        "Call the clinic."


def _alarms(event: Event, reminders: tuple[Reminder, ...], text: str) -> None:
    for r in reminders:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", f"{text} ({r.lead_days} "
                                 f"{'day' if r.lead_days == 1 else 'days'} to go)")
        alarm.add("trigger", r.at.astimezone(UTC))
        event.add_component(alarm)


def calendar(feed: CalendarFeed) -> bytes:
    """The feed as the bytes of an ``.ics`` file."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", "Baclofen pump")
    stamp = feed.generated_at.astimezone(UTC)
    if feed.refill is not None:
        item, due = feed.refill, feed.refill.due
        event = Event()
        event.add("uid", item.uid)
        event.add("dtstamp", stamp)
        event.add("sequence", feed.version)
        event.add("dtstart", item.shown_on)
        event.add("dtend", item.shown_on + timedelta(days=1))
        event.add("transp", "TRANSPARENT")
        if due.overdue:
            ago = f"{due.days_overdue} {'day' if due.days_overdue == 1 else 'days'} ago"
            event.add("summary", "Baclofen pump refill OVERDUE - call the clinic today")
            event.add("description", f"The refill was due by {_day(due.due_on)} ({ago}). "
                                     f"The pump may run out of medicine. {_call(feed)}")
        else:
            event.add("summary", "Baclofen pump refill due by today" if
                      due.state == "due-today" else "Baclofen pump refill due by this date")
            event.add("description", f"The pump must be refilled by {_day(due.due_on)}. "
                                     f"Book the refill before this date. {_call(feed)}")
        if feed.clinic_location:
            event.add("location", feed.clinic_location)
        _alarms(event, item.reminders, f"Baclofen pump refill due by {_day(due.due_on)}")
        cal.add_component(event)
    for booked in feed.appointments:
        appt = booked.appointment
        event = Event()
        event.add("uid", booked.uid)
        event.add("dtstamp", stamp)
        event.add("sequence", feed.version)
        event.add("dtstart", appt.start.astimezone(UTC))
        event.add("dtend", appt.end.astimezone(UTC))
        event.add("summary", "Baclofen pump appointment")
        event.add("description", f"Your booked pump appointment. {_call(feed)}")
        if appt.place or feed.clinic_location:
            event.add("location", appt.place or feed.clinic_location)
        _alarms(event, booked.reminders, "Baclofen pump appointment")
        cal.add_component(event)
    return cal.to_ical()
