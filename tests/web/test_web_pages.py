"""Page routes through FastAPI's TestClient over the real application (``create_app`` on a
copy of the demo clinic): access control, CSRF, server-side refusals, side-effect-free live
checks, the .ics file, static assets served locally, and no page left unimplemented."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from web_support import LINKED_PATIENT, csrf_of, login_token, shown_of, signed_in

from thecal.device.alarms import ALARM_KINDS
from thecal.service import Clinic, FrozenClock, get_patient
from thecal.service.actors import SYSTEM
from thecal.store.tables import audit, pending
from thecal.web.charts import line_chart
from thecal.web.ics import calendar

OTHER = "3"  # a demo patient not linked to the patient or caregiver login


def _version(clinic: Clinic, patient_id: str) -> int:
    return get_patient(clinic, SYSTEM, int(patient_id)).version


def _count(clinic: Clinic, table: object) -> int:
    with clinic.transaction() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_pages_need_sign_in(client: TestClient) -> None:
    response = client.get("/clinic/patients/1", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/clinic/patients/1"


def test_next_after_login_stays_on_site(client: TestClient) -> None:
    response = client.post("/login", data={"username": "demo-nurse",
                                           "password": "demo-nurse-pass-2026",
                                           "login_csrf": login_token(client),
                                           "next": "//evil.example/"}, follow_redirects=False)
    assert response.headers["location"] == "/clinic"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie


def test_pages_and_api_share_one_session_cookie(client: TestClient, clinic: Clinic) -> None:
    from thecal.cookies import session_cookie_name

    signed_in(client, "demo-nurse")
    assert session_cookie_name(clinic.settings) in client.cookies


def test_patient_cannot_see_clinic_or_other_patient(client: TestClient) -> None:
    signed_in(client, "demo-patient")
    assert client.get("/clinic").status_code == 403
    assert client.get(f"/my/{OTHER}").status_code == 403
    assert client.get(f"/my/{OTHER}/appointments.ics").status_code == 403
    assert client.get(f"/my/{LINKED_PATIENT}").status_code == 200


def test_post_without_csrf_is_refused(client: TestClient, clinic: Clinic) -> None:
    signed_in(client, "demo-clinician")
    before = _version(clinic, OTHER)
    response = client.post(f"/clinic/patients/{OTHER}/program",
                           data={"daily_dose": "310 mcg/day",
                                 "password": "demo-clinician-2026"})
    assert response.status_code == 403
    assert _version(clinic, OTHER) == before


def test_live_program_check_writes_nothing(client: TestClient, clinic: Clinic) -> None:
    signed_in(client, "demo-clinician")
    token = csrf_of(client, f"/clinic/patients/{OTHER}/program")
    audits, pendings = _count(clinic, audit), _count(clinic, pending)
    for dose in ("3", "30 mcg/day", "300 mcg/day", "2500 mcg/day"):
        response = client.post(f"/clinic/patients/{OTHER}/program/check",
                               data={"csrf_token": token, "daily_dose": dose},
                               headers={"HX-Request": "true"})
        assert response.status_code == 200
    assert 'id="absolute-refusal"' in response.text
    assert "cannot be sent" in response.text
    assert _count(clinic, pending) == pendings
    # the session refresh and the header read audit; the check itself adds no row
    response = client.post(f"/clinic/patients/{OTHER}/program/check",
                           data={"csrf_token": token, "daily_dose": "310 mcg/day"},
                           headers={"HX-Request": "true"})
    after_one = _count(clinic, audit)
    client.post(f"/clinic/patients/{OTHER}/program/check",
                data={"csrf_token": token, "daily_dose": "320 mcg/day"},
                headers={"HX-Request": "true"})
    assert _count(clinic, audit) - after_one == (after_one - audits) // 5


def test_program_absolute_bound_refused_on_server(client: TestClient, clinic: Clinic) -> None:
    signed_in(client, "demo-clinician")
    before = _version(clinic, OTHER)
    token = csrf_of(client, f"/clinic/patients/{OTHER}/program")
    response = client.post(f"/clinic/patients/{OTHER}/program", data={
        "csrf_token": token, "daily_dose": "2500 mcg/day", "override_reason": "because",
        "password": "demo-clinician-2026",
        "shown_version": shown_of(client, f"/clinic/patients/{OTHER}/program")})
    assert response.status_code == 422
    assert 'id="absolute-refusal"' in response.text
    assert _version(clinic, OTHER) == before


def test_program_step_beyond_the_recommended_step_needs_a_co_signer(client: TestClient,
                                                                     clinic: Clinic) -> None:
    # patient 3 is of cerebral origin: recommended step 15 %, absolute 30 % per 24 h. Its dose
    # comes from the demo's simulated history (529 mcg/day once, 270 now), so the steps are
    # taken from the dose the form shows: +70 % is beyond the absolute step, +25 % between
    signed_in(client, "demo-clinician")
    before = _version(clinic, OTHER)
    token = csrf_of(client, f"/clinic/patients/{OTHER}/program")
    shown = re.search(r"now ([0-9.]+) mcg/day", client.get(f"/clinic/patients/{OTHER}/program").text)
    assert shown, "the program form shows the current daily dose"
    now = float(shown.group(1))
    beyond, step = round(now * 1.7), round(now * 1.25)
    assert 1.15 * now < step < 1.30 * now and beyond > 1.30 * now
    version = shown_of(client, f"/clinic/patients/{OTHER}/program")
    refused = client.post(f"/clinic/patients/{OTHER}/program", data={
        "csrf_token": token, "daily_dose": f"{beyond} mcg/day", "override_reason": "r",
        "password": "demo-clinician-2026", "shown_version": version})  # beyond the absolute
    assert refused.status_code == 422 and 'id="absolute-refusal"' in refused.text
    data = {"csrf_token": token, "daily_dose": f"{step} mcg/day", "shown_version": version,
            "password": "demo-clinician-2026", "override_reason": "spasms unchanged"}
    response = client.post(f"/clinic/patients/{OTHER}/program", data=data)
    assert response.status_code == 422
    assert 'id="needs-second-clinician"' in response.text
    response = client.post(f"/clinic/patients/{OTHER}/program", data={
        **data, "second_username": "demo-nurse", "second_password": "wrong"})
    assert response.status_code == 422 and 'id="second-error"' in response.text
    assert _version(clinic, OTHER) == before
    response = client.post(f"/clinic/patients/{OTHER}/program", data={
        **data, "second_username": "demo-nurse", "second_password": "demo-nurse-pass-2026"},
        follow_redirects=False)
    assert response.status_code == 303, response.text
    assert _version(clinic, OTHER) == before + 1
    assert f"{step} mcg/day" in client.get(f"/clinic/patients/{OTHER}").text


def test_nurse_cannot_send_a_program_change(client: TestClient, clinic: Clinic) -> None:
    signed_in(client, "demo-nurse")
    before = _version(clinic, OTHER)
    token = csrf_of(client, f"/clinic/patients/{OTHER}/program")
    response = client.post(f"/clinic/patients/{OTHER}/program", data={
        "csrf_token": token, "daily_dose": "310 mcg/day", "override_reason": "ordered",
        "password": "demo-nurse-pass-2026"})
    assert response.status_code == 403
    assert "may not" in response.text
    assert _version(clinic, OTHER) == before


def _expected_residual(html: str) -> float:
    match = re.search(r'data-testid="expected-residual">([0-9.]+) mL', html)
    assert match, "no expected residual shown"
    return float(match.group(1))


def test_refill_discrepancy_needs_explanation_on_server(client: TestClient) -> None:
    signed_in(client, "demo-nurse")
    token = csrf_of(client, f"/clinic/patients/{OTHER}/refill")
    expected = _expected_residual(client.get(f"/clinic/patients/{OTHER}/refill").text)
    response = client.post(f"/clinic/patients/{OTHER}/refill", data={
        "csrf_token": token, "step": "discrepancy",
        "withdrawn": f"{max(0.0, expected - 3):.1f} mL"})
    assert response.status_code == 422
    assert "Explain the discrepancy" in response.text


def test_refill_refuses_ambiguous_number(client: TestClient) -> None:
    signed_in(client, "demo-nurse")
    token = csrf_of(client, f"/clinic/patients/{OTHER}/refill")
    response = client.post(f"/clinic/patients/{OTHER}/refill", data={
        "csrf_token": token, "step": "residual", "withdrawn": ".5 mL"})
    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.text


def test_refill_same_drug_recorded_and_summarised(client: TestClient, clinic: Clinic) -> None:
    signed_in(client, "demo-nurse")
    page = client.get(f"/clinic/patients/{OTHER}/refill").text
    token = csrf_of(client, f"/clinic/patients/{OTHER}/refill")
    expected = _expected_residual(page)
    dose = re.search(r'name="daily_dose" value="([^"]+)"', page)
    assert dose, "the current daily dose is carried from the first step"
    conc = re.search(r'<option value="([0-9]+ mcg/mL)" selected', client.post(
        f"/clinic/patients/{OTHER}/refill", data={
            "csrf_token": token, "step": "residual", "withdrawn": f"{expected:.2f} mL",
            "daily_dose": dose.group(1)}).text)
    assert conc, "the current concentration is preselected"
    before = _version(clinic, OTHER)
    data = {"csrf_token": token, "withdrawn": f"{expected:.2f} mL",
            "concentration": conc.group(1), "added": "8 mL", "daily_dose": dose.group(1),
            "step": "confirm", "lot": "LB2093", "expiry": "2030-06-30",
            "shown_version": shown_of(client, f"/clinic/patients/{OTHER}/refill")}
    response = client.post(f"/clinic/patients/{OTHER}/refill",
                           data={**data, "password": "wrong"})
    assert response.status_code == 422
    assert _version(clinic, OTHER) == before
    response = client.post(f"/clinic/patients/{OTHER}/refill",
                           data={**data, "password": "demo-nurse-pass-2026"},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    assert re.fullmatch(rf"/clinic/patients/{OTHER}/refills/ev-[0-9a-f]+",
                        response.headers["location"])
    assert _version(clinic, OTHER) == before + 1
    summary = client.get(response.headers["location"])
    assert summary.status_code == 200
    assert "Refill summary" in summary.text and "8 mL" in summary.text


def test_symptom_report_emergency_banner(client: TestClient) -> None:
    signed_in(client, "demo-caregiver")
    token = csrf_of(client, f"/my/{LINKED_PATIENT}/symptoms")
    response = client.post(f"/my/{LINKED_PATIENT}/symptoms",
                           data={"csrf_token": token, "codes": ["high-fever"]})
    assert response.status_code == 200
    assert 'id="emergency-banner"' in response.text and 'role="alert"' in response.text


def test_appointments_ics(client: TestClient) -> None:
    signed_in(client, "demo-patient")
    response = client.get(f"/my/{LINKED_PATIENT}/appointments.ics")
    assert response.headers["content-type"].startswith("text/calendar")
    assert "attachment" in response.headers["content-disposition"]
    body = response.text
    assert body.startswith("BEGIN:VCALENDAR\r\n") and body.endswith("END:VCALENDAR\r\n")
    assert "SUMMARY:Baclofen pump refill OVERDUE" in body
    assert "LOCATION:Demo ITB clinic\\, neurology outpatients\\, room 2" in body


def test_ics_folds_long_lines() -> None:
    from datetime import UTC, date, datetime

    from thecal.clinical.refill_due import refill_due_state
    from thecal.service.calendar import CalendarFeed, RefillDueItem

    at = datetime(2026, 1, 1, tzinfo=UTC)
    due = refill_due_state(datetime(2026, 2, 1, tzinfo=UTC), at, UTC)
    feed = CalendarFeed(1, 1, "UTC", "", "x" * 200, at,
                        RefillDueItem("u", due, date(2026, 2, 1), ()))
    text = calendar(feed)
    assert all(len(line) <= 75 for line in text.split(b"\r\n"))


def test_static_assets_served_locally(client: TestClient) -> None:
    assert client.get("/static/htmx.min.js").status_code == 200
    css = client.get("/static/thecal.css")
    assert css.status_code == 200 and "--brand" in css.text
    page = client.get("/login").text
    assert "http://" not in page.replace("http://www.w3.org", "")
    assert "https://" not in page


def test_learn_pages_public(client: TestClient) -> None:
    for slug in ("", "/therapy", "/decision-aid", "/alarms", "/living-with"):
        assert client.get("/learn" + slug).status_code == 200
    assert client.get("/learn/nope").status_code == 404


CLINIC_PAGES = ("/clinic", "/clinic/patients/1", "/clinic/patients/1/refill",
                "/clinic/patients/1/program", "/clinic/patients/1/assessment",
                "/clinic/patients/1/screening", "/clinic/patients/1/eligibility",
                "/clinic/triage", "/clinic/team", "/clinic/patients/1/team")
HOME_PAGES = ("/my/1", "/my/1/symptoms", "/my/1/recovery", "/my/1/card", "/my/1/team",
              "/my/1/appointments.ics")


@pytest.mark.parametrize(("username", "paths"), [("demo-clinician", CLINIC_PAGES),
                                                 ("demo-nurse", CLINIC_PAGES),
                                                 ("demo-patient", HOME_PAGES),
                                                 ("demo-caregiver", HOME_PAGES)])
def test_every_page_answers(client: TestClient, username: str, paths: tuple[str, ...]) -> None:
    signed_in(client, username)
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, (path, response.text[:2000])


def test_my_pump_shows_the_service_figures(client: TestClient) -> None:
    signed_in(client, "demo-patient")
    html = client.get("/my/1").text
    assert 'data-testid="days-left"' in html and "days" in html
    assert 'id="alarm-two-tone"' in html and 'id="alarm-single-tone"' in html
    assert "+49 30 5550 1234" in html


def test_assessment_by_muscle_group(client: TestClient, clinic: Clinic) -> None:
    """The form grades the timeline's groups with their side (one vocabulary, issue 11
    walk-through); the event stores them as ``mas_by_muscle``, the overall grade is the
    highest, and the chart shows the grades per muscle of the last assessments."""
    from thecal import service
    from thecal.service.actors import SYSTEM
    from thecal.timeline import Assessment

    signed_in(client, "demo-nurse")
    url = f"/clinic/patients/{OTHER}/assessment"
    form = client.get(url).text
    assert 'name="mas_hip-adductors-left"' in form and 'name="mas_hip-adductors-right"' in form
    assert 'name="mas_hip-flexors"' not in form  # no group without its side
    token = csrf_of(client, url)
    response = client.post(url, data={
        "csrf_token": token, "mas_hip-adductors-left": "1+", "mas_knee-extensors-right": "2",
        "mas_ankle-plantarflexors-left": "", "penn_frequency": "1",
        "shown_version": shown_of(client, url)}, follow_redirects=False)
    assert response.status_code == 303, response.text
    stored = service.timeline(clinic, SYSTEM, int(OTHER)).events[-1].event
    assert isinstance(stored, Assessment)
    # only what was examined, in the vocabulary's order; the overall grade the highest
    assert stored.mas_by_muscle == (("hip-adductors-left", "1+"), ("knee-extensors-right", "2"))
    assert stored.mas == "2" and not stored.notes
    chart = client.get(f"/clinic/patients/{OTHER}").text
    grid = chart.split('data-testid="muscle-grades"')[1].split("</table>")[0]
    assert re.search(r'data-group="hip-adductors-left"><th scope="row">hip adductors, left</th>'
                     r".*?<td>1\+</td></tr>", grid, re.S)
    assert re.search(r'data-group="knee-extensors-right">.*?<td>2</td></tr>', grid, re.S)
    assert "ankle-plantarflexors" not in grid  # not examined: no row
    # a grade the scale does not have is refused beside the form, nothing written
    bad = client.post(url, data={"csrf_token": token, "mas_hip-adductors-left": "5",
                                 "shown_version": shown_of(client, url)})
    assert bad.status_code == 422
    assert "&#39;5&#39; is not a Modified Ashworth grade" in bad.text
    assert 'id="mas_hip-adductors-left"' in bad.text and 'aria-invalid="true"' in bad.text
    assert service.timeline(clinic, SYSTEM, int(OTHER)).events[-1].event == stored


def test_eligibility_answers_reach_the_rule(client: TestClient) -> None:
    signed_in(client, "demo-clinician")
    token = csrf_of(client, f"/clinic/patients/{OTHER}/eligibility")
    response = client.post(f"/clinic/patients/{OTHER}/eligibility", data={
        "csrf_token": token, "baclofen_allergy": "yes", "spasticity_severity": "severe"})
    assert response.status_code == 200, response.text
    assert "not a candidate" in response.text


def test_chart_svg_without_data() -> None:
    assert "No data yet" in line_chart([None], title="x")


def test_refill_short_aspiration_filled_to_full_with_pump_readings(client: TestClient,
                                                                   clinic: Clinic) -> None:
    # Issue 9: drain 3 mL less than the pump calculates and fill the reservoir to full, in one
    # pass through the steps; the pump's readings before and after are recorded as
    # interrogations; the discrepancy is shown and which volume to enter into the programmer.
    signed_in(client, "demo-nurse")
    page = client.get(f"/clinic/patients/{OTHER}/refill").text
    token = csrf_of(client, f"/clinic/patients/{OTHER}/refill")
    expected = _expected_residual(page)
    dose = re.search(r'name="daily_dose" value="([^"]+)"', page)
    assert dose
    withdrawn = f"{max(expected - 3, 0.0):.2f} mL"
    drug = client.post(f"/clinic/patients/{OTHER}/refill", data={
        "csrf_token": token, "step": "discrepancy", "withdrawn": withdrawn,
        "reason": "needle placement checked", "daily_dose": dose.group(1),
        "pump_reading_before": f"{expected:.2f} mL"}).text
    assert 'id="concentration"' in drug
    conc = re.search(r'<option value="([0-9]+ mcg/mL)" selected', drug)
    capacity = re.search(r"Reservoir capacity: ([0-9.]+) mL", drug)
    assert conc and capacity
    data = {"csrf_token": token, "withdrawn": withdrawn, "reason": "needle placement checked",
            "shown_version": shown_of(client, f"/clinic/patients/{OTHER}/refill"),
            "concentration": conc.group(1), "added": f"{capacity.group(1)} mL",
            "daily_dose": dose.group(1), "pump_reading_before": f"{expected:.2f} mL",
            "step": "program", "lot": "LB2093", "expiry": "2030-06-30"}
    confirm = client.post(f"/clinic/patients/{OTHER}/refill", data=data).text
    assert "enter " + capacity.group(1) in confirm and "into the programmer" in confirm
    assert "measurement" in client.post(f"/clinic/patients/{OTHER}/refill", data={
        **data, "step": "residual"}).text
    before = _version(clinic, OTHER)
    response = client.post(f"/clinic/patients/{OTHER}/refill", data={
        **data, "step": "confirm", "pump_reading_after": f"{capacity.group(1)} mL",
        "password": "demo-nurse-pass-2026"}, follow_redirects=False)
    assert response.status_code == 303, response.text
    assert _version(clinic, OTHER) == before + 3  # interrogation, refill, interrogation


def test_live_program_check_lists_each_reason_once(client: TestClient) -> None:
    # an almost tenfold step (issue 11): the guardrail's "above the recommended range" reason,
    # repeated by the titration check, is listed once
    signed_in(client, "demo-clinician")
    token = csrf_of(client, f"/clinic/patients/{OTHER}/program")
    response = client.post(f"/clinic/patients/{OTHER}/program/check",
                           data={"csrf_token": token, "daily_dose": "1500 mcg/day"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200 and "cannot be sent" in response.text
    assert response.text.count("is above the recommended") == 1


def test_the_demo_administrator_manages_logins_and_sees_no_patient_menu(
        client: TestClient) -> None:
    # issue 11: deactivating a login is possible in the demo (its administrator login)
    signed_in(client, "demo-admin")
    users = client.get("/clinic/users")
    assert users.status_code == 200 and "demo-nurse" in users.text
    menu = users.text.split('<nav', 1)[1].split("</nav>", 1)[0]
    assert 'href="/clinic/users"' in menu
    for other in ('href="/clinic"', "/clinic/triage", "/clinic/dashboard", "/clinic/cases"):
        assert other not in menu, other  # pages an administrator may not open
    refused = client.get("/clinic")
    assert refused.status_code == 403 and "an administrator may not" in refused.text


def test_chart_header_shows_an_alarm_sounding(client: TestClient, clinic: Clinic) -> None:
    # a year on, every demo pump has run dry: the header says which alarm is sounding
    signed_in(client, "demo-nurse")
    assert "Alarm sounding" not in client.get(f"/clinic/patients/{OTHER}").text
    clinic.clock = FrozenClock(clinic.now() + timedelta(days=365))
    signed_in(client, "demo-nurse")
    html = client.get(f"/clinic/patients/{OTHER}").text
    assert "<strong>Alarm sounding:</strong>" in html
    assert ALARM_KINDS["empty-reservoir"].message in html
