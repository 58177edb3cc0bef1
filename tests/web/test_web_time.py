"""Times on the pages: stored UTC instants shown in the clinic's zone (the site's ``timezone``
setting; a patient's own pages in the patient's zone), with the zone's abbreviation, in one
place (the ``when``/``day`` filters reading ``display_zone``). The .ics file stays in UTC."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from web_support import LINKED_PATIENT, signed_in

from thecal.errors import InputError
from thecal.service import Clinic, admin, pages
from thecal.service.actors import SYSTEM
from thecal.web.rendering import templates

WINTER = datetime(2026, 11, 24, 9, 29, tzinfo=UTC)
SUMMER = datetime(2026, 7, 1, 22, 30, tzinfo=UTC)


def _render(source: str, zone: str | None, **values: object) -> str:
    context = dict(values)
    if zone is not None:
        context["display_zone"] = zone
    return templates.env.from_string(source).render(context)


def test_filters_convert_to_the_display_zone() -> None:
    assert _render("{{ t|when }}", "Europe/Berlin", t=WINTER) == "Tue 24 Nov 2026 10:29 CET"
    assert _render("{{ t|when }}", "Europe/Berlin", t=SUMMER) == "Thu 2 Jul 2026 00:30 CEST"
    # the calendar day of an instant is the day in the display zone
    assert _render("{{ t|day }}", "Europe/Berlin", t=SUMMER) == "Thu 2 Jul 2026"
    assert _render("{{ t|day }}", "UTC", t=SUMMER) == "Wed 1 Jul 2026"
    # no zone in the context: UTC; a date is a date in every zone
    assert _render("{{ t|when }}", None, t=WINTER) == "Tue 24 Nov 2026 09:29 UTC"
    assert _render("{{ d|day }}", "Pacific/Kiritimati", d=date(2026, 3, 1)) == "Sun 1 Mar 2026"
    assert _render("{{ t|when }}", "America/New_York", t=WINTER) == "Tue 24 Nov 2026 04:29 EST"
    assert _render("{{ t|when }}", "Europe/Berlin", t=None) == "—"


def test_site_timezone_setting_is_validated(clinic: Clinic) -> None:
    site = admin.create_site(clinic, SYSTEM, "Zone test site")
    assert site.settings["timezone"] == "UTC"
    for bad in ("Mars/Olympus", "CET+1", "", " Europe/Berlin", 2):
        with pytest.raises(InputError) as caught:
            admin.update_site_settings(clinic, SYSTEM, site.id, {"timezone": bad})
        assert caught.value.where == "settings.timezone"
    updated = admin.update_site_settings(clinic, SYSTEM, site.id, {"timezone": "Europe/Lisbon"})
    assert updated.settings["timezone"] == "Europe/Lisbon"


def _demo_site(clinic: Clinic) -> int:
    from thecal.demo import SITE_NAME
    from thecal.store import records

    with clinic.transaction() as conn:
        site = records.site_by_name(conn, SITE_NAME)
    assert site is not None and site["settings"]["timezone"] == "Europe/Berlin"
    return int(site["id"])


def test_clinic_pages_show_the_site_zone(client: TestClient, clinic: Clinic) -> None:
    _demo_site(clinic)
    signed_in(client, "demo-nurse")
    worklist = client.get("/clinic").text
    assert re.search(r"\d{2}:\d{2} CES?T<", worklist), "the next alarm in the clinic's zone"
    assert "UTC" not in worklist
    chart = client.get(f"/clinic/patients/{LINKED_PATIENT}").text
    times = re.findall(r"<time datetime=\"[^\"]+\">([^<]+)</time>", chart)
    assert times and all(re.search(r" CES?T$", t) for t in times), times
    assert "UTC" not in chart and "+02:00<" not in chart and "+01:00<" not in chart
    triage = client.get("/clinic/triage").text
    assert re.search(r"\d{2}:\d{2} CES?T<", triage) and "UTC" not in triage


def test_staff_see_the_site_zone_patients_their_own(client: TestClient,
                                                    clinic: Clinic) -> None:
    site_id = _demo_site(clinic)
    admin.update_site_settings(clinic, SYSTEM, site_id, {"timezone": "America/New_York"})
    signed_in(client, "demo-nurse")
    worklist = client.get("/clinic").text
    assert re.search(r"\d{2}:\d{2} ES?T<", worklist) and " CET<" not in worklist
    from thecal.demo import LOGINS
    from thecal.service import login

    zones = {}
    for name, _, password in LOGINS:
        zones[name] = pages.current_user(clinic, login(clinic, name, password).session_token).timezone  # type: ignore[union-attr]
    assert zones["demo-nurse"] == zones["demo-clinician"] == "America/New_York"
    # the patient and the caregiver see the patient's own zone (the demo patient's)
    assert zones["demo-patient"] == zones["demo-caregiver"] == "Europe/Berlin"
    client.cookies.clear()
    signed_in(client, "demo-caregiver")
    page = client.get(f"/my/{LINKED_PATIENT}")
    assert page.status_code == 200 and "UTC" not in page.text


def test_ics_keeps_utc(client: TestClient) -> None:
    signed_in(client, "demo-patient")
    body = client.get(f"/my/{LINKED_PATIENT}/appointments.ics").text
    # the refill-due item is all-day (a calendar day, no zone); every instant (DTSTAMP, a
    # reminder, a booked appointment) is written in UTC
    assert re.findall(r"^DTSTART;VALUE=DATE:\d{8}\r$", body, flags=re.M)
    stamps = re.findall(r"^(?:DTSTAMP|TRIGGER[^:]*|DTSTART):(\S+)\r$", body, flags=re.M)
    assert stamps and all(re.fullmatch(r"\d{8}T\d{6}Z", s) for s in stamps)


class _Text(__import__("html.parser").parser.HTMLParser):
    """The text a person reads on a page: text nodes only (no attributes, no hidden values)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: object) -> None:
        self._skip += tag in ("script", "style")

    def handle_endtag(self, tag: str) -> None:
        self._skip -= tag in ("script", "style")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def _read(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts)


