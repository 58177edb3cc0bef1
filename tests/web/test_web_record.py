"""The record pages and the patient's truth, through the real app (TestClient on the demo).

Point 5: an overdue refill says overdue (words, colour, phone); a caregiver sees the name; the
calendar feed (parsed back with ``icalendar``), subscription links (hashed, revocable,
audited). Point 11: register a patient, record each event type, a correction pointing at what
it corrects (a stale record form: ``test_web_stale.py``).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar
from sqlalchemy import select
from web_support import LINKED_PATIENT, csrf_of, signed_in

from thecal import service
from thecal.service import Clinic
from thecal.service.actors import SYSTEM
from thecal.store import calendar_links as link_store
from thecal.store.tables import audit


def _ics(body: bytes) -> Calendar:
    return Calendar.from_ical(body)


def _events(cal: Calendar) -> list:
    return [c for c in cal.walk("VEVENT")]


# --- point 5: overdue told truthfully -------------------------------------------------------

def test_overdue_patient_page_says_overdue_with_the_phone(client: TestClient) -> None:
    signed_in(client, "demo-patient")
    html = client.get(f"/my/{LINKED_PATIENT}").text
    # the demo's first patient is three days overdue (thecal.demo._target_offset)
    assert 'id="refill-overdue"' in html and "banner-danger" in html
    assert re.search(r"Overdue by [1-9]\d* days?", html)
    assert "Book it before this date" not in html
    assert 'href="tel:+4930' in html


def test_caregiver_sees_the_patients_name(client: TestClient, clinic: Clinic) -> None:
    name = service.get_patient(clinic, SYSTEM, int(LINKED_PATIENT)).display_name
    signed_in(client, "demo-caregiver")
    html = client.get(f"/my/{LINKED_PATIENT}").text
    assert f"<h1>{name}&#39;s pump</h1>" in html or f"<h1>{name}'s pump</h1>" in html
    assert 'id="caring-for"' in html and "Overdue by" in html


def test_not_overdue_patient_is_told_the_date(client: TestClient, clinic: Clinic) -> None:
    signed_in(client, "demo-clinician")
    html = client.get("/my/5").text  # the demo's patient 5 is due later this week
    assert 'id="refill-overdue"' not in html and "Book it before this date" in html


# --- point 5: the calendar ------------------------------------------------------------------

def test_ics_overdue_is_today_and_has_no_past_reminder(client: TestClient,
                                                       clinic: Clinic) -> None:
    signed_in(client, "demo-patient")
    response = client.get(f"/my/{LINKED_PATIENT}/appointments.ics")
    assert response.headers["content-type"].startswith("text/calendar")
    cal = _ics(response.content)
    (event,) = _events(cal)
    today = clinic.now().astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin")).date()
    assert event.decoded("dtstart") == today  # all-day, on today's date, not the passed one
    assert "OVERDUE" in str(event["summary"])
    assert "+49 30 5550 1234" in str(event["description"])
    assert str(event["uid"]) == f"refill-due-{LINKED_PATIENT}@thecal"
    assert not event.walk("VALARM")  # every reminder would be in the past


def test_ics_due_later_all_day_with_reminders_7_and_1_days(client: TestClient,
                                                           clinic: Clinic) -> None:
    signed_in(client, "demo-clinician")
    # find a demo patient due more than a week from now
    for pid in range(8, 41):
        cal = _ics(client.get(f"/my/{pid}/appointments.ics").content)
        (event,) = _events(cal)
        day = event.decoded("dtstart")
        if isinstance(day, date) and (day - clinic.now().date()).days > 8:
            break
    else:
        pytest.fail("no demo patient due more than a week ahead")
    assert not isinstance(day, datetime)  # VALUE=DATE: an all-day item
    assert event.decoded("dtend") == day + timedelta(days=1)
    assert "refill due by" in str(event["summary"])
    triggers = sorted(a.decoded("trigger") for a in event.walk("VALARM"))
    # 7 and 1 days before the due day, 09:00 Berlin (08:00 UTC in winter)
    assert [(day - t.date()).days for t in triggers] == [7, 1]
    assert all(t > clinic.now() for t in triggers)
    # a second fetch gives the same UID (a calendar updates the item instead of duplicating)
    again = _events(_ics(client.get(f"/my/{pid}/appointments.ics").content))[0]
    assert again["uid"] == event["uid"] == f"refill-due-{pid}@thecal"


def test_ics_reminder_lead_times_follow_the_site_setting(client: TestClient,
                                                         clinic: Clinic) -> None:
    from thecal.service import admin

    site = service.get_patient(clinic, SYSTEM, 20).site_id
    admin.update_site_settings(clinic, SYSTEM, site, {"calendar_reminder_days": "14,3"})
    signed_in(client, "demo-clinician")
    event = _events(_ics(client.get("/my/20/appointments.ics").content))[0]
    day = event.decoded("dtstart")
    leads = sorted((day - a.decoded("trigger").date()).days for a in event.walk("VALARM")
                   if a.decoded("trigger") > clinic.now())
    assert set(leads) <= {3, 14} and 3 in leads


def test_ics_line_breaks_in_settings_do_not_reach_the_file() -> None:
    from thecal.clinical.refill_due import refill_due_state
    from thecal.service.calendar import CalendarFeed, RefillDueItem
    from thecal.web.ics import calendar

    stamp = datetime(2026, 12, 1, tzinfo=UTC)
    due = refill_due_state(datetime(2026, 12, 20, 8, tzinfo=UTC), stamp, UTC)
    feed = CalendarFeed(1, 3, "Europe/Berlin", "+49 1\r\nATTENDEE:evil@example.org",
                        "Room 2\r\nBEGIN:VALARM", stamp,
                        RefillDueItem("u@thecal", due, date(2026, 12, 20), ()))
    body = calendar(feed)
    unfolded = body.replace(b"\r\n ", b"").split(b"\r\n")
    # no setting text starts a content line of its own: it stays inside its property
    assert not [line for line in unfolded if line.startswith((b"ATTENDEE", b"BEGIN:VALARM"))]
    event = _events(_ics(body))[0]
    assert "BEGIN:VALARM" in str(event["location"]) and not event.walk("VALARM")


def test_calendar_link_subscribe_and_revoke(client: TestClient, clinic: Clinic) -> None:
    signed_in(client, "demo-patient")
    base = f"/my/{LINKED_PATIENT}/calendar"
    made = client.post(base + "/links", data={"csrf_token": csrf_of(client, base)})
    assert made.status_code == 200
    url = re.search(r'id="new-link-url">([^<]+)<', made.text)
    assert url
    path = url.group(1).replace("http://testserver", "")
    token = path.removeprefix("/calendar/").removesuffix(".ics")
    client.cookies.clear()  # a calendar app has no session
    feed = client.get(path)
    assert feed.status_code == 200 and _events(_ics(feed.content))
    with clinic.transaction() as conn:
        rows = link_store.links_of(conn, int(LINKED_PATIENT))
        assert all(token not in str(r.values()) for r in rows)  # stored hashed only
        assert rows[-1]["token_hash"] == link_store.token_hash(token)
    # the clinic revokes it
    signed_in(client, "demo-clinician")
    cbase = f"/clinic/patients/{LINKED_PATIENT}/calendar"
    page = client.get(cbase).text
    link_id = rows[-1]["id"]
    assert f'id="link-{link_id}"' in page
    revoked = client.post(f"{cbase}/links/{link_id}/revoke",
                          data={"csrf_token": csrf_of(client, cbase)})
    assert revoked.status_code == 200 and 'id="revoked"' in revoked.text
    client.cookies.clear()
    assert client.get(path).status_code == 404
    assert client.get("/calendar/not-a-token.ics").status_code == 404
    with clinic.transaction() as conn:
        actions = [r.action for r in conn.execute(select(audit.c.action, audit.c.outcome))]
    assert {"calendar-link.create", "calendar-link.revoke", "calendar.read"} <= set(actions)


def test_other_patients_calendar_links_are_refused(client: TestClient) -> None:
    signed_in(client, "demo-patient")
    assert client.get("/my/2/calendar").status_code == 403


# --- point 11: the record pages -------------------------------------------------------------

def _post(client: TestClient, page: str, data: dict[str, str]) -> object:
    html = client.get(page).text
    version = re.search(r'name="shown_version" value="(\d+)"', html)
    payload = {"csrf_token": csrf_of(client, page), **data}
    if version and "shown_version" not in data:
        payload["shown_version"] = version.group(1)
    return client.post(page, data=payload)


def test_register_patient_with_field_errors_then_success(client: TestClient) -> None:
    signed_in(client, "demo-nurse")
    bad = _post(client, "/clinic/register", {"mrn": "NEW-1", "display_name": "Vera Neu",
                                             "born": "1980-02-30", "timezone": "Mars/Base",
                                             "etiology": "stroke"})
    assert bad.status_code == 422
    assert 'id="f-born-error"' in bad.text
    ok = _post(client, "/clinic/register", {"mrn": "NEW-1", "display_name": "Vera Neu",
                                            "born": "1980-02-03", "timezone": "Europe/Berlin",
                                            "etiology": "stroke", "sex": "female",
                                            "weight_kg": "64"})
    assert ok.status_code == 200 and 'id="saved"' in ok.text and "Vera Neu" in ok.text
    again = _post(client, "/clinic/register", {"mrn": "NEW-1", "display_name": "Other",
                                               "born": "1980-02-03",
                                               "timezone": "Europe/Berlin",
                                               "etiology": "stroke"})
    assert again.status_code == 409 and 'id="f-mrn-error"' in again.text


def _new_patient(client: TestClient) -> str:
    response = _post(client, "/clinic/register", {
        "mrn": "REC-1", "display_name": "Rita Record", "born": "1975-05-06",
        "timezone": "Europe/Berlin", "etiology": "multiple-sclerosis"})
    match = re.search(r"/clinic/patients/(\d+)/record", str(response.url))
    assert match, response.text
    return match.group(1)


def test_record_each_event_type_and_correct_one(client: TestClient, clinic: Clinic) -> None:
    signed_in(client, "demo-clinician")
    pid = _new_patient(client)
    now = clinic.now().astimezone(__import__("zoneinfo").ZoneInfo("Europe/Berlin"))

    def at(days: float) -> str:
        return (now - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M")

    base = f"/clinic/patients/{pid}/record"
    steps = [
        ("implant", {"at": at(30), "pump": "synchromed-ii-20", "serial": "NGP123",
                     "catheter_model": "ascenda", "catheter_length_cm": "52"}),
        ("bolus", {"at": at(29), "kind": "priming"}),
        ("mri", {"at": at(20), "duration": "45 min"}),
        ("catheter-revision", {"at": at(15), "catheter_model": "ascenda",
                               "catheter_length_cm": "48"}),
        ("interrogation", {"at": at(10), "reservoir": "11.5 mL", "battery": "ok",
                           "pump_state": "running"}),
        ("replace-pump", {"at": at(5), "pump": "synchromed-ii-40", "serial": "NGP999"}),
    ]
    for kind, data in steps:
        response = _post(client, f"{base}/{kind}", data)
        assert response.status_code == 200, (kind, response.text[-2000:])
        assert f"Saved: the {kind}" in response.text
        if kind == "interrogation":  # the readings re-anchor the twin: before and after
            assert 'id="interrogation-views"' in response.text
    timeline = service.timeline(clinic, SYSTEM, int(pid))
    assert [e.event.type for e in timeline.events] == [k for k, _ in steps]
    # the header follows the record: the new pump, on the revised catheter
    header = client.get(f"/clinic/patients/{pid}").text
    assert "SynchroMed II 40" in header and "ascenda, 48 cm" in header
    interrogation = timeline.events[4].as_dict()
    assert interrogation["reservoir"] == "11.5 mL" and interrogation["battery"] == "ok"
    # a field-level error: a bare number for the MRI duration
    bad = _post(client, f"{base}/mri", {"at": at(1), "duration": "45"})
    assert bad.status_code == 422 and 'id="f-duration-error"' in bad.text
    # a clinician bolus without a dose: the timeline's rule, shown beside the dose
    bad = _post(client, f"{base}/bolus", {"at": at(1), "kind": "clinician"})
    assert bad.status_code == 422 and 'id="f-dose-error"' in bad.text
    # correct the MRI (it lasted 60 min): a new event pointing at the old one
    mri_id = str(timeline.events[2].event.id)
    page = f"/clinic/patients/{pid}/events/{mri_id}/correct"
    form = client.get(page).text
    assert 'value="45 min"' in form
    missing = _post(client, page, {"at": at(20), "duration": "60 min"})
    assert missing.status_code == 422 and 'id="f-correction_reason-error"' in missing.text
    done = _post(client, page, {"at": at(20), "duration": "60 min",
                                "correction_reason": "the scan took an hour"})
    assert done.status_code == 200
    after = [e.as_dict() for e in service.timeline(clinic, SYSTEM, int(pid)).events]
    correction = after[-1]
    assert correction["type"] == "correction" and correction["corrects"] == mri_id
    assert correction["event"]["duration"] == "60 min"  # type: ignore[index]
    assert after[2]["duration"] == "45 min"  # append-only: the original stays
    # a corrected implant serial reaches the header's implant record (the implant card)
    implant_id = str(timeline.events[0].event.id)
    fixed = _post(client, f"/clinic/patients/{pid}/events/{implant_id}/correct", {
        "at": at(30), "pump": "synchromed-ii-20", "serial": "NGP124",
        "catheter_model": "ascenda", "catheter_length_cm": "52",
        "correction_reason": "serial misread"})
    assert fixed.status_code == 200
    with clinic.transaction() as conn:
        from thecal.store import records

        rows = records.implants_of(conn, int(pid))
    assert [r["pump_serial"] for r in rows] == ["NGP124", "NGP999"]
    history = done.text
    # what the correction now reads, its time in the site's zone with the zone's name — not
    # "(UTC+0100)" (issue 11 walk-through)
    assert re.search(r"now reads: mri at \w{3} \d{1,2} \w{3} \d{4} \d{2}:\d{2} CES?T;", history)
    assert "UTC+" not in history and "UTC-" not in history
    assert f'href="#event-{correction["id"]}"' in history  # the MRI: corrected by …
    assert f'href="#event-{mri_id}"' in history  # the correction: corrects …
    # a second correction of the same event is refused (correct the correction instead)
    assert client.get(page).status_code == 422


RECORD_PAGES = ("/clinic/register", "/clinic/patients/1/record",
                *(f"/clinic/patients/1/record/{k}" for k in (
                    "implant", "replace-pump", "catheter-revision", "mri", "bolus",
                    "interrogation")), "/clinic/patients/1/calendar")


@pytest.mark.parametrize("username", ["demo-clinician", "demo-nurse"])
def test_record_pages_answer_for_staff(client: TestClient, username: str) -> None:
    signed_in(client, username)
    for path in RECORD_PAGES:
        assert client.get(path).status_code == 200, path


@pytest.mark.parametrize("username", ["demo-patient", "demo-caregiver"])
def test_record_pages_refuse_home_roles(client: TestClient, username: str) -> None:
    signed_in(client, username)
    for path in RECORD_PAGES:
        assert client.get(path).status_code == 403, path
    assert client.get(f"/my/{LINKED_PATIENT}/calendar").status_code == 200
