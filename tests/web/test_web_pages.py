"""Page routes through FastAPI's TestClient over the fake port: access control, CSRF,
server-side refusals, the .ics file and static assets served locally."""

from __future__ import annotations

from conftest import csrf_of, signed_in
from fake_port import FakePort
from fastapi.testclient import TestClient

from thecal.web.charts import line_chart
from thecal.web.ics import calendar
from thecal.web.service_port import ServicePort


def test_pages_need_sign_in(client: TestClient) -> None:
    response = client.get("/clinic/patients/p1", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/clinic/patients/p1"


def test_next_after_login_stays_on_site(client: TestClient) -> None:
    response = client.post("/login", data={"username": "nurse", "password": "demo-password-1",
                                           "next": "//evil.example/"}, follow_redirects=False)
    assert response.headers["location"] == "/clinic"
    assert "httponly" in response.headers["set-cookie"].lower()
    assert "samesite=lax" in response.headers["set-cookie"].lower()


def test_patient_cannot_see_clinic_or_other_patient(client: TestClient) -> None:
    signed_in(client, "pat")
    assert client.get("/clinic").status_code == 403
    assert client.get("/my/p2").status_code == 403
    assert client.get("/my/p2/appointments.ics").status_code == 403
    assert client.get("/my/p1").status_code == 200


def test_post_without_csrf_is_refused(client: TestClient, port: FakePort) -> None:
    signed_in(client, "nurse")
    response = client.post("/clinic/patients/p1/program",
                           data={"daily_dose": "310 mcg/day", "password": "demo-password-1"})
    assert response.status_code == 403
    assert port.dose["p1"] == 300.0


def test_program_absolute_bound_refused_on_server(client: TestClient, port: FakePort) -> None:
    signed_in(client, "nurse")
    token = csrf_of(client, "/clinic/patients/p1/program")
    response = client.post("/clinic/patients/p1/program", data={
        "csrf_token": token, "daily_dose": "2500 mcg/day", "override_reason": "because",
        "password": "demo-password-1"})
    assert response.status_code == 422
    assert 'id="absolute-refusal"' in response.text
    assert port.dose["p1"] == 300.0


def test_program_recommended_bound_needs_reason(client: TestClient, port: FakePort) -> None:
    signed_in(client, "nurse")
    token = csrf_of(client, "/clinic/patients/p1/program")
    data = {"csrf_token": token, "daily_dose": "450 mcg/day", "password": "demo-password-1"}
    response = client.post("/clinic/patients/p1/program", data=data)
    assert response.status_code == 422
    assert port.dose["p1"] == 300.0
    response = client.post("/clinic/patients/p1/program",
                           data={**data, "override_reason": "spasms unchanged"},
                           follow_redirects=False)
    assert response.status_code == 303
    assert port.dose["p1"] == 450.0


def test_refill_discrepancy_needs_explanation_on_server(client: TestClient) -> None:
    signed_in(client, "nurse")
    token = csrf_of(client, "/clinic/patients/p1/refill")
    response = client.post("/clinic/patients/p1/refill", data={
        "csrf_token": token, "step": "discrepancy", "withdrawn": "8 mL"})
    assert response.status_code == 422
    assert "Explain the discrepancy" in response.text


def test_refill_refuses_ambiguous_number(client: TestClient) -> None:
    signed_in(client, "nurse")
    token = csrf_of(client, "/clinic/patients/p1/refill")
    response = client.post("/clinic/patients/p1/refill", data={
        "csrf_token": token, "step": "residual", "withdrawn": ".5 mL"})
    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.text


def test_refill_wrong_password_records_nothing(client: TestClient, port: FakePort) -> None:
    signed_in(client, "nurse")
    token = csrf_of(client, "/clinic/patients/p1/refill")
    response = client.post("/clinic/patients/p1/refill", data={
        "csrf_token": token, "step": "confirm", "withdrawn": "12 mL", "concentration":
        "500 mcg/mL", "added": "20 mL", "daily_dose": "300 mcg/day", "password": "wrong"})
    assert response.status_code == 422
    assert port.refills == {}


def test_symptom_report_emergency_banner(client: TestClient) -> None:
    signed_in(client, "carer")
    token = csrf_of(client, "/my/p1/symptoms")
    response = client.post("/my/p1/symptoms", data={"csrf_token": token,
                                                    "codes": ["high-fever"]})
    assert response.status_code == 200
    assert 'id="emergency-banner"' in response.text and 'role="alert"' in response.text


def test_appointments_ics(client: TestClient) -> None:
    signed_in(client, "pat")
    response = client.get("/my/p1/appointments.ics")
    assert response.headers["content-type"].startswith("text/calendar")
    assert "attachment" in response.headers["content-disposition"]
    body = response.text
    assert body.startswith("BEGIN:VCALENDAR\r\n") and body.endswith("END:VCALENDAR\r\n")
    assert "DTSTART:20260504T090000Z" in body
    assert "LOCATION:Demo clinic\\, room 2" in body


def test_ics_folds_long_lines() -> None:
    from datetime import UTC, datetime

    from thecal.web.models import Appointment

    at = datetime(2026, 1, 1, tzinfo=UTC)
    text = calendar([Appointment("u", at, at, "x" * 200)], stamp=at)
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))


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


def test_chart_svg_without_data() -> None:
    assert "No data yet" in line_chart([None], title="x")


def test_service_port_is_a_clinic_port() -> None:
    from thecal.web.models import ClinicPort

    missing = [name for name in dir(ClinicPort) if not name.startswith("_")
               and not hasattr(ServicePort, name) and name not in {"session_cookie_name",
                                                                    "cookie_secure"}]
    assert missing == []
