"""Browser tests (the system Chromium, on ``thecal serve --demo``) for issue 11 points 5 and 11:
the overdue refill told in words and colour to the patient and the caregiver, the calendar feed
parsed back with ``icalendar``, a subscription link revoked (its URL then 404), a patient
registered and every event type recorded through the pages, a correction in the history."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar
from web_support import LINKED_PATIENT, shot, sign_in

pytestmark = pytest.mark.browser

RED_TEXT = "rgb(161, 16, 27)"  # --danger in thecal.css
RED_BACKGROUND = "rgb(253, 232, 234)"  # --danger-bg


def _overdue_box(page: Any) -> Any:
    box = page.locator("#refill-overdue")
    assert box.is_visible()
    style = box.evaluate("e => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor]")
    assert style == [RED_TEXT, RED_BACKGROUND]
    return box


def test_overdue_refill_in_words_and_colour_for_patient_and_caregiver(page: Any) -> None:
    sign_in(page, "demo-patient")
    page.goto(f"/my/{LINKED_PATIENT}")
    box = _overdue_box(page)
    text = box.inner_text()
    assert re.search(r"Overdue by \d+ days?", text), text
    assert "Book it before" not in page.content()
    assert box.get_by_role("link", name="+49 30 5550 1234").get_attribute(
        "href") == "tel:+493055501234"
    shot(page, "i11-overdue-patient")
    sign_in(page, "demo-caregiver")
    page.goto(f"/my/{LINKED_PATIENT}")
    heading = page.get_by_role("heading", level=1).inner_text()
    assert heading.endswith("'s pump") and heading != "My pump"
    name = heading.removesuffix("'s pump")
    assert name in page.locator("#caring-for").inner_text()
    _overdue_box(page)
    shot(page, "i11-overdue-caregiver")


def test_calendar_feed_subscribe_parse_and_revoke(page: Any, browser: Any) -> None:
    sign_in(page, "demo-patient")
    page.goto(f"/my/{LINKED_PATIENT}")
    download = page.request.get(f"/my/{LINKED_PATIENT}/appointments.ics")
    assert download.ok
    (event,) = Calendar.from_ical(download.body()).walk("VEVENT")
    assert "OVERDUE" in str(event["summary"]) and not event.walk("VALARM")
    page.get_by_role("link", name="Subscribe: calendar links").click()
    page.get_by_role("button", name="Make a new calendar link").click()
    url = page.locator("#new-link-url").inner_text().strip()
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/calendar/[\w-]{40,}\.ics", url)
    shot(page, "i11-calendar-link")
    outsider = browser.new_context()  # a calendar app: no session, only the URL
    try:
        feed = outsider.request.get(url)
        assert feed.ok and feed.headers["content-type"].startswith("text/calendar")
        cal = Calendar.from_ical(feed.body())
        (item,) = cal.walk("VEVENT")
        assert str(item["uid"]) == f"refill-due-{LINKED_PATIENT}@thecal"
        assert not isinstance(item.decoded("dtstart"), datetime)  # an all-day item
        link_id = page.locator("#calendar-links tbody tr").first.get_attribute("id")
        assert link_id
        page.get_by_role("button", name=f"Revoke link {link_id.removeprefix('link-')}").click()
        assert page.locator("#revoked").is_visible()
        assert outsider.request.get(url).status == 404
    finally:
        outsider.close()


def _local(days_ago: float) -> str:
    at = datetime.now(ZoneInfo("Europe/Berlin")) - timedelta(days=days_ago)
    return at.strftime("%Y-%m-%dT%H:%M")


def _record(page: Any, title: str, fields: dict[str, str]) -> None:
    page.get_by_role("link", name=title, exact=True).click()
    for name, value in fields.items():
        control = page.locator(f"#f-{name}")
        if control.evaluate("e => e.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)
    page.locator("#record-form button[type=submit]").click()
    assert page.locator("#saved").is_visible(), page.content()[-3000:]
    if title.startswith("Interrogation"):  # what the readings changed, then back
        assert page.locator("#interrogation-views").is_visible()
        page.get_by_role("link", name="Back to the record").click()


def test_register_a_patient_and_record_every_event_type(page: Any) -> None:
    sign_in(page, "demo-clinician")
    page.goto("/clinic")
    page.get_by_role("link", name="Register a patient").click()
    mrn = f"BR-{uuid.uuid4().hex[:6]}"
    page.get_by_label("Record number (MRN)").fill(mrn)
    page.get_by_label("Name (as the patient").fill("Wanda Browser")
    page.get_by_label("Date of birth").fill("1971-03-04")
    page.get_by_label("Time zone").fill("Europe/Berlin")
    page.get_by_label("Cause of the spasticity").select_option("stroke")
    page.get_by_role("button", name="Register the patient").click()
    assert "Wanda Browser" in page.get_by_role("heading", level=1).inner_text()
    assert page.locator("#saved").is_visible()
    _record(page, "Implant", {"at": _local(30), "pump": "synchromed-ii-20",
                              "serial": "NGP777", "catheter_model": "ascenda",
                              "catheter_length_cm": "50"})
    _record(page, "Bolus", {"at": _local(29.9), "kind": "priming"})
    _record(page, "MRI", {"at": _local(20), "duration": "40 min"})
    _record(page, "Catheter revision", {"at": _local(15), "catheter_model": "ascenda",
                                        "catheter_length_cm": "47"})
    _record(page, "Interrogation (the pump's readings)", {
        "at": _local(10), "reservoir": "12 mL", "battery": "ok", "pump_state": "running"})
    _record(page, "Pump replacement", {"at": _local(5), "pump": "synchromed-ii-40",
                                       "serial": "NGP888"})
    types = page.locator("#history tbody tr").evaluate_all("rows => rows.map(r => r.dataset.type)")
    assert types == ["replace-pump", "interrogation", "catheter-revision", "mri", "bolus",
                     "implant"]
    # a field-level error: a bare number where a duration with its unit is needed
    page.get_by_role("link", name="MRI", exact=True).click()
    page.locator("#f-duration").fill("40")
    page.locator("#record-form button[type=submit]").click()
    assert page.locator("#f-duration-error").is_visible()
    assert page.locator("#f-duration").get_attribute("aria-invalid") == "true"
    shot(page, "i11-record-field-error")
    page.get_by_role("link", name="Cancel").click()
    # correct the MRI: a new event pointing at it; the history shows both
    mri_row = page.locator("#history tr[data-type=mri]")
    mri_id = mri_row.get_attribute("id").removeprefix("event-")
    mri_row.get_by_role("link", name="Correct").click()
    assert "40 min" in page.locator("#corrected-event").inner_text()
    page.locator("#f-duration").fill("55 min")
    page.locator("#f-correction_reason").fill("the scan ran 55 minutes")
    page.get_by_role("button", name="Record the correction").click()
    correction = page.locator("#history tr[data-type=correction]")
    assert f"corrects {mri_id}" in correction.inner_text()
    assert "55 min" in correction.inner_text() and "the scan ran 55 minutes" in \
        correction.inner_text()
    corrected = page.locator(f"#event-{mri_id}")
    assert "corrected by" in corrected.inner_text() and "40 min" in corrected.inner_text()
    assert corrected.get_by_role("link", name="Correct").count() == 0
    shot(page, "i11-record-history-correction")