# ISO text or a numeric offset where a person reads a time (issue 11 walk-through: the
# worklist and dashboard showed "2026-12-09T09:00+00:00", the record history "(UTC+0100)")
ISO_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}|UTC[+-]\d|[+-]\d{2}:\d{2}\b")
ISO_DAY = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def test_no_page_shows_a_time_as_iso_text(client: TestClient, clinic: Clinic) -> None:
    """Every time a person reads goes through the one filter: the scheduling escalations on
    the worklist and the dashboard (accepted from a proposal), the proposal itself, the record
    history, the visit report, the inbox and the cases."""
    _demo_site(clinic)
    signed_in(client, "demo-nurse")
    proposal = client.get("/clinic/schedule", params={"propose": 1, "days": 14}).text
    form = proposal.split('action="/clinic/schedule/accept"')[1].split("</form>")[0]
    fields = re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form)
    unscheduled = [v for k, v in fields if k == "unscheduled"]
    assert unscheduled, "the demo has a patient the proposal cannot book (the overdue one)"
    import html as html_lib

    accepted = client.post("/clinic/schedule/accept",
                           data={k: html_lib.unescape(v) for k, v in fields if k not in (
                               "booking", "unscheduled")}
                           | {"booking": [html_lib.unescape(v) for k, v in fields
                                          if k == "booking"],
                              "unscheduled": [html_lib.unescape(v) for v in unscheduled]})
    assert "escalated" in accepted.text
    worklist = _read(client.get("/clinic").text)
    assert "escalated to the on-call clinician" in worklist
    pages_ = {"/clinic": worklist, "/clinic/schedule?propose=1": _read(proposal)}
    for url in ("/clinic/dashboard", "/clinic/triage", "/clinic/cases",
                f"/clinic/patients/{LINKED_PATIENT}/record",
                f"/clinic/patients/{LINKED_PATIENT}/visit-report", "/clinic/patients/2"):
        pages_[url] = _read(client.get(url).text)
    assert "Could not be booked" in pages_["/clinic/dashboard"]
    for url, text in pages_.items():
        assert not ISO_INSTANT.search(text), (url, ISO_INSTANT.search(text))
    # dates too, where the words are the page's (the findings on a chart or a report are the
    # rules' own words)
    for url in ("/clinic", "/clinic/dashboard", "/clinic/schedule?propose=1"):
        assert not ISO_DAY.search(pages_[url]), (url, ISO_DAY.search(pages_[url]))
    report = pages_[f"/clinic/patients/{LINKED_PATIENT}/visit-report"]
    assert re.search(r"\d{2}:\d{2} CES?T", report), "the report's times in the site's zone"
